"""Shared fixtures: the real reference folder (skipped when absent) and small mock surveys."""
import os
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

if os.environ.get("PYTEST_XDIST_WORKER"):
    # two test workers fill the two cores: BLAS threads on top of them spin against each other
    threadpool_limits(limits=1, user_api="blas")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir():
    if not (REFERENCE / "XID_208_YJband.fits").is_file():
        pytest.skip(f"real reference data not found at {REFERENCE} (only present beside the project's own checkout)")
    return REFERENCE


@pytest.fixture(scope="session")
def tiny_kmos_survey(tmp_path_factory):
    """A tiny mock KROSS survey (one pointing, four galaxies, three PSF stars)."""
    from redshift1.mock.observe import observe
    out = tmp_path_factory.mktemp("survey") / "tiny"
    observe(out, preset="tiny", seed=7, instruments=("kmos",))
    return out


WALK = ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]
#: The session's walk also runs the explorer and the validation: the published site then has every page.
FULL_WALK = WALK + ["11", "12"]


def run_tiny_walk(base, data, seed=None, notebooks=WALK, root=None):
    """Run notebooks 00-10 (or ``notebooks``) of the tiny preset into ``base`` (data in ``data``);
    returns the build dir (figures go to its ``figures/``)."""
    from redshift1.runner import main
    args = ["--preset", "tiny", "--out", str(base / "build"), "--data-dir", str(data)]
    if root is not None:
        args += ["--root", str(root)]
    if not (data / "manifest.json").exists():
        assert main(args + ["--only", "00"]) == 0
    assert main(args + ["--only", *notebooks]) == 0
    return base / "build" / "tiny"


def _git(repo, *args):
    import subprocess
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _tracked_copy(dest):
    """A git repository holding a copy of the project's tracked files, committed (None without git)."""
    import shutil
    import subprocess
    try:
        files = _git(ROOT, "ls-files", "-z").split("\0")
    except (OSError, subprocess.CalledProcessError):
        return None
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "copy")
    return dest


@pytest.fixture(scope="session")
def tiny_walk_in_copy(tmp_path_factory):
    """The whole walk (00-12) on the tiny preset, run with the default folders inside a committed
    copy of the repository: (copy root or None, data dir, build dir, figures dir)."""
    base = tmp_path_factory.mktemp("walk")
    repo = _tracked_copy(base / "repo")
    if repo is None:   # no git: the same walk in the temporary folder
        build = run_tiny_walk(base, base / "data", notebooks=FULL_WALK)
        return None, base / "data", build, build / "figures"
    from redshift1.runner import main
    assert main(["--root", str(repo), "--preset", "tiny", "--only", "00", *FULL_WALK]) == 0
    build = repo / "build" / "tiny"
    return repo, repo / "data" / "tiny", build, build / "figures"


@pytest.fixture(scope="session")
def tiny_walk(tiny_walk_in_copy):
    """The whole walk (00-12) on the tiny preset: (data dir, build dir, figures dir)."""
    _, data, build, figures = tiny_walk_in_copy
    return data, build, figures


@pytest.hookimpl(tryfirst=True)       # before pytest-xdist's worker reads the groups
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (``-n 2 --dist loadgroup``, the default options): the tests of one file
    share a worker (their module fixtures are built once), and every test that needs the tiny
    walk shares one worker, so the walk runs once per test session."""
    for item in items:
        uses_walk = {"tiny_walk", "tiny_walk_in_copy"} & set(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.xdist_group("tiny_walk" if uses_walk else item.nodeid.split("::")[0]))
