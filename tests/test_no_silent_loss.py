"""No silent loss (issue 17): files the project did not write survive every command that
writes, and a survey may hold one instrument.

The user folders are built here by hand (text files, a foreign manifest, a hand-written
ECSV), not taken from the mock; the mock survey is only the "ours" case that may be replaced.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redshift1.errors import ForeignDataError
from redshift1.mock.observe import check_replaceable, ensure_survey, foreign_files, observe
from redshift1.runner import main as run_all

USER_FILES = {"notes.txt": "my notes\n", "thesis/thesis.tex": "\\documentclass{article}\n",
              "kmos/targets.ecsv": "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: id, datatype: string}\nid\nA1\n",
              ".hidden.r1.tmp": "not a leftover of ours: no 8-character random part\n",
              ".draft.tmp": "a user's hidden temporary file\n"}


def _digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _user_folder(path: Path) -> dict:
    """A folder of a user's own files; returns their digests."""
    for name, text in USER_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return {k: v for k, v in _digest(path).items() if k in USER_FILES}


@pytest.fixture(scope="module")
def tiny_mock(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock") / "survey"
    observe(out, preset="tiny")
    return out


def _make(kind: str, path: Path, tiny_mock: Path) -> dict:
    """A folder that is not the mock's alone; returns {relative path: sha256} of what must survive."""
    if kind == "user":                       # a user's own folder
        path.mkdir(parents=True)
        return _user_folder(path)
    if kind == "foreign_manifest":           # someone else's manifest.json
        path.mkdir(parents=True)
        (path / "manifest.json").write_text(json.dumps({"generator": "my pipeline 2.0", "files": []}))
        (path / "data.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50)
        return _digest(path)
    if kind == "mock_plus_user":             # a mock survey to which a user added a file
        shutil.copytree(tiny_mock, path)
        (path / "kmos" / "my_notes.txt").write_text("added by hand\n")
        return {"kmos/my_notes.txt": _digest(path)["kmos/my_notes.txt"]}
    if kind == "file":                       # the output path is a user's file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a file, not a folder\n")
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    raise ValueError(kind)


def _survives(path: Path, kept: dict) -> None:
    if "." in kept:
        assert path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == kept["."]
        return
    now = _digest(path)
    lost = {k for k in kept if now.get(k) != kept[k]}
    assert not lost, f"user files deleted or changed: {sorted(lost)}"


KINDS = ("user", "foreign_manifest", "mock_plus_user", "file")

# ------------------------------------------------------------------ observe (command line)
OBSERVE_FLAGS = {"default": [], "seed": ["--seed", "3"], "two_seeds": ["--survey-seed", "3", "--noise-seed", "4"],
                 "kmos_only": ["--instruments", "kmos"]}


@pytest.mark.parametrize("flags", list(OBSERVE_FLAGS), ids=list(OBSERVE_FLAGS))
@pytest.mark.parametrize("kind", KINDS)
def test_observe_cli_never_deletes_user_files(tmp_path, tiny_mock, kind, flags):
    out = tmp_path / "out"
    kept = _make(kind, out, tiny_mock)
    r = subprocess.run([sys.executable, "-m", "redshift1", "observe", "--preset", "tiny", "--quiet", "--out", str(out),
                        *OBSERVE_FLAGS[flags]], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and str(out) in err   # one line naming the folder
    assert "move" in err or "another output folder" in err                      # says what to do
    _survives(out, kept)
    assert not list(tmp_path.glob(".out.*")), "no temporary folder left behind"


# ------------------------------------------------------------------ observe / ensure_survey (library)
@pytest.mark.parametrize("call", ["observe", "ensure", "ensure_regenerate", "ensure_other_seed"])
@pytest.mark.parametrize("kind", KINDS)
def test_library_never_deletes_user_files(tmp_path, tiny_mock, kind, call):
    out = tmp_path / "out"
    kept = _make(kind, out, tiny_mock)
    kw = {"observe": dict(), "ensure": dict(), "ensure_regenerate": dict(regenerate=True),
          "ensure_other_seed": dict(noise_seed=5)}[call]
    fn = observe if call == "observe" else ensure_survey
    if kind == "mock_plus_user" and call == "ensure":
        fn(out, preset="tiny", **kw)          # the same survey, intact: reused, nothing replaced
    else:
        with pytest.raises(ForeignDataError, match="nothing was deleted|not a folder"):
            fn(out, preset="tiny", **kw)
    _survives(out, kept)


def test_replaceable_folders(tmp_path, tiny_mock):
    check_replaceable(tmp_path / "absent")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    check_replaceable(tmp_path / "empty")
    assert foreign_files(tiny_mock) == []
    check_replaceable(tiny_mock)


def test_observe_replaces_its_own_survey(tmp_path, tiny_mock):
    """A mock survey (and only that) is replaced: another noise seed rewrites it in place."""
    out = tmp_path / "s"
    shutil.copytree(tiny_mock, out)
    m = observe(out, preset="tiny", noise_seed=1)
    assert json.loads((out / "manifest.json").read_text())["noise_seed"] == 1 == m["noise_seed"]


# ------------------------------------------------------------------ run_all.py
RUN_ALL = {
    "only00": ["--only", "00"],
    "only00_regenerate": ["--only", "00", "-p", "regenerate", "True"],
    "only00_force": ["--only", "00", "--force"],
    "only00_seeds": ["--only", "00", "-p", "survey_seed", "5", "-p", "noise_seed", "6"],
    "walk": [],
}


@pytest.mark.parametrize("flags", list(RUN_ALL), ids=list(RUN_ALL))
def test_run_all_on_real_data_skips_observe(tmp_path, flags, capsys):
    """--data-dir on a folder that is not a mock survey: 00_observe says it is skipped; the user's
    files, and those in the build (--out) and figures folders, survive every flag."""
    data, build, figures = tmp_path / "data", tmp_path / "build", tmp_path / "figs"
    kept = {}
    for d in (data, build / "tiny" / "products", figures):
        d.mkdir(parents=True)
        kept[d] = _user_folder(d)
    code = run_all(["--preset", "tiny", "--data-dir", str(data), "--out", str(build),
                    "-p", "figures_dir", str(figures), *RUN_ALL[flags]])
    out = capsys.readouterr()
    assert f"00_observe: skipped — {data} holds data the mock did not write" in out.out
    assert out.out.count("00_observe: skipped") == 1
    if flags == "walk":   # the walk then reads it: its hand-written targets.ecsv is not a KMOS survey
        assert code in (1, 2)
    else:
        assert code == 0
    for d, k in kept.items():
        _survives(d, k)


@pytest.mark.parametrize("flags", ["only00", "only00_regenerate"])
def test_run_all_on_mock_with_user_file(tmp_path, tiny_mock, flags):
    """A mock survey holding a user's file: 00 reuses it when it is intact, and refuses to
    regenerate over the user's file (ForeignDataError), which survives either way."""
    data = tmp_path / "data"
    kept = _make("mock_plus_user", data, tiny_mock)
    code = run_all(["--preset", "tiny", "--data-dir", str(data), "--out", str(tmp_path / "build"),
                    "-p", "figures_dir", str(tmp_path / "figs"), *RUN_ALL[flags]])
    assert code == (0 if flags == "only00" else 1)
    _survives(data, kept)


def test_sweep_of_leftovers_keeps_user_hidden_files(tmp_path):
    """The runner's sweep removes only the temporary names the project writes."""
    from redshift1.io import atomic_path
    from redshift1.runner import sweep_leftovers

    kept = _user_folder(tmp_path)
    (tmp_path / ".01_x.partial.ipynb").write_text("{}")                 # a killed papermill copy
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "product.txt") as tmp:
            name = tmp.name
            raise RuntimeError("killed")
    ours = tmp_path / name
    ours.write_text("half")                                              # what a SIGKILL would leave
    sweep_leftovers([tmp_path])
    assert not ours.exists() and not (tmp_path / ".01_x.partial.ipynb").exists()
    _survives(tmp_path, kept)


# ------------------------------------------------------------------ one instrument
def _summary(build: Path) -> dict:
    s = json.loads((build / "tiny" / "run_summary.json").read_text())
    return {n["name"]: n["status"] for n in s["notebooks"]}


@pytest.mark.parametrize("instrument", ["kmos", "ldss3"])
def test_one_instrument_survey_runs_end_to_end(tmp_path, instrument, capsys):
    data, build = tmp_path / "data", tmp_path / "build"
    observe(data, preset="tiny", instruments=(instrument,))
    code = run_all(["--preset", "tiny", "--data-dir", str(data), "--out", str(build),
                    "-p", "figures_dir", str(tmp_path / "figs"), "--from", "01"])
    out = capsys.readouterr().out
    assert code == 0, out
    status = _summary(build)
    other = "ldss3" if instrument == "kmos" else "kmos"
    ours = [n for n in status if n[:2] in (("01", "02", "03", "04", "05", "06") if instrument == "kmos"
                                          else ("07", "08", "09", "10"))]
    theirs = [n for n in status if n[:2] in (("07", "08", "09", "10") if instrument == "kmos"
                                            else ("01", "02", "03", "04", "05", "06"))]
    assert all(status[n] == "ok" for n in ours + ["11_explore", "12_validation"]), status
    assert all(status[n] == "skipped" for n in theirs), status
    for n in theirs:
        assert out.count(f"{n}: skipped — no {other}/ in {data}") == 1
    reasons = {n["name"]: n["reason"] for n in json.loads((build / "tiny" / "run_summary.json").read_text())["notebooks"]}
    assert all(reasons[n] == f"no {other}/ in {data}" for n in theirs)
    import nbformat
    explore = nbformat.read(str(build / "tiny" / "notebooks" / "11_explore.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in explore.cells for o in c.get("outputs", []))
    half = "ROLES" if instrument == "kmos" else "KROSS"
    assert f"{half} panels not drawn: no {other}/ in {data}" in text


def test_real_data_without_truth(tmp_path, capsys):
    """Real data (no mock manifest, no truth): 00 and 12 are skipped with a line each, the
    instrument present runs."""
    data = tmp_path / "data"
    observe(data, preset="tiny", instruments=("kmos",))
    (data / "manifest.json").unlink()
    shutil.rmtree(data / "truth")
    kept = _digest(data)
    code = run_all(["--preset", "tiny", "--data-dir", str(data), "--out", str(tmp_path / "build"),
                    "-p", "figures_dir", str(tmp_path / "figs"), "--only", "00", "01", "07", "12"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert _summary(tmp_path / "build") == {"00_observe": "skipped", "01_kmos_psf": "ok",
                                           "07_ldss3_reduce": "skipped", "12_validation": "skipped"}
    assert f"12_validation: skipped — no truth/ in {data}" in out
    assert _digest(data) == kept


def test_folder_with_neither_instrument_is_an_error(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("x")
    kept = _digest(data)
    assert run_all(["--preset", "tiny", "--data-dir", str(data), "--out", str(tmp_path / "b"),
                    "-p", "figures_dir", str(tmp_path / "f"), "--only", "01"]) == 2
    err = capsys.readouterr().err
    assert "holds neither kmos/ nor ldss3/" in err and err.strip().count("\n") == 0
    assert _digest(data) == kept
