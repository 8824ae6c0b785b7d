"""The ROLES walk (notebooks 07-10 as library calls) on a freshly generated quick mock survey.

The mock's truth (``<survey>/truth/roles_*``) is read here, by the tests only, to check
what the pipeline measured from the pixels.
"""
import json

import numpy as np
import pytest
from astropy.table import Table
import astropy.units as u

from redshift1.__main__ import main
from redshift1.science.poii import LINE_WINDOWS
from redshift1.science.sfr import sfr_from_oii, line_luminosity
from redshift1.science.sfrd import TABLE2_COLUMNS
from redshift1.science.vmax import flux_visibility, k_visibility, vmax, window_volume, z_grid
from redshift1.cosmology import ROLES_COSMO
from redshift1.steps.ldss3_detect import detect_lines
from redshift1.steps.ldss3_redshifts import line_identities
from redshift1.steps.ldss3_reduce import reduce_masks
from redshift1.steps.lf_sfrd import lf_and_sfrd

SEED = 424242


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    from redshift1.mock.observe import observe
    base = tmp_path_factory.mktemp("roles")
    survey = base / "quick"
    observe(survey, preset="quick", seed=SEED, instruments=("ldss3",))
    prod, figs = base / "products", base / "figures"
    figs.mkdir()
    red = reduce_masks(data_dir=survey, products_dir=prod)
    red.write(prod)
    det = detect_lines(data_dir=survey, products_dir=prod)
    det.write(prod)
    z = line_identities(data_dir=survey, products_dir=prod)
    z.write(prod)
    lf = lf_and_sfrd(data_dir=survey, products_dir=prod)
    lf.write(prod)
    return {"survey": survey, "prod": prod, "figs": figs, "slits": red["ldss3_slits.ecsv"],
            "exposures": red["ldss3_exposures.ecsv"], "traps": red["traps"], "fig3": red["figure"], "det": det,
            "poii": z["roles_poii.ecsv"], "comp": z["roles_completeness.ecsv"], "counts": z["counts"], "lf": lf}


def test_registration_matches_the_mock_flexure(walk):
    truth = Table.read(walk["survey"] / "truth" / "roles_exposures.ecsv")
    truth = truth[truth["expnum"] > 0]
    ex = walk["exposures"]
    for r in ex:
        t = truth[(truth["mask"] == r["mask"]) & (truth["expnum"] == r["expnum"])][0]
        assert abs(r["flex_dx"] - t["flex_dx"]) < 0.05
        assert abs(r["flex_dy"] - t["flex_dy"]) < 0.1


def test_charge_traps_are_found(walk):
    truth = Table.read(walk["survey"] / "truth" / "roles_charge_traps.ecsv")
    traps = walk["traps"]["traps"]
    for t in truth:
        if t["q"] > 0.5:
            assert traps[int(t["y"]) + 1, int(t["x"])], f"trap at x={t['x']} y={t['y']} missed"


def test_every_slit_and_object_has_a_row_with_a_status(walk):
    design_rows = sum(len(Table.read(p)) for p in (walk["survey"] / "ldss3" / "masks").glob("*/design.ecsv"))
    assert len(walk["slits"]) == design_rows and "status" in walk["slits"].colnames
    assert set(walk["det"]["ldss3_lines.ecsv"]["status"]) <= {"adopted", "below_threshold", "edge", "sky_leak", "broad",
                                                "telluric", "multiline_rejected"}
    poii = walk["poii"]
    assert len(set(poii["id"])) == len(set(walk["slits"]["object_id"]))
    assert set(poii["status"]) <= {"detected", "no_line", "no_good_slit", "filler"}
    for name in ("ldss3_slits.ecsv", "ldss3_lines.ecsv", "ldss3_flux_limits.ecsv", "roles_poii.ecsv",
                 "roles_completeness.ecsv", "roles_lf.ecsv", "roles_sfrd.ecsv", "roles_galaxies.ecsv"):
        assert (walk["prod"] / name).is_file(), name
    assert (walk["prod"] / "ldss3" / "mask4_reduced.fits").is_file()


def test_bright_lines_are_found_with_right_wavelengths(walk):
    lines = walk["det"]["ldss3_lines.ecsv"]
    truth = Table.read(walk["survey"] / "truth" / "roles_lines.ecsv")
    bright = truth[(truth["snr_expected"] > 15) & truth["in_window"]]
    ad = lines[lines["status"] == "adopted"]
    dw = []
    for t in bright:
        s = ad[(ad["mask"] == t["mask"]) & (ad["slit_id"] == t["slit_id"])]
        assert len(s), f"{t['mask']} slit {t['slit_id']} {t['line']} at {t['obs_wave']:.1f} A not found"
        dw.append(np.min(np.abs(np.asarray(s["wavelength"]) - t["obs_wave"])))
    assert np.median(dw) < 2.0


def test_poii_clamps_and_precedence(walk):
    poii = walk["poii"]
    det = poii[poii["status"] == "detected"]
    p = np.asarray(det["p_oii"], float)
    assert np.all((p == 0) | (p == 1) | ((p >= 0.1) & (p <= 0.9)))
    sp = det[np.isfinite(np.asarray(det["z_spec_public"], float))]
    assert np.all(sp["p_source"] == "zspec_public")
    assert set(walk["counts"]["field"]) == {"CDFS", "FIRES"}
    c = walk["comp"]
    assert np.all((c["W"] >= 0) & (c["W"] <= 1) | ~np.isfinite(c["W"]))


def test_vmax_of_a_galaxy_visible_everywhere_is_the_window_volume():
    area = 107.8
    zg, dz = z_grid(LINE_WINDOWS["OII"], 2000)
    v = vmax(np.ones((1, zg.size), bool), zg, dz, area)[0]
    omega = (area * u.arcmin**2).to_value(u.sr)
    from scipy.integrate import quad
    direct = omega * quad(lambda z: ROLES_COSMO.differential_comoving_volume(z).to_value(u.Mpc**3 / u.sr),
                          *LINE_WINDOWS["OII"])[0]
    assert v == pytest.approx(direct, rel=1e-4)
    assert window_volume(area) == pytest.approx(direct, rel=1e-6)
    # a bright galaxy with K in the middle of the range is visible across the whole window
    vis = k_visibility([23.2], [1.0], zg) & flux_visibility([1e-15], [1.0], zg, [7000, 8100], [1e-17, 1e-17])
    assert vis.all()
    assert not flux_visibility([1e-18], [1.0], zg, [7000, 8100], [1e-17, 1e-17]).any()


def test_table2_product(walk):
    t = Table.read(walk["prod"] / "table2_sfrd.ecsv")
    assert tuple(t.colnames) == TABLE2_COLUMNS
    assert u.Unit(t["rho_sfr"].unit) == u.Unit("Msun / (yr Mpc3 dex)")
    assert {"CDFS", "FIRES"} <= set(t["field"])
    ok = t["n_gal"] > 0
    assert np.all(t["rho_sfr_lo"][ok] <= t["rho_sfr"][ok]) and np.all(t["rho_sfr"][ok] <= t["rho_sfr_hi"][ok])


def _truth_sfrd(survey, field, lo, hi, limit_wave, limit_flux, k_range=(22.5, 24.0)):
    """SFR density of the galaxies the survey could see (K range, [OII] above the limit at their
    own wavelength), straight from the mock's truth catalogue."""
    g = Table.read(survey / "truth" / "roles_galaxies.ecsv")
    g = g[g["field"] == field]
    z = np.asarray(g["z_true"], float)
    w = LINE_WINDOWS["OII"]
    lam = 3728.48 * (1 + z)
    lim = np.interp(lam, limit_wave, limit_flux, left=np.inf, right=np.inf)
    f = np.asarray(g["f_OII_3727"], float)
    k = np.asarray(g["K"], float)
    m = np.asarray(g["logm_true"], float)
    sel = (z > w[0]) & (z < w[1]) & (k > k_range[0]) & (k <= k_range[1]) & (f >= lim) & (m >= lo) & (m < hi)
    sfr = sfr_from_oii(line_luminosity(f[sel], z[sel], ROLES_COSMO)).value
    area = Table.read(survey / "ldss3" / "photometry" / f"{field}_photometry.ecsv").meta["area_arcmin2"]
    return sfr.sum() / window_volume(area) / (hi - lo), int(sel.sum())


def test_sfrd_agrees_with_the_mock_within_errors(walk):
    lf = walk["lf"]
    limit = lf["limit"]
    t = lf["roles_sfrd.ecsv"][(lf["roles_sfrd.ecsv"]["sfr_estimator"] == "nominal")]
    for field in ("CDFS", "FIRES"):
        s = t[t["field"] == field]
        lo, hi = float(s["logm_lo"][0]), float(s["logm_hi"][-1])
        meas = float(np.sum(np.asarray(s["rho_sfr"]) * (np.asarray(s["logm_hi"]) - np.asarray(s["logm_lo"])))) / (hi - lo)
        up = np.sqrt(np.sum(((np.asarray(s["rho_sfr_hi"]) - np.asarray(s["rho_sfr"]))
                             * (np.asarray(s["logm_hi"]) - np.asarray(s["logm_lo"]))) ** 2)) / (hi - lo)
        dn = np.sqrt(np.sum(((np.asarray(s["rho_sfr"]) - np.asarray(s["rho_sfr_lo"]))
                             * (np.asarray(s["logm_hi"]) - np.asarray(s["logm_lo"]))) ** 2)) / (hi - lo)
        true, n = _truth_sfrd(walk["survey"], field, lo, hi, np.asarray(limit["wavelength"]),
                              np.asarray(limit["flux_limit"]))
        err = up if true > meas else dn
        assert abs(meas - true) < 2.5 * err, (field, meas, true, up, dn, n)


def test_cli_detect_lines_json_and_errors(walk, capsys, tmp_path):
    mask = walk["survey"] / "ldss3" / "masks" / "mask4"
    assert main(["detect-lines", str(mask), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mask"] == "mask4" and out["n_lines"] == len(out["lines"]) > 0
    assert {"slit", "object_id", "wavelength", "significance", "flux", "flux_err"} <= set(out["lines"][0])
    # a truncated raw frame: one line naming the file, exit status 2
    import shutil
    bad_survey = tmp_path / "ldss3"
    shutil.copytree(walk["survey"] / "ldss3", bad_survey)
    raw = bad_survey / "masks" / "mask4" / "raw" / "mask4_002.fits"
    raw.write_bytes(raw.read_bytes()[:5000])
    assert main(["detect-lines", str(bad_survey / "masks" / "mask4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "mask4_002.fits" in err
    assert main(["detect-lines", str(tmp_path / "nowhere")]) == 2
