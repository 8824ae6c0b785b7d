"""Injection–recovery machinery and the paper-vs-compendium table (redshift1.validation).

Unit tests run on synthetic inputs with known answers; each can fail (a wrong pull width,
a wrong match, a misplaced row is detected). The slow test checks, on the paper preset's
products, that the recovered slopes lie within 2σ of the injected / truth-sample ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from redshift1.errors import DataFormatError, ParameterError
from redshift1.validation import (PAPER_NUMBERS, PAPER_VALUES, asymmetric_pulls, build_paper_table, check_slope,
                                  completeness_curve, markdown_table, match_ids, match_keys, match_lines, n_sigma,
                                  recovery_stats, recovery_table, sfrd_key, value_at_fraction, write_paper_table)
from redshift1.validation.core import Matched
from redshift1.validation.kross import KrossInputs, kross_matched
from redshift1.validation.kross_paper import kross_compendium_values
from redshift1.validation.paper import TABLE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- bias and pulls
def _gauss(n=4000, sigma=0.1, seed=1):
    rng = np.random.default_rng(seed)
    true = rng.uniform(1, 3, n)
    return true, true + rng.normal(0, sigma, n)


def test_pull_width_is_one_for_correct_errors():
    true, meas = _gauss()
    s = recovery_stats(meas, true, np.full(true.size, 0.1))
    assert s["n"] == s["n_pull"] == true.size
    assert abs(s["pull_width"] - 1) < 0.05
    assert abs(s["pull_std"] - 1) < 0.05
    assert abs(s["bias"]) < 3 * s["bias_err"]
    assert abs(s["scatter"] - 0.1) < 0.006
    assert 0.0 < s["frac_pull_gt3"] < 0.01


def test_pull_width_detects_overestimated_errors():
    true, meas = _gauss()
    s = recovery_stats(meas, true, np.full(true.size, 0.2))
    assert abs(s["pull_width"] - 0.5) < 0.03


def test_ratio_log_and_difference_bias():
    rng = np.random.default_rng(2)
    true = 10 ** rng.uniform(-17, -15, 2000)
    meas = 1.2 * true * (1 + rng.normal(0, 0.01, true.size))
    assert abs(recovery_stats(meas, true, kind="ratio")["bias"] - 1.2) < 0.005
    assert abs(recovery_stats(meas, true, kind="log")["bias"] - np.log10(1.2)) < 0.003
    d = recovery_stats(true + 0.5, true, kind="difference")
    assert d["bias"] == pytest.approx(0.5) and d["scatter"] == pytest.approx(0.0, abs=1e-12)


def test_pull_width_is_robust_to_outliers_and_nans():
    true, meas = _gauss(seed=3)
    meas[:200] += 5.0                       # 5 % catastrophic outliers at +50 σ
    meas[200:210] = np.nan
    s = recovery_stats(meas, true, np.full(true.size, 0.1))
    assert s["n"] == true.size - 10
    assert abs(s["pull_width"] - 1) < 0.15           # MAD barely notices them (a plain std would be ~11)
    assert np.nanstd((meas - true) / 0.1) > 5
    assert abs(s["frac_pull_gt3"] - 200 / (true.size - 10)) < 0.01


def test_too_few_points_and_bad_kind():
    s = recovery_stats([1.0, 2.0], [1.0, 2.0], [0.1, 0.1])
    assert s["n"] == 2 and np.isnan(s["bias"]) and np.isnan(s["pull_width"])
    with pytest.raises(ParameterError):
        recovery_stats([1.0], [1.0], kind="mean")
    with pytest.raises(ParameterError):
        recovery_stats([1.0, 2.0], [1.0])


def test_asymmetric_pulls_use_the_side_facing_the_truth():
    p = asymmetric_pulls([10.0, 10.0], [8.0, 8.0], [14.0, 14.0], [18.0, 6.0])
    assert p == pytest.approx([-2.0, 2.0])


def test_recovery_table_columns():
    m = Matched("X", "q", "all", "difference", "", *_gauss(100)[::-1], np.full(100, 0.1))
    t = recovery_table([m.stats()])
    assert t["quantity"][0] == "q" and t["n"][0] == 100 and np.isfinite(t["pull_width"][0])


# --------------------------------------------------------------------------- matching
def test_match_ids_and_duplicates():
    assert list(match_ids(["b", "x", "a"], ["a", "b", "c"])) == [1, -1, 0]
    with pytest.raises(DataFormatError):
        match_ids(["a"], ["a", "a"])


def test_match_keys():
    a = Table({"p": ["P1", "P1", "P2"], "s": [1, 2, 1]})
    b = Table({"p": ["P2", "P1", "P1"], "s": [1, 2, 1], "v": [5, 6, 7]})
    assert list(match_keys(a, b, ("p", "s"))) == [2, 1, 0]


def test_match_lines_one_to_one_within_tolerance():
    det_keys = ["m1/1", "m1/1", "m1/2", "m1/3"]
    det_wave = [7500.0, 7503.0, 7600.0, 7700.0]
    tr_keys = ["m1/1", "m1/2", "m1/3", "m1/1"]
    tr_wave = [7502.0, 7650.0, 7691.0, 7800.0]
    tod, dot = match_lines(det_keys, det_wave, tr_keys, tr_wave, tol=10.0)
    # the split detection at 7500/7503 matches once (the nearer one); 7600 is 50 Å off; 7700 is within 10 Å
    assert list(tod) == [-1, 0, -1, 2]
    assert list(dot) == [1, -1, 3, -1]
    # same wavelength in another slit never matches
    tod, _ = match_lines(["m2/1"], [7502.0], ["m1/1"], [7502.0], tol=10.0)
    assert tod[0] == -1
    with pytest.raises(ParameterError):
        match_lines(det_keys, det_wave, tr_keys, tr_wave, tol=0)


# --------------------------------------------------------------------------- completeness
def test_completeness_curve_recovers_the_injected_50_percent_flux():
    rng = np.random.default_rng(4)
    flux = 10 ** rng.uniform(-18.5, -15.5, 20000)
    f50 = 1e-17
    p = 1 / (1 + (f50 / flux) ** 3)                # logistic in log flux, 50 % at f50
    rec = rng.random(flux.size) < p
    c = completeness_curve(flux, rec, np.logspace(-18.5, -15.5, 25))
    assert c["n"].sum() == flux.size
    assert np.all((c["fraction_lo"] <= c["fraction"]) & (c["fraction"] <= c["fraction_hi"]))
    assert value_at_fraction(c, 0.5) == pytest.approx(f50, rel=0.1)
    assert np.isnan(value_at_fraction(c[:3], 0.5))   # never reaches 50 % in the faintest bins


def test_completeness_curve_counts():
    c = completeness_curve([1, 2, 3, 4], [True, False, True, True], [0.5, 2.5, 4.5], geometric=False)
    assert list(c["n"]) == [2, 2] and list(c["n_recovered"]) == [1, 2]
    assert list(c["centre"]) == [1.5, 3.5]
    with pytest.raises(ParameterError):
        completeness_curve([1], [True], [2, 1])


def test_lf_turnover():
    from redshift1.validation.roles_density import lf_turnover
    x = np.arange(39.625, 42.7, 0.25)
    phi = np.where(x < 40.5, 1e-4, 3e-3) * np.where(x > 41.9, 0.1, 1.0)
    phi[x == 41.375] = 4e-3                          # noise at the top does not move the turnover
    assert lf_turnover(x, phi) == pytest.approx(40.5)
    assert np.isnan(lf_turnover(x, np.zeros(x.size)))


# --------------------------------------------------------------------------- slopes
def test_n_sigma_uses_the_side_facing_the_reference():
    assert n_sigma(1.0, 0.8, 1.5, 2.0) == pytest.approx(-2.0)
    assert n_sigma(1.0, 0.8, 1.5, 0.5) == pytest.approx(2.5)
    assert check_slope("s", (1.0, 0.8, 1.5), 2.0, "injected").within_2sigma
    assert not check_slope("s", (1.0, 0.8, 1.5), 0.5, "injected").within_2sigma
    assert not check_slope("s", (np.nan, 0.8, 1.5), 0.5, "injected").within_2sigma
    assert check_slope("s", (1.0, 0.8, 1.5), 2.0, "injected", tolerance=1.5).within_2sigma is False


# --------------------------------------------------------------------------- the KROSS matching on synthetic products
def _synthetic_kross(n=300, seed=5):
    rng = np.random.default_rng(seed)
    ids = [f"G{i:04d}" for i in range(n)]
    fov = 10 ** rng.uniform(-17, -15.5, n)
    truth = Table({"id": ids, "z": rng.uniform(0.8, 0.95, n), "flux_halpha": fov * 1.05, "flux_halpha_fov": fov,
                   "flux_nii6583": fov * 1.05 * 0.3})
    order = rng.permutation(n)                       # products list the galaxies in another order
    err = 0.05 * fov[order]
    spectra = Table({"id": np.array(ids)[order], "z": truth["z"][order] + rng.normal(0, 1e-4, n),
                     "z_err": np.full(n, 1e-4), "flux_halpha": 0.9 * fov[order] + rng.normal(0, 1, n) * err,
                     "flux_halpha_err": err, "flux_nii6583": 0.3 * fov[order], "flux_nii6583_err": err,
                     "halpha_detected": np.ones(n, bool), "nii_detected": np.ones(n, bool)})
    return KrossInputs(truth=truth, truth_psf=None, relations={}, spectra=spectra)


def test_kross_matching_by_id_recovers_a_known_bias():
    got = {(m.quantity, m.sample): m.stats() for m in kross_matched(_synthetic_kross())}
    z = got[("z", "Hα detected")]
    assert abs(z["pull_width"] - 1) < 0.15 and abs(z["bias"]) < 3e-5
    ha = got[("Hα flux", "Hα detected")]
    assert abs(ha["bias"] - 0.9) < 0.01                       # measured against flux_halpha_fov
    nii = got[("[NII]6583 flux", "[NII] detected")]
    assert abs(nii["bias"] - 1.0) < 1e-9                      # truth scaled by the in-IFU fraction


def test_kross_compendium_values_from_the_fit_summary():
    k = _synthetic_kross(10)
    k.fits = {"sfr_n_targets": 487, "sfr_n_halpha": 437, "oh_delta_slope": -0.25, "resolved_ms_slope": 0.9}
    v = kross_compendium_values(k)
    assert v["kross.n_undetected"] == 50
    assert v["kross.oh_across_ms"] == pytest.approx(0.15)
    # the slopes are the paper's least squares on the resolved product, absent here (not the fit summary's)
    assert "kross.resolved_ms_slope" not in v and np.isnan(v["kross.spearman_p"])
    assert set(v) <= set(PAPER_VALUES)


# --------------------------------------------------------------------------- the paper numbers and the table
SPEC_NUMBERS = {
    "kross.n_targets": 487, "kross.n_halpha": 437, "kross.n_resolved": 374, "kross.n_unresolved": 63,
    "kross.n_undetected": 50, "kross.n_nii": 190, "kross.n_nii_near_sky": 113, "kross.n_nii_upper_limit": 134,
    "kross.median_sfr": 7.0, "kross.median_r_half": 5.1, "kross.mean_r_half": 5.4, "kross.resolved_ms_slope": 0.91,
    "kross.resolved_ms_intercept": -8.21, "kross.resolved_ms_scatter": 0.25, "kross.sigma_delta_slope": 1.09,
    "kross.spearman_p": 3e-19, "kross.size_starburst": 4.2, "kross.size_ms": 5.2, "kross.mean_oh": 8.64,
    "kross.oh_delta_slope": -0.32, "kross.halpha_to_stellar_size": 1.3, "kross.n_hst": 117,
    "roles.n_masks": 18, "roles.n_targets_cdfs": 1849, "roles.n_targets_fires": 533, "roles.n_detected_cdfs": 246,
    "roles.n_detected_fires": 119, "roles.n_repeats": 44, "roles.repeat_wavelength_sigma": 1.4,
    "roles.flux_pull_width": 0.9, "roles.completeness_cdfs": 0.85, "roles.completeness_fires": 0.7,
    "roles.volume": 7.4e4, "roles.lf_alpha": -1.5,
}


def test_every_spec_number_is_a_row():
    for key, value in SPEC_NUMBERS.items():
        assert PAPER_VALUES[key] == pytest.approx(value), key
    assert len(PAPER_NUMBERS) >= 25
    assert len({p.key for p in PAPER_NUMBERS}) == len(PAPER_NUMBERS)


def test_paper_numbers_agree_with_the_walks_comparison_constants():
    """The notebooks' comparison constants are taken from the table's rows, never quoted twice."""
    from redshift1.validation.paper import KROSS_PAPER as PAPER, ROLES_TABLE2 as PAPER_TABLE2

    for key, pk in (("n_targets", "n_targets"), ("n_halpha", "n_halpha"), ("n_resolved", "n_resolved"),
                    ("n_nii", "n_nii"), ("median_sfr", "median_sfr"), ("median_r_half", "median_r_half_kpc"),
                    ("resolved_ms_slope", "resolved_ms_slope"), ("sigma_delta_slope", "sigma_delta_slope"),
                    ("oh_delta_slope", "oh_delta_slope"), ("n_hst", "n_hst")):
        assert PAPER_VALUES[f"kross.{key}"] == pytest.approx(PAPER[pk]), key
    assert PAPER_VALUES["kross.mean_oh"] == pytest.approx(PAPER["mean_oh"][0])
    for f, lo, hi, _, rho, *_ in PAPER_TABLE2:
        if f in ("CDFS", "FIRES", "FORS2"):
            assert PAPER_VALUES[sfrd_key(f, lo, hi)] == pytest.approx(rho), (f, lo, hi)


def test_build_paper_table_places_values_by_key():
    comp = {"kross.n_targets": 480, "roles.lf_alpha": -1.4, sfrd_key("CDFS", 8.5, 8.9): 7.0}
    truth = {"kross.n_targets": 480.0, "kross.oh_delta_slope": -0.32}
    t = build_paper_table(comp, truth, preset="paper", seed=20161, notes={"kross.n_targets": "n"})
    assert t.colnames[:2] == ["quantity", "paper"] and {"compendium", "truth"} <= set(t.colnames)
    assert t.colnames == list(TABLE_COLUMNS)
    assert len(t) == len(PAPER_NUMBERS) >= 25
    keys = t.meta["keys"]
    row = lambda k: t[keys.index(k)]   # noqa: E731
    assert row("kross.n_targets")["paper"] == 487 and row("kross.n_targets")["compendium"] == 480
    assert row("roles.lf_alpha")["compendium"] == -1.4 and np.isnan(row("roles.lf_alpha")["truth"])
    assert row(sfrd_key("CDFS", 8.5, 8.9))["paper"] == pytest.approx(6.60)
    assert row("kross.oh_delta_slope")["truth"] == -0.32 and np.isnan(row("kross.oh_delta_slope")["compendium"])
    with pytest.raises(ParameterError):
        build_paper_table({"kross.no_such_number": 1.0}, {})


def test_markdown_and_files(tmp_path):
    t = build_paper_table({"kross.n_targets": 480, "roles.limit_dark": 2.5e-18}, {}, preset="quick", seed=7)
    md = markdown_table(t)
    lines = md.splitlines()
    assert lines[0] == f"0 of {len(t)} rows agree with the paper; 0 of {len(t)} with the truth."
    assert "preset `quick`" in lines[2] and "seed 7" in lines[2]
    assert lines[4] == "| quantity | paper | compendium | truth | agrees | truth ok | note |"
    body = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| quantity")]
    assert len(body) == len(t)
    assert any(ln.startswith("| KROSS targets | 487 | 480 | — | no | no |") for ln in lines)
    assert any("2.50×10^-18" in ln for ln in lines)
    ecsv, mdp = write_paper_table(t, tmp_path)
    back = Table.read(ecsv)
    assert back.colnames == list(TABLE_COLUMNS) and len(back) == len(t)
    assert back.meta["seed"] == 7 and mdp.read_text(encoding="utf-8") == md


# --------------------------------------------------------------------------- paper preset (slow)
PAPER_PRODUCTS = ROOT / "build" / "paper" / "products"
PAPER_TRUTH = ROOT / "data" / "paper" / "truth"


@pytest.mark.slow
def test_paper_preset_slopes_within_two_sigma():
    """On the paper preset the recovered slopes lie within 2σ of the injected ones (Z–Δ) and of
    the same regressions on the true values of the same galaxies (resolved MS, ΣSFR–Δ, LF)."""
    need = [PAPER_PRODUCTS / "kross_fits.json", PAPER_PRODUCTS / "kross_resolved.ecsv",
            PAPER_PRODUCTS / "kross_metallicity.ecsv", PAPER_PRODUCTS / "roles_lf.ecsv",
            PAPER_TRUTH / "kmos_galaxies.ecsv", PAPER_TRUTH / "roles_galaxies.ecsv"]
    missing = [str(p.relative_to(ROOT)) for p in need if not p.is_file()]
    if missing:
        pytest.skip(f"paper-preset products not built ({', '.join(missing)}): run `python run_all.py --preset paper`")
    from redshift1.validation import kross as VK, roles as VR, roles_density as VRD

    k = VK.load_kross(PAPER_PRODUCTS, PAPER_TRUTH)
    checks = VK.kross_slope_checks(k, VK.truth_fits(k))
    r = VR.load_roles(PAPER_PRODUCTS, PAPER_TRUTH, PAPER_TRUTH.parent)
    checks += VRD.roles_slope_checks(r, VRD.truth_lf(r))
    slopes = [c for c in checks if "slope" in c.name and c.primary]
    names = {c.name for c in slopes}
    assert {"resolved MS slope (log ΣSFR–log Σ★)", "ΣSFR–Δ(sSFR) slope", "Z–Δ(sSFR) slope"} <= names, names
    bad = [f"{c.name} vs {c.reference_kind}: {c.measured:.3f} [{c.measured_lo:.3f}, {c.measured_hi:.3f}] "
           f"vs {c.reference:.3f} ({c.n_sigma:+.1f}σ)" for c in slopes if not c.within_2sigma]
    assert not bad, "slopes more than 2σ from the truth: " + "; ".join(bad)
