"""The ROLES steps layer (notebooks 07-10) and the one ROLES sample selection.

* :func:`redshift1.science.roles.sample_status` on hand-built values: each cut, in order.
* The four steps on a tiny mock survey: each returns exactly its notebook's products and
  writes nothing out of view (the per-mask reduced cubes of 07 excepted).
* Issue 12 item 4: without the flux standard the walk runs uncalibrated -- the detection
  catalogue is identical, fluxes NaN and flagged, one warning naming the missing folder,
  notebook 09 says so, notebook 10 refuses with a one-line error naming it.
"""
import inspect
import shutil

import numpy as np
import pytest
from astropy.table import Table

from redshift1.errors import MissingInputError
from redshift1.science.roles import SAMPLE_STATUS, sample_status
from redshift1.steps import ldss3_detect, ldss3_redshifts, ldss3_reduce, lf_sfrd
from redshift1.steps.ldss3_detect import UncalibratedFluxWarning, detect_lines
from redshift1.steps.ldss3_redshifts import line_identities
from redshift1.steps.ldss3_reduce import reduce_masks
from redshift1.steps.lf_sfrd import lf_and_sfrd

SEED = 11
#: what detection decides: must not depend on the flux calibration
DETECTION_COLUMNS = ("mask", "slit_id", "row", "col", "wavelength", "sigma", "npix", "flags", "status", "counts",
                     "counts_err", "multiline", "in_window")


# --------------------------------------------------------------------------- the sample selection
def test_sample_status_applies_each_cut_in_order():
    z = [1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    flux = [5.0, 5.0, 1.0, 5.0, 5.0, 5.0, 5.0, np.nan, 5.0]
    limit = [2.0] * 9
    k = [23.0, 23.0, 23.0, 24.5, 23.0, 23.0, 23.0, 23.0, 22.5]      # 22.5 is outside (bright limit excluded)
    p = [0.5, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.5]
    vm = [1e4, 1e4, 1e4, 1e4, 1e4, 0.0, 1e4, 1e4, 1e4]
    w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, np.nan, 0.5, 0.5]
    got = sample_status(z, flux, limit, k, (22.5, 24.0), p, vm, w)
    assert list(got) == ["in_sample", "outside_window", "below_flux_limit", "outside_k_range", "p_oii_zero",
                         "vmax_zero", "no_completeness", "below_flux_limit", "outside_k_range"]
    assert set(got) <= set(SAMPLE_STATUS)
    # a galaxy failing several cuts gets the first; the cuts given as None are skipped
    assert sample_status([0.5], [1.0], [2.0], [30.0], (22.5, 24.0), [0.0])[0] == "outside_window"
    assert list(sample_status(z, flux, limit, k, (22.5, 24.0))[4:7]) == ["in_sample"] * 3


def test_the_explorer_selects_with_the_walks_function():
    from redshift1.explore import roles as explore_roles
    src = inspect.getsource(explore_roles)
    assert "sample_status(" in src and '"outside_k_range"' not in src and '"p_oii_zero"' not in src
    gal = Table({"z_oii": [1.0, 1.0, 1.0], "flux": [5.0, 5.0, 5.0], "flux_limit": [2.0, 2.0, 2.0],
                 "K": [23.0, 23.0, 23.0], "p_oii_photoz_raw": [0.95, 0.05, 0.5], "p_fixed": [np.nan, np.nan, 1.0],
                 "vmax": [1e4, 1e4, 0.0], "completeness": [0.4, 0.4, 0.4], "base_status": ["ok"] * 3})
    gal.meta["k_range"] = [22.5, 24.0]
    t = explore_roles.sample(gal, 0.1, 0.9)
    assert list(t["p_oii"]) == [1.0, 0.0, 1.0]
    assert list(t["status"]) == ["in_sample", "p_oii_zero", "vmax_zero"]


# --------------------------------------------------------------------------- the four steps on a tiny survey
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny mock ROLES survey (one mask, two exposures, 11 slits)."""
    from redshift1.mock.population import Relations
    from redshift1.mock.roles import observe_roles
    base = tmp_path_factory.mktemp("steps_roles")
    observe_roles(base / "data" / "ldss3", "tiny", SEED, Relations(), base / "truth")
    return base / "data"


def _products(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def walk(tiny, tmp_path_factory):
    prod = tmp_path_factory.mktemp("prod")
    out = {}
    red = reduce_masks(data_dir=tiny, products_dir=prod, progress=False)
    out["written_before_07"] = _products(prod)
    red.write(prod)
    det = detect_lines(data_dir=tiny, products_dir=prod, progress=False)
    out["written_before_08"] = _products(prod)
    det.write(prod)
    z = line_identities(data_dir=tiny, products_dir=prod)
    z.write(prod)
    before_10 = _products(prod)
    lf = lf_and_sfrd(data_dir=tiny, products_dir=prod)
    out["written_by_10_out_of_view"] = sorted(set(_products(prod)) - set(before_10))
    lf.write(prod)
    out.update(prod=prod, red=red, det=det, z=z, lf=lf)
    return out


def test_each_step_returns_its_notebooks_products_and_writes_them_only_when_asked(walk):
    assert walk["written_before_07"] == [] and (walk["prod"] / "ldss3" / "mask4_reduced.fits").is_file()
    assert walk["written_before_08"] == sorted(ldss3_reduce.PRODUCTS)
    assert walk["written_by_10_out_of_view"] == []
    for key, module in (("red", ldss3_reduce), ("det", ldss3_detect), ("z", ldss3_redshifts), ("lf", lf_sfrd)):
        names = walk[key].product_names
        assert set(names) <= set(module.PRODUCTS) and len(names) == len(set(names)), key
        for name in names:
            assert (walk["prod"] / name).is_file(), name
    assert set(walk["det"].product_names) == set(ldss3_detect.PRODUCTS)
    assert set(walk["z"].product_names) == set(ldss3_redshifts.PRODUCTS)
    written = Table.read(walk["prod"] / "ldss3_lines.ecsv")
    assert len(written) == len(walk["det"]["ldss3_lines.ecsv"])
    assert walk["det"]["flux_calibrated"] and walk["z"]["flux_calibrated"]


def test_steps_take_keyword_arguments_only():
    for f in (reduce_masks, detect_lines, line_identities, lf_and_sfrd):
        kinds = {p.kind for p in inspect.signature(f).parameters.values()}
        assert kinds == {inspect.Parameter.KEYWORD_ONLY}, f.__name__


# --------------------------------------------------------------------------- issue 12 item 4: no flux standard
@pytest.fixture(scope="module")
def uncalibrated(tiny, walk, tmp_path_factory):
    base = tmp_path_factory.mktemp("nostd")
    data = base / "data"
    shutil.copytree(tiny, data)
    shutil.rmtree(data / "ldss3" / "calib" / "standard")
    prod = base / "prod"
    reduce_masks(data_dir=data, products_dir=prod, progress=False).write(prod)
    with pytest.warns(UncalibratedFluxWarning) as record:
        det = detect_lines(data_dir=data, products_dir=prod, progress=False)
    det.write(prod)
    z = line_identities(data_dir=data, products_dir=prod)
    z.write(prod)
    return {"data": data, "prod": prod, "det": det, "z": z, "warnings": [str(w.message) for w in record]}


def test_without_the_standard_the_detection_catalogue_is_identical(walk, uncalibrated):
    cal, unc = walk["det"]["ldss3_lines.ecsv"], uncalibrated["det"]["ldss3_lines.ecsv"]
    assert len(cal) == len(unc) and len(cal) > 0
    for c in DETECTION_COLUMNS:
        np.testing.assert_array_equal(np.asarray(cal[c]), np.asarray(unc[c]), err_msg=c)
    assert np.isfinite(np.asarray(cal["flux"], float)).any()
    assert np.all(np.isnan(np.asarray(unc["flux"], float)))
    assert all("uncalibrated" in d for d in unc["doubt"]) and not any("uncalibrated" in d for d in cal["doubt"])
    # the objects' detections (09) do not change either
    pc, pu = walk["z"]["roles_poii.ecsv"], uncalibrated["z"]["roles_poii.ecsv"]
    for c in ("id", "status", "wavelength", "sigma"):
        np.testing.assert_array_equal(np.asarray(pc[c]), np.asarray(pu[c]), err_msg=c)


def test_without_the_standard_one_warning_names_the_missing_folder(uncalibrated):
    assert len(uncalibrated["warnings"]) == 1
    msg = uncalibrated["warnings"][0]
    assert "\n" not in msg and "calib/standard" in msg and "uncalibrated" in msg
    det = uncalibrated["det"]
    assert det["flux_calibrated"] is False and det["sensitivity"] is None
    for name in ("ldss3_lines.ecsv", "ldss3_flux_limits.ecsv", "ldss3_sensitivity.ecsv"):
        meta = Table.read(uncalibrated["prod"] / name).meta
        assert meta["flux_calibrated"] is False and "calib/standard" in meta["missing_standard"], name


def test_without_the_standard_09_says_so_and_10_refuses_in_one_line(uncalibrated):
    assert uncalibrated["z"]["flux_calibrated"] is False
    assert "calib/standard" in uncalibrated["z"]["roles_poii.ecsv"].meta["missing_standard"]
    with pytest.raises(MissingInputError) as e:
        lf_and_sfrd(data_dir=uncalibrated["data"], products_dir=uncalibrated["prod"])
    msg = str(e.value)
    assert "\n" not in msg and "calib/standard" in msg and "uncalibrated" in msg
    assert not (uncalibrated["prod"] / "roles_lf.ecsv").exists()
