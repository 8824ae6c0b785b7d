"""Shared fixtures: the real reference folder (skipped when absent) and small mock surveys."""
from pathlib import Path

import pytest

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


def run_tiny_walk(base, data, seed=None):
    """Run notebooks 00-10 of the tiny preset into ``base`` (data in ``data``); returns the build dir."""
    from redshift1.runner import main
    args = ["--preset", "tiny", "--out", str(base / "build"), "--data-dir", str(data),
            "-p", "figures_dir", str(base / "figures")]
    if not (data / "manifest.json").exists():
        assert main(args + ["--only", "00"]) == 0
    assert main(args + ["--only", *WALK]) == 0
    return base / "build" / "tiny"


@pytest.fixture(scope="session")
def tiny_walk(tmp_path_factory):
    """The whole walk (00-10) on the tiny preset: (data dir, build dir, figures dir)."""
    base = tmp_path_factory.mktemp("walk")
    build = run_tiny_walk(base, base / "data")
    return base / "data", build, base / "figures"
