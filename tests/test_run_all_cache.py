"""Cached reruns: nothing changed → nothing reruns; a change reruns that notebook and what follows."""
import json

import pytest

from redshift1.runner import main
from test_run_all import _argv, _project


def statuses(root, preset="quick"):
    s = json.loads((root / "build" / preset / "run_summary.json").read_text())
    return {n["name"]: n["status"] for n in s["notebooks"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = _project(tmp_path_factory.mktemp("cache"))
    assert main(_argv(root)) == 0
    assert set(statuses(root).values()) == {"ok"}
    return root


def test_rerun_with_nothing_changed_is_all_cached(project):
    assert main(_argv(project)) == 0
    assert set(statuses(project).values()) == {"cached"}


def test_a_parameter_change_reruns_that_notebook_and_downstream(project):
    assert main(_argv(project, "-p", "scale", "2.5")) == 0
    assert statuses(project) == {"00_alpha": "cached", "01_beta": "ok", "02_gamma": "ok"}
    assert (project / "build" / "quick" / "products" / "beta.txt").read_text() == "2.5"


def test_a_missing_product_reruns_its_notebook(project):
    main(_argv(project, "-p", "scale", "2.5"))          # settle the cache
    (project / "build" / "quick" / "products" / "alpha.txt").unlink()
    assert main(_argv(project, "-p", "scale", "2.5")) == 0
    assert statuses(project) == {"00_alpha": "ok", "01_beta": "ok", "02_gamma": "ok"}


def test_force_reruns_everything(project):
    assert main(_argv(project, "--force")) == 0
    assert set(statuses(project).values()) == {"ok"}


def test_an_edited_notebook_reruns(project):
    main(_argv(project))
    nb = project / "notebooks" / "02_gamma.ipynb"
    d = json.loads(nb.read_text())
    d["cells"][-1]["source"] = d["cells"][-1]["source"] + "\n# edited\n" if isinstance(d["cells"][-1]["source"], str) \
        else d["cells"][-1]["source"] + ["\n# edited\n"]
    nb.write_text(json.dumps(d))
    assert main(_argv(project)) == 0
    assert statuses(project) == {"00_alpha": "cached", "01_beta": "cached", "02_gamma": "ok"}


def test_missing_data_dir_is_reported_before_running(tmp_path, capsys):
    root = _project(tmp_path / "p")
    code = main(_argv(root, "--from", "01", "--data-dir", str(tmp_path / "nowhere")))
    assert code == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "does not exist" in err and err.strip().count("\n") == 0
    assert not (root / "build" / "quick" / "notebooks" / "01_beta.ipynb").exists()


def test_a_product_shared_by_several_notebooks_stays_cached(tmp_path):
    """02 rewrites a file 00 wrote (as 05/06 merge into 04's kross_fits.json): still all cached."""
    root = _project(tmp_path / "p")
    from test_run_all import PARAMS, _notebook
    _notebook(root / "notebooks" / "02_gamma.ipynb", PARAMS, """
import pathlib
p = pathlib.Path(products_dir) / "alpha.txt"
p.write_text(p.read_text() + "|gamma")
""")
    assert main(_argv(root)) == 0
    assert main(_argv(root)) == 0
    assert set(statuses(root).values()) == {"cached"}
