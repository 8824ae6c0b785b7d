"""run_all.py / redshift1.runner on tiny throwaway notebooks in a temporary project.

Kernel start-up costs a few seconds per notebook, so the executing tests share
module-scoped runs and use few notebooks.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from redshift1.errors import ParameterError
from redshift1.runner import (
    build_parameters,
    discover_notebooks,
    main,
    notebook_parameters,
    parse_value,
    select_notebooks,
)

PARAMS = '''preset = "quick"  # which preset
data_dir = "data/quick"  # raw survey folder
products_dir = "build/quick/products"  # products folder
figures_dir = "figures"  # figures folder
'''


def _notebook(path: Path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), cell,
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))


def _project(root: Path, failing: bool = False) -> Path:
    """A project with notebooks 00_alpha, 01_beta, 02_gamma (01 raises if failing)."""
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "quick").mkdir(parents=True)   # the survey folder 00_observe would write
    (root / "run_all.py").write_text("")
    nbs = root / "notebooks"
    _notebook(nbs / "00_alpha.ipynb", PARAMS + "count = 3  # how many stars\n", """
import os, pathlib
out = pathlib.Path(products_dir); out.mkdir(parents=True, exist_ok=True)
(out / "alpha.txt").write_text(f"{preset}|{count!r}|{data_dir}|{os.environ['REDSHIFT1_ROOT']}|{os.getcwd()}")
fig = pathlib.Path(figures_dir); fig.mkdir(parents=True, exist_ok=True)
(fig / "alpha.png").write_bytes(b"not really a png")
print("alpha done")
""")
    if failing:
        body = ("from redshift1.errors import MissingInputError\n"
                "raise MissingInputError('cube_042.fits: no such cube')\n")
    else:
        body = ("import pathlib\n"
                "(pathlib.Path(products_dir) / 'beta.txt').write_text(repr(scale))\n")
    _notebook(nbs / "01_beta.ipynb", PARAMS + "scale = 1.5  # a float\n", body)
    _notebook(nbs / "02_gamma.ipynb", PARAMS, """
import pathlib
(pathlib.Path(products_dir) / "gamma.txt").write_text(open(pathlib.Path(products_dir) / "alpha.txt").read())
""")
    (root / "notebooks" / "README.md").write_text("not a notebook")
    (root / "notebooks" / "scratch.ipynb").write_text("{}")  # not numbered: ignored
    return root


def _argv(root: Path, *extra: str) -> list[str]:
    return ["--root", str(root), *extra]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Run all three notebooks once, forwarding -p count 7."""
    root = _project(tmp_path_factory.mktemp("proj"))
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(_argv(root, "-p", "count", "7"))
    return root, rc, buf.getvalue()


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    root = _project(tmp_path_factory.mktemp("fail"), failing=True)
    import io
    from contextlib import redirect_stderr, redirect_stdout
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(_argv(root))
    return root, rc, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------- full run
def test_full_run_succeeds_and_copies_land_in_build(full_run):
    root, rc, out = full_run
    assert rc == 0, out
    executed = root / "build" / "quick" / "notebooks"
    assert sorted(p.name for p in executed.glob("*.ipynb")) == [
        "00_alpha.ipynb", "01_beta.ipynb", "02_gamma.ipynb"]
    assert not list(executed.glob(".*"))  # no partial files left behind
    nb = nbformat.read(str(executed / "00_alpha.ipynb"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("alpha done" in o.get("text", "") for o in outputs)
    for name in ("00_alpha", "01_beta", "02_gamma"):
        assert name in out
    assert "ok" in out


def test_sources_keep_no_outputs(full_run):
    root, _, _ = full_run
    for path in (root / "notebooks").glob("0*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), path
        assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_parameters_reach_notebooks_as_absolute_paths(full_run):
    root, _, _ = full_run
    products = root / "build" / "quick" / "products"
    preset, count, data_dir, env_root, cwd = (products / "alpha.txt").read_text().split("|")
    assert preset == "quick"
    assert count == "7"                       # -p count 7 forwarded as an int
    assert Path(data_dir) == (root / "data" / "quick").resolve()
    assert Path(data_dir).is_absolute()
    assert Path(env_root) == root.resolve()   # REDSHIFT1_ROOT for the kernel
    assert Path(cwd) == (root / "notebooks").resolve()
    assert (products / "beta.txt").read_text() == "1.5"  # not declared count: default kept
    assert (products / "gamma.txt").exists()
    assert (root / "build" / "quick" / "figures" / "alpha.png").exists()   # figures stay in the build
    assert not (root / "figures").exists()


def test_html_index_and_summary(full_run):
    root, _, _ = full_run
    run = root / "build" / "quick"
    for name in ("00_alpha", "01_beta", "02_gamma"):
        page = (run / "site" / f"{name}.html").read_text()
        assert "alpha done" in page or name != "00_alpha"
    index = (run / "site" / "index.html").read_text()
    assert 'href="00_alpha.html"' in index and 'href="02_gamma.html"' in index
    assert "alpha.png" in index
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["preset"] == "quick"
    assert [n["name"] for n in summary["notebooks"]] == ["00_alpha", "01_beta", "02_gamma"]
    assert {n["status"] for n in summary["notebooks"]} == {"ok"}
    assert all(Path(n["executed"]).exists() and Path(n["html"]).exists()
               for n in summary["notebooks"])


# ----------------------------------------------------------------- failure
def test_failure_stops_the_run_and_is_reported(failing_run):
    root, rc, out, err = failing_run
    assert rc == 1
    executed = root / "build" / "quick" / "notebooks"
    assert (executed / "00_alpha.ipynb").exists()
    assert (executed / "01_beta.ipynb").exists()       # written even on failure
    assert not (executed / "02_gamma.ipynb").exists()  # later notebooks not run
    assert "01_beta" in err
    assert "MissingInputError" in err and "cube_042.fits: no such cube" in err
    assert "redshift1 error" in err
    assert str(executed / "01_beta.ipynb") in err
    assert "In [" in err
    summary = json.loads((root / "build" / "quick" / "run_summary.json").read_text())
    assert [n["status"] for n in summary["notebooks"]] == ["ok", "failed", "not run"]
    assert "not run" in out and "failed" in out


# ----------------------------------------------------------------- selection
def test_only_runs_just_the_selected_notebook(tmp_path):
    root = _project(tmp_path)
    assert main(_argv(root, "--only", "beta", "--out", "elsewhere", "-p", "scale", "2.5")) == 0
    run = root / "elsewhere" / "quick"
    assert [p.name for p in (run / "notebooks").glob("*.ipynb")] == ["01_beta.ipynb"]
    assert (run / "products" / "beta.txt").read_text() == "2.5"
    assert not (run / "products" / "alpha.txt").exists()
    assert not (root / "build").exists()
    summary = json.loads((run / "run_summary.json").read_text())
    assert [(n["name"], n["status"]) for n in summary["notebooks"]] == [("01_beta", "ok")]


def test_select_notebooks_by_number_and_name(tmp_path):
    nbs = discover_notebooks(_project(tmp_path) / "notebooks")
    assert [p.stem for p in nbs] == ["00_alpha", "01_beta", "02_gamma"]
    stems = lambda sel: [p.stem for p in sel]  # noqa: E731
    assert stems(select_notebooks(nbs, only=["2", "00"])) == ["00_alpha", "02_gamma"]
    assert stems(select_notebooks(nbs, only=["01_beta"])) == ["01_beta"]
    assert stems(select_notebooks(nbs, start="beta")) == ["01_beta", "02_gamma"]
    assert stems(select_notebooks(nbs, start="01")) == ["01_beta", "02_gamma"]
    assert stems(select_notebooks(nbs)) == ["00_alpha", "01_beta", "02_gamma"]
    with pytest.raises(ParameterError, match="00_alpha, 01_beta, 02_gamma"):
        select_notebooks(nbs, only=["delta"])
    with pytest.raises(ParameterError, match="'7'"):
        select_notebooks(nbs, start="7")


def test_unknown_selector_is_a_clear_error(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(_argv(root, "--from", "nope")) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "00_alpha" in err and "02_gamma" in err
    assert not (root / "build").exists()


# ----------------------------------------------------------------- parameters
def test_parameter_errors_come_before_execution(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(_argv(root, "-p", "colour", "'red'")) == 2
    assert "colour" in capsys.readouterr().err
    assert main(_argv(root, "-p", "scale", "'big'")) == 2
    err = capsys.readouterr().err
    assert "01_beta" in err and "scale" in err and "float" in err and "str" in err
    # count is declared only by 00_alpha: not selected, so unknown
    assert main(_argv(root, "--only", "01", "-p", "count", "2")) == 2
    assert "count" in capsys.readouterr().err
    assert main(_argv(root, "-p", "preset", "paper")) == 2
    assert "--preset" in capsys.readouterr().err
    assert not (root / "build").exists()


def test_build_parameters_types(tmp_path):
    root = _project(tmp_path)
    declared = {p.stem: notebook_parameters(p) for p in discover_notebooks(root / "notebooks")}
    contract = {"preset": "quick", "data_dir": "/d", "products_dir": "/p", "figures_dir": "/f"}
    params = build_parameters(declared, contract, [("scale", "2")], root)
    assert params["01_beta"]["scale"] == 2.0 and isinstance(params["01_beta"]["scale"], float)
    assert "scale" not in params["00_alpha"]        # forwarded only where declared
    assert params["02_gamma"] == contract
    with pytest.raises(ParameterError, match=r"01_beta.*scale.*float.*bool"):
        build_parameters(declared, contract, [("scale", "True")], root)
    with pytest.raises(ParameterError, match=r"00_alpha.*count.*int.*float"):
        build_parameters(declared, contract, [("count", "2.5")], root)
    with pytest.raises(ParameterError, match="nonsense"):
        build_parameters(declared, contract, [("nonsense", "1")], root)
    params = build_parameters(declared, contract, [("data_dir", "raw/x")], root)
    assert params["00_alpha"]["data_dir"] == str((root / "raw" / "x").resolve())


def test_parse_value():
    assert parse_value("3") == 3
    assert parse_value("2.5") == 2.5
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("'x'") == "x"
    assert parse_value("quick") == "quick"
    assert parse_value("data/quick") == "data/quick"


# ----------------------------------------------------------------- --list
def test_list_prints_parameters_and_help(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(_argv(root, "--list")) == 0
    out = capsys.readouterr().out
    for text in ("00_alpha", "01_beta", "02_gamma", "count", "how many stars",
                 "scale", "a float", "1.5", "raw survey folder", "products_dir"):
        assert text in out
    assert "scratch" not in out
    assert not (root / "build").exists()


# ----------------------------------------------------------------- outputs and noise
def test_kernel_is_quiet(tmp_path, capfd):
    """No "Kernel is running over TCP without encryption" (nor shutdown chatter) on the terminal."""
    from redshift1.runner import execute_notebook

    src = tmp_path / "00_quiet.ipynb"
    _notebook(src, PARAMS, "import sys\nprint('to the notebook', file=sys.stderr)\n")
    result = execute_notebook(src, tmp_path / "out" / "00_quiet.ipynb", {}, tmp_path)
    assert result.status == "ok", result.error
    err = capfd.readouterr().err
    assert "without encryption" not in err and "IPKernelApp" not in err, err
    nb = nbformat.read(str(result.executed), as_version=4)
    assert any("to the notebook" in o.get("text", "") for o in nb.cells[-1].outputs)  # cell output kept


def test_only_a_paper_run_publishes_to_the_committed_figures(tmp_path):
    from redshift1.runner import publish_paper_results

    products, figures, published = tmp_path / "products", tmp_path / "figs", tmp_path / "published"
    products.mkdir()
    figures.mkdir()
    published.mkdir()
    (products / "paper_vs_compendium.ecsv").write_text("# %ECSV 1.0\nquantity paper\n")
    (products / "paper_vs_compendium.md").write_text("| quantity | paper |\n")
    written = publish_paper_results(figures, products, published)
    assert sorted(p.name for p in written) == ["paper_vs_compendium.ecsv", "paper_vs_compendium.md"]
    assert (published / "paper_vs_compendium.md").read_text() == "| quantity | paper |\n"
    (products / "paper_vs_compendium.md").unlink()            # a product the run did not write
    assert [p.name for p in publish_paper_results(figures, products, published)] == ["paper_vs_compendium.ecsv"]
    assert (published / "paper_vs_compendium.md").is_file()    # the committed copy is left alone


def test_published_figures_are_committed_and_shown():
    """Every figure a paper run publishes is let through .gitignore and shown in the README,
    so a paper run's results reach readers and nothing else does."""
    from redshift1.runner import PUBLISHED_FIGURES, PUBLISHED_PRODUCTS

    root = Path(__file__).resolve().parents[1]
    gitignore = (root / ".gitignore").read_text().splitlines()
    readme = (root / "README.md").read_text()
    for name in PUBLISHED_FIGURES + PUBLISHED_PRODUCTS:
        assert f"!/figures/{name}" in gitignore, f"{name} is published but git-ignored"
        assert f"figures/{name}" in readme, f"{name} is published but the README does not show it"
