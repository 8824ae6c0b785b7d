"""One kernel for the walk (the default) gives every notebook what a kernel of its own would."""
import json
from pathlib import Path

import nbformat

from test_run_all import PARAMS, _notebook

FIRST = '''
import os, sys, warnings, pathlib
from warner import warn
warn()
leftover = 42
os.environ["LEFTOVER"] = "1"
sys.path.append("/nowhere")
warnings.simplefilter("ignore")
(pathlib.Path(products_dir) / "pid_00.txt").write_text(str(os.getpid()))
os.chdir("..")
'''

SECOND = '''
import os, sys, pathlib
from warner import warn
warn()                                     # shown again, as in a fresh kernel
print("leftover" in globals(), "LEFTOVER" in os.environ, "/nowhere" in sys.path, pathlib.Path.cwd().name)
(pathlib.Path(products_dir) / "pid_01.txt").write_text(str(os.getpid()))
'''


def _walk(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "quick").mkdir(parents=True)
    (root / "run_all.py").write_text("")
    (root / "notebooks" / "warner.py").write_text(
        "import warnings\n\ndef warn():\n    warnings.warn('a warning shown once per kernel', UserWarning)\n")
    _notebook(root / "notebooks" / "00_first.ipynb", PARAMS, FIRST)
    _notebook(root / "notebooks" / "01_second.ipynb", PARAMS, SECOND)
    return root


def _cells(path: Path) -> list:
    nb = nbformat.read(str(path), as_version=4)
    return [(c.cell_type, c.source, c.get("execution_count"), c.get("outputs")) for c in nb.cells]


def test_shared_kernel_is_reset_like_a_fresh_one(tmp_path):
    from redshift1.runner import main

    root = _walk(tmp_path / "p")
    out = root / "build" / "quick"
    runs = {}
    for mode, extra in (("shared", []), ("fresh", ["--fresh-kernels"])):   # same folders: same parameters
        assert main(["--root", str(root), "--force", *extra]) == 0
        runs[mode] = ({name: _cells(out / "notebooks" / name) for name in ("00_first.ipynb", "01_second.ipynb")},
                      [(out / "products" / f"pid_0{i}.txt").read_text() for i in (0, 1)])
    shared_pids, fresh_pids = runs["shared"][1], runs["fresh"][1]
    assert shared_pids[0] == shared_pids[1]          # one kernel ran both notebooks
    assert fresh_pids[0] != fresh_pids[1]
    assert runs["shared"][0] == runs["fresh"][0]        # sources, execution counts, outputs
    second = runs["shared"][0]["01_second.ipynb"][-1]
    text = "".join(o.get("text", "") for o in second[3])
    assert "False False False notebooks" in text and "shown once per kernel" in text
    assert second[2] == 3     # counted from 1 again: parameters, injected parameters, this cell


def test_failure_in_shared_kernel_stops_the_walk(tmp_path):
    from redshift1.runner import main

    root = _walk(tmp_path / "p")
    _notebook(root / "notebooks" / "00_first.ipynb", PARAMS,
              "from redshift1.errors import MissingInputError\nraise MissingInputError('cube_042.fits: no such cube')\n")
    assert main(["--root", str(root)]) == 1
    summary = json.loads((root / "build" / "quick" / "run_summary.json").read_text())
    assert [(n["name"], n["status"]) for n in summary["notebooks"]] == [("00_first", "failed"),
                                                                        ("01_second", "not run")]


def test_kernels_get_an_absolute_pythonpath(tmp_path, monkeypatch):
    """Kernels start in the notebooks' folder: a relative PYTHONPATH must reach them resolved."""
    import os

    from redshift1.runner.execution import project_root_in_environment

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["lib", str(tmp_path / "abs")]))
    with project_root_in_environment(tmp_path / "root"):
        assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(tmp_path.resolve() / "lib"), str(tmp_path / "abs")]
        assert os.environ["REDSHIFT1_ROOT"] == str(tmp_path / "root")
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["lib", str(tmp_path / "abs")])
