"""LDSS3 detection edge cases on hand-built N&S frames (issue 12, items 1-4 and 8).

The frames come from ``tests/ldss3_frames.py``, a small writer of the data contract that
shares no code with the project's mock: every line, bad column, cosmic ray and continuum
sits where the case needs it. Tolerances come from the pipeline's own noise (``counts_err``)
or from the geometry (a line's width), never from numbers the test wrote itself.
"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.table import Table

from ldss3_frames import Continuum, Cosmic, Line, Survey, a_row_lo, column_of, nod_a_row, wave_of, write_survey
from redshift1.ldss3.cli import detect_lines
from redshift1.ldss3.reliability import multiline_redshifts

BC = 150                                   # the bad column of the cosmic-ray cases
W_TOL = 6.0                                # Å: half the instrumental FWHM (11.4 Å) -- "the same line"


def _lines(root, **kw):
    cat, info = detect_lines(root / "masks" / "mask1", all_lines=True, **kw)
    return cat, info


def _adopted(cat, slit=None):
    sel = np.asarray(cat["status"]) == "adopted"
    if slit is not None:
        sel &= np.asarray(cat["slit_id"]) == slit
    return cat[sel]


def _near(cat, slit, wave, tol=W_TOL):
    return cat[(np.asarray(cat["slit_id"]) == slit) & (np.abs(np.asarray(cat["wavelength"], float) - wave) < tol)]


# --------------------------------------------------------------------------- 1. cosmic rays and masked pixels
def _cosmic_survey(n_exp, with_cosmics=True):
    """Slit 1 (slot 0): a real line one column beside the bad column, a cosmic ray on top of it in
    one exposure. Slits 2-4: empty, one cosmic ray each, touching / crossing / beside the bad
    column (in different exposures). Slit 5: empty, a cosmic ray 40 columns from the column.
    Flexure moves of 0 and 1.2 px put the bad column on different registered columns, so that
    next to it only one exposure sees some pixels."""
    r1 = nod_a_row(0)
    cos = [Cosmic(1, [(r1, BC + 1), (r1, BC + 2)], 1500.0),                            # on the real line
           Cosmic(0, [(nod_a_row(1) + 1, x) for x in (BC - 1, BC, BC + 1)], 1500.0),   # across the column
           Cosmic(1, [(nod_a_row(2) + 2, x) for x in (BC + 1, BC + 2)], 1500.0),       # touching it
           Cosmic(0, [(nod_a_row(3) - 1, x) for x in (BC - 2, BC - 1)], 1500.0),       # beside it
           Cosmic(1, [(nod_a_row(4) + 1, x) for x in (BC - 40, BC - 39, BC - 38)], 1500.0)]   # far away
    flex = (0.0, 1.2, -0.9, 0.4)[:n_exp]
    return Survey(n_slots=5, n_exp=n_exp, seed=5, flexure_dx=flex, bad_columns=[(BC, 0, 5 * 32 + 32)],
                  lines=[Line(0, float(wave_of(BC + 1)), 700.0)], cosmics=cos if with_cosmics else [])


@pytest.mark.parametrize("n_exp", [2, 3])
def test_cosmic_rays_on_beside_and_across_bad_columns_are_not_lines(tmp_path, n_exp):
    root = write_survey(tmp_path / "cr", _cosmic_survey(n_exp))
    cat, _ = _lines(root)
    for slit in (2, 3, 4, 5):               # empty slits: nothing adopted
        assert len(_adopted(cat, slit)) == 0, cat[np.asarray(cat["slit_id"]) == slit]
    # the real line next to the column, hit by a cosmic ray in one exposure: adopted once,
    # with the flux it has without the cosmic ray (same noise realisation: cosmic rays are
    # added after the noise), within the error of the difference
    ref_root = write_survey(tmp_path / "ref", _cosmic_survey(n_exp, with_cosmics=False))
    ref, _ = _lines(ref_root)
    w = float(wave_of(BC + 1))
    hit, clean = _adopted(_near(cat, 1, w)), _adopted(_near(ref, 1, w))
    assert len(hit) == 1 and len(clean) == 1 and len(_near(cat, 1, w)) == 1
    err = float(np.hypot(hit["counts_err"][0], clean["counts_err"][0]))
    assert abs(float(hit["counts"][0]) - float(clean["counts"][0])) < 3 * err


# --------------------------------------------------------------------------- 2. edge vs masked column
OFFSETS = (0, 1, 2, 3, -1, -2)
WAVES = (7150.0, 7300.0, 7480.0, 7650.0, 7850.0, 7460.0)


@pytest.fixture(scope="module")
def column_survey(tmp_path_factory):
    """Six bright lines, each with a bad column 0, 1, 2, 3, -1, -2 columns from its centre. The
    flexure moves are below half a pixel, so the column is masked in every exposure."""
    lines, bcs = [], []
    for k, (w, off) in enumerate(zip(WAVES, OFFSETS)):
        lines.append(Line(k, w, 900.0))
        x = int(round(float(column_of(w))))
        bcs.append((x + off, a_row_lo(k) - 8, a_row_lo(k) + 40))
    s = Survey(n_slots=6, n_exp=4, seed=7, bad_columns=bcs, lines=lines, flexure_dx=(0.0, 0.2, -0.3, 0.1))
    root = write_survey(tmp_path_factory.mktemp("cols"), s)
    return _lines(root)[0]


@pytest.mark.parametrize("k", range(len(OFFSETS)), ids=[f"offset{o:+d}" for o in OFFSETS])
def test_bright_line_next_to_a_bad_column_is_adopted_once(column_survey, k):
    near = _near(column_survey, k + 1, WAVES[k])
    assert len(near) == 1, near["slit_id", "wavelength", "sigma", "status"]      # reported once, any status
    assert near["status"][0] == "adopted" and not (int(near["flags"][0]) & 1)     # not 'edge'


# --------------------------------------------------------------------------- 3. multi-line and sky rules
def _cat(rows):
    t = Table(rows=rows, names=("mask", "slit_id", "object_id", "wavelength", "sigma", "status"),
              dtype=(str, int, str, float, float, "U20"))
    return t


def test_sub_threshold_companions_cannot_reject_a_lone_line():
    # two 3.4-3.8 sigma noise peaks that happen to sit where Hbeta and [OIII]5007 fall at z = 0.5,
    # next to a 45 sigma line that none of the candidate redshifts explains together with them
    z = 0.5
    cat = _cat([("m", 1, "o1", 7650.0, 45.0, "adopted"),
                ("m", 1, "o1", 4862.68 * (1 + z), 3.8, "below_threshold"),
                ("m", 1, "o1", 5008.24 * (1 + z), 3.4, "below_threshold")])
    _, verdict = multiline_redshifts(cat)
    assert verdict[0] != "spurious"


def test_secure_lines_still_reject_an_unexplained_line():
    # Hbeta and [OIII]5007 at z = 0.5, both adopted, and a fainter adopted line that fits neither
    z = 0.5
    cat = _cat([("m", 1, "o1", 4862.68 * (1 + z), 12.0, "adopted"),
                ("m", 1, "o1", 5008.24 * (1 + z), 30.0, "adopted"),
                ("m", 1, "o1", 7650.0, 6.0, "adopted")])
    _, verdict = multiline_redshifts(cat)
    assert verdict[2] == "spurious" and verdict[0] == verdict[1] == "consistent"


def test_lone_line_with_weak_companions_is_adopted_end_to_end(tmp_path):
    # a 45-sigma and an 8-sigma line, each with two faint real companions (Hbeta and [OIII]5007 at
    # z = 0.50 / 0.52, ~3-4.5 sigma as noise makes them) that do not fit the bright line: the
    # fainter companions cannot reject it
    lines = [Line(0, 7650.0, 1400.0), Line(0, 4862.68 * 1.5, 68.0), Line(0, 5008.24 * 1.5, 68.0),
             Line(1, 7300.0, 260.0), Line(1, 4862.68 * 1.52, 68.0), Line(1, 5008.24 * 1.52, 68.0)]
    root = write_survey(tmp_path / "ml", Survey(n_slots=3, n_exp=4, seed=17, lines=lines))
    cat, _ = _lines(root)
    for slit, w in ((1, 7650.0), (2, 7300.0)):
        near = _near(cat, slit, w)
        assert len(near) == 1 and near["status"][0] == "adopted", cat["slit_id", "wavelength", "sigma", "status"]


def test_line_on_a_sky_line_near_the_slit_end_is_judged_by_the_residual_model(tmp_path):
    # an ~11 sigma line on the 7718 Å sky line, two rows above the nominal object row (near the top
    # of the box); a second one on the 7853 Å line. No sky leaks in these frames.
    lines = [Line(1, 7718.0, 700.0, dy=2.0), Line(2, 7850.0, 500.0, dy=2.0)]
    root = write_survey(tmp_path / "sky", Survey(n_slots=4, n_exp=4, seed=9, lines=lines))
    cat, _ = _lines(root)
    for slit, w in ((2, 7718.0), (3, 7850.0)):
        near = _near(cat, slit, w)
        assert len(near) == 1 and near["status"][0] == "adopted", near["wavelength", "sigma", "row", "status"]


@pytest.mark.parametrize("leak", [0.15, 0.4])
def test_sky_leaks_at_the_slit_ends_are_still_not_adopted(tmp_path, leak):
    # light beyond the slit ends: a fraction of the sky in the last region-B rows of every slit
    root = write_survey(tmp_path / "leak", Survey(n_slots=4, n_exp=4, seed=9, leak=leak,
                                                  lines=[Line(3, 7300.0, 500.0)]))
    cat, _ = _lines(root)
    ad = _adopted(cat)
    assert len(ad) == 1 and ad["slit_id"][0] == 4 and abs(float(ad["wavelength"][0]) - 7300.0) < W_TOL


# --------------------------------------------------------------------------- 4. detection without the standard
@pytest.fixture(scope="module")
def continuum_survey(tmp_path_factory):
    """Lines on bright and faint continua that follow the filter's steep edges, one line free."""
    s = Survey(n_slots=6, n_exp=4, seed=21,
               lines=[Line(0, 7450.0, 400.0), Line(2, 7700.0, 300.0), Line(4, 7900.0, 500.0)],
               continua=[Continuum(k, lv) for k, lv in ((1, 600.0), (2, 300.0), (3, 1500.0), (4, 200.0))])
    return write_survey(tmp_path_factory.mktemp("cont"), s)


DETECTION_COLUMNS = ("slit_id", "row", "col", "wavelength", "sigma", "status", "counts", "counts_err")


def test_detection_catalogue_is_identical_without_the_flux_standard(continuum_survey, tmp_path):
    with_std, info1 = _lines(continuum_survey)
    root = tmp_path / "nostd"
    shutil.copytree(continuum_survey.parent, root)
    shutil.rmtree(root / "ldss3" / "calib" / "standard")
    without, info2 = _lines(root / "ldss3")
    assert info1["note"] == "" and "calib/standard" in info2["note"]
    assert len(with_std) == len(without)
    for c in DETECTION_COLUMNS:
        np.testing.assert_array_equal(np.asarray(with_std[c]), np.asarray(without[c]), err_msg=c)
    # the three injected lines, nothing else adopted (continua and filter edges make no lines)
    ad = _adopted(with_std)
    assert sorted(int(s) for s in ad["slit_id"]) == [1, 3, 5]
    # without the standard: fluxes uncalibrated and flagged
    assert np.all(np.isnan(np.asarray(without["flux"], float)))
    assert all("uncalibrated" in d for d in without["doubt"]) and not any("uncalibrated" in d for d in with_std["doubt"])


def test_detect_lines_warns_in_one_line_naming_the_missing_standard(continuum_survey, tmp_path):
    root = tmp_path / "nostd2"
    shutil.copytree(continuum_survey.parent, root)
    (root / "ldss3" / "calib" / "standard" / "LTT3864_spectrum.ecsv").unlink()
    mask = root / "ldss3" / "masks" / "mask1"
    for extra in ([], ["--json"]):
        r = subprocess.run([sys.executable, "-m", "redshift1", "detect-lines", str(mask), *extra],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        err = r.stderr.strip()
        assert err.count("\n") == 0 and err.startswith("warning:") and "LTT3864_spectrum.ecsv" in err
    out = json.loads(r.stdout)
    assert out["flux_calibrated"] is False and out["n_lines"] == 3
    assert all(d["flux"] is None and "uncalibrated" in d["doubt"] for d in out["lines"])
    assert out["doubt_summary"].startswith("3 of 3 lines are flagged") and "uncalibrated" in out["doubt_words"]


# --------------------------------------------------------------------------- doubt visible (issue 17, ROLES)
def test_empty_lf_bins_get_a_finite_flagged_upper_limit():
    from astropy.stats import poisson_conf_interval
    from redshift1.science.lf import luminosity_function
    # two galaxies in the first bin, none in the second and third
    lf = luminosity_function(np.array([40.1, 40.2]), np.ones(2), np.array([1e4, 2e4]), np.ones(2),
                             [40.0, 40.5, 41.0, 41.5])
    empty = np.asarray(lf["n_gal"]) == 0
    assert list(empty) == [False, True, True]
    hi = np.asarray(lf["phi_hi"], float)
    n0 = poisson_conf_interval(0, interval="frequentist-confidence")[1]
    assert np.all(np.isfinite(hi)) and np.allclose(hi[empty], n0 * float(lf["w_eff"][0]) / 0.5)
    assert list(lf["doubt"]) == ["", "empty_bin", "empty_bin"]


def test_poii_doubts_and_the_summary_sentence(tmp_path):
    from redshift1.ldss3.doubt import doubt_summary, poii_doubts
    poii = Table(rows=[("a", "detected", "photoz", 0.95, 1.0, "m1", 3), ("b", "no_line", "photoz", 0.5, 1.0, "", -1),
                       ("c", "detected", "multiline", 0.05, 1.3, "m1", 4), ("d", "detected", "photoz", 0.5, 1.0, "m1", 5)],
                 names=("id", "status", "p_source", "p_oii_photoz_raw", "pdf_norm", "mask_best", "slit_best"))
    lines = Table(rows=[("m1", 3, ""), ("m1", 4, ""), ("m1", 5, "box_incomplete")], names=("mask", "slit_id", "doubt"))
    lines.write(tmp_path / "lines.ecsv")           # as 09 reads it: empty cells come back masked
    poii["doubt"] = poii_doubts(poii, Table.read(tmp_path / "lines.ecsv"))
    assert list(poii["doubt"]) == ["p_clamped", "no_line", "pdf_renormalised", "line_doubt"]
    assert doubt_summary(poii, "objects") == ("4 of 4 objects are flagged: 1 line_doubt, 1 no_line, "
                                              "1 p_clamped, 1 pdf_renormalised.")
