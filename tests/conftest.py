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
