"""``python -m redshift1 fit-cube``: JSON on a mock cube and on the real ESO cube; one-line errors."""
import json
import subprocess
import sys

import pytest
from astropy.table import Table

KEYS = {"z", "flux_halpha", "flux_halpha_err", "flux_nii6583", "flux_nii6583_err", "snr_halpha", "fwhm_kms",
        "x_center", "y_center", "r_half_arcsec", "flux_unit"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "redshift1", "fit-cube", *map(str, args)], capture_output=True, text=True)


def test_mock_cube_json(tiny_kmos_survey):
    t = Table.read(tiny_kmos_survey / "kmos" / "targets.ecsv")
    truth = Table.read(tiny_kmos_survey / "truth" / "kmos_galaxies.ecsv")
    row = t[0]
    r = run(tiny_kmos_survey / "kmos" / row["cube"], "--z", row["z_cat"], "--psf-fwhm", 0.6, "--json", "--n-perturb", 10)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert KEYS | {"r_half_corr_arcsec"} <= set(out)
    assert abs(out["z"] - row["z_cat"]) < 0.01
    assert abs(out["z"] - truth["z"][0]) / (1 + truth["z"][0]) * 3e5 < 50
    assert "erg" in out["flux_unit"]


def test_real_eso_cube(reference_dir):
    r = run(reference_dir / "XID_208_YJband.fits", "--z", 1.06, "--json", "--n-perturb", 10)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert KEYS <= set(out) and "r_half_corr_arcsec" not in out
    assert out["flux_unit"].startswith("unknown")
    assert out["z"] == pytest.approx(1.0619, abs=0.001)      # Hα at 1.3534 µm
    assert out["snr_halpha"] > 10


@pytest.mark.parametrize("bad", ["missing.fits", "garbage.fits"])
def test_bad_file_is_a_one_line_error(tmp_path, bad):
    path = tmp_path / bad
    if bad == "garbage.fits":
        path.write_text("not fits")
    r = run(path, "--z", 0.9)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and bad in r.stderr and "Traceback" not in r.stderr
