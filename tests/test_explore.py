"""Notebook 11's explorer (redshift1.explore): callbacks driven by setting widget values.

The products come from the real walk (notebooks 00–10 on the tiny preset, run once per
session by :func:`build_tiny_walk`, shared with ``test_browser_explore.py``). Every test
sets a control's ``.value`` — exactly what a reader's click does through the widget
protocol — and checks that the numbers and the figure data change as the analysis
choice says they must, computed independently from the products; and that at the walk's
own choices the explorer reproduces the walk's products. No test is timed
(``benchmarks/bench_explore.py`` measures the speed).
"""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table, vstack

pytest.importorskip("ipywidgets")

from redshift1.errors import ParameterError  # noqa: E402
from redshift1.explore import CONTROLS, PANELS, Choices, Explorer, load_products  # noqa: E402
from redshift1.explore.choices import DEPENDS, parse_edges  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_00_10 = [f"{i:02d}" for i in range(11)]
FAST = dict(nwalkers=16, nsteps=120, seed=3, raise_errors=True)


def build_tiny_walk(base: Path) -> dict:
    """Run notebooks 00–10 on the tiny preset into ``base`` (once: later calls reuse it)."""
    paths = {"base": base, "data": base / "data", "build": base / "build",
             "products": base / "build" / "tiny" / "products", "figures": base / "figs"}
    done = base / "walk.done"
    if not done.is_file():
        base.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(ROOT / "run_all.py"), "--preset", "tiny", "--out", str(paths["build"]),
               "--data-dir", str(paths["data"]), "-p", "figures_dir", str(paths["figures"]),
               "--only", *NOTEBOOKS_00_10]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
        assert r.returncode == 0, f"tiny walk failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        done.write_text("ok\n")
    return paths


@pytest.fixture(scope="session")
def tiny_walk(tmp_path_factory):
    return build_tiny_walk(tmp_path_factory.getbasetemp() / "explore_tiny_walk")


@pytest.fixture(scope="session")
def tiny_data(tiny_walk):
    return load_products(tiny_walk["products"], tiny_walk["data"], "tiny")


@pytest.fixture
def ex(tiny_data):
    return Explorer(tiny_data, **FAST)


def _png(ex, panel):
    return ex.images[panel].value


def _redrawn(ex, before: dict) -> set:
    return {p for p in PANELS if ex.images[p].value is not before[p]}


def _snapshot(ex) -> dict:
    return {p: ex.images[p].value for p in PANELS}


def _same_numbers(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        np.isclose(a[k], b[k], equal_nan=True, rtol=0, atol=0) if isinstance(a[k], float) else a[k] == b[k]
        for k in a)


# --------------------------------------------------------------------------- structure
def test_every_control_is_a_widget_and_drives_a_figure(ex):
    assert set(ex.controls) == set(CONTROLS)
    driven = set().union(*DEPENDS.values())
    assert driven == set(CONTROLS), f"controls no figure depends on: {set(CONTROLS) - driven}"
    for p in PANELS:
        assert _png(ex, p)[:8] == b"\x89PNG\r\n\x1a\n", f"{p}: no PNG drawn"
    assert ex.choices() == ex.walk_choices


def test_walk_choices_are_read_from_the_products(tiny_data):
    w = tiny_data.walk
    assert w.snr_halpha_min == 3.0 and w.snr_nii_min == 3.0
    assert w.ms_prescription == "speagle14"
    assert w.detect_sigma == 4.0 and w.raw_sigma == 3.0
    assert w.p_clamps == (0.1, 0.9)
    assert w.mass_bins["CDFS"] == (8.5, 8.9, 9.1, 9.3, 9.5)


def test_parse_edges():
    assert parse_edges("0.1, 0.5 ,1;2 10") == (0.1, 0.5, 1.0, 2.0, 10.0)
    for bad in ("1", "2, 1", "a, b", "0, 1"):
        with pytest.raises(ParameterError):
            parse_edges(bad, positive=True)


# --------------------------------------------------------------------------- the walk reproduced
def test_defaults_reproduce_the_walks_roles_products(ex, tiny_data):
    r = ex.results
    walk_gal = tiny_data.walk_galaxies
    assert list(r["galaxies"]["id"]) == list(walk_gal["id"])
    assert list(r["galaxies"]["status"]) == list(walk_gal["status"])
    for c in ("vmax", "completeness", "p_oii", "log_l_oii", "sfr_oii", "sfr_g10"):
        np.testing.assert_allclose(np.asarray(r["galaxies"][c], float), np.asarray(walk_gal[c], float),
                                   rtol=1e-9, equal_nan=True, err_msg=c)
    np.testing.assert_allclose(np.asarray(r["lf"]["phi"], float), np.asarray(tiny_data.walk_lf["phi"], float),
                               rtol=1e-9, equal_nan=True)
    walk_nominal = tiny_data.walk_sfrd[np.asarray(tiny_data.walk_sfrd["sfr_estimator"]) == "nominal"]
    np.testing.assert_allclose(np.asarray(r["sfrd"]["rho_sfr"], float), np.asarray(walk_nominal["rho_sfr"], float),
                               rtol=1e-9, equal_nan=True)


def test_defaults_reproduce_the_walks_kross_products(ex, tiny_walk):
    prod = tiny_walk["products"]
    sfr = Table.read(prod / "kross_sfr.ecsv")
    res = Table.read(prod / "kross_resolved.ecsv")
    met = Table.read(prod / "kross_metallicity.ecsv")
    r = ex.results
    assert list(r["sfr"]["halpha_detected"]) == list(sfr["halpha_detected"])
    np.testing.assert_allclose(r["sfr"]["log_delta_ssfr"], sfr["log_delta_ssfr"], equal_nan=True)
    assert list(r["resolved"]["status"]) == list(res["status"])
    np.testing.assert_allclose(r["resolved"]["log_sigma_sfr"], res["log_sigma_sfr"], equal_nan=True)
    assert list(r["metallicity"]["nii_class"]) == list(met["nii_class"])


# --------------------------------------------------------------------------- KROSS controls
def test_snr_halpha_threshold_changes_the_detections(ex, tiny_data):
    spec = tiny_data.spectra
    snr = np.asarray(spec["snr_halpha"], float)
    below = snr[(snr <= 3.0) & (snr > 1.0)]
    assert below.size, "the tiny survey has no galaxy with 1 < S/N(Hα) ≤ 3 to admit"
    t = np.floor(below.max() * 2) / 2
    t = t - 0.5 if t >= below.max() else t
    before = _snapshot(ex)
    ex.controls["snr_halpha_min"].value = t
    expected = int(np.sum((np.asarray(spec["status"]) == "ok") & (snr > t)))
    assert ex.numbers()["kross_n_halpha"] == expected > int(np.sum(snr > 3.0))
    assert f"{expected} / {len(tiny_data.targets)}" in ex.summary.value
    assert _redrawn(ex, before) == {"resolved_ms", "sigma_delta", "z_delta"}


def test_ms_prescription_moves_delta_and_redraws_its_figures(ex):
    before = _snapshot(ex)
    fig_before = ex.figures["sigma_delta"]
    x0 = np.asarray(ex.results["resolved"]["log_delta_ssfr"], float)
    ex.controls["ms_prescription"].value = "whitaker12"
    x1 = np.asarray(ex.results["resolved"]["log_delta_ssfr"], float)
    det = np.isfinite(x0)
    assert det.any() and not np.allclose(x0[det], x1[det])
    assert _redrawn(ex, before) == {"sigma_delta", "z_delta"}
    assert ex.figures["sigma_delta"] is not fig_before
    assert "Whitaker+12" in ex.figures["sigma_delta"].axes[0].get_title()
    # the resolved galaxies' points moved in x by the change of the MS
    pts = [c for c in ex.figures["sigma_delta"].axes[0].collections if len(c.get_offsets())]
    ok = np.asarray(ex.results["resolved"]["status"]) == "ok"
    np.testing.assert_allclose(np.sort(pts[0].get_offsets()[:, 0]), np.sort(x1[ok]))


def test_resolved_criterion_and_psf_correction(ex, tiny_data):
    sizes = tiny_data.sizes
    r = np.asarray(sizes["r_half_arcsec"], float)
    hw = np.asarray(sizes["psf_r_half"], float)       # the PSF radius notebook 03 subtracts
    r_err = np.nan_to_num(np.asarray(sizes["r_half_err_arcsec"], float), nan=np.inf)
    k = float(sizes.meta["resolved_significance"])      # notebook 03's test: r½ > HWHM + k σ(r½)
    ex.controls["resolved_factor"].value = 1.2
    np.testing.assert_array_equal(np.asarray(ex.results["sizes"]["resolved"]),
                                  np.isfinite(r) & (r > 1.2 * hw + k * r_err))
    res = ex.results["sizes"]
    res_ok = np.asarray(res["resolved"], bool)
    corrected = np.asarray(res["r_half_corr_arcsec"], float)[res_ok]
    # notebook 03's rule: quadrature, scaled by its disc-model factor where it has one
    factor = np.asarray(sizes["psf_correction_factor"], float) if "psf_correction_factor" in sizes.colnames \
        else np.ones(len(sizes))
    factor = np.where(np.isfinite(factor), factor, 1.0)
    np.testing.assert_allclose(corrected, np.sqrt(r[res_ok] ** 2 - hw[res_ok] ** 2) * factor[res_ok])
    before = _snapshot(ex)
    ex.controls["psf_correction"].value = False
    raw = np.asarray(ex.results["sizes"]["r_half_corr_arcsec"], float)[res_ok]
    np.testing.assert_allclose(raw, r[res_ok])
    assert _redrawn(ex, before) == {"resolved_ms", "sigma_delta"}


def test_snr_nii_threshold_reclassifies(ex, tiny_data):
    spec = tiny_data.spectra
    snr = np.asarray(spec["snr_nii6583"], float)
    ha = np.asarray(ex.results["sfr"]["halpha_detected"], bool)
    t = 7.0
    ex.controls["snr_nii_min"].value = t
    cls = np.asarray(ex.results["metallicity"]["nii_class"]).astype(str)
    np.testing.assert_array_equal(cls == "detected", ha & (snr > t))
    assert ex.numbers()["kross_n_nii_detected"] == int(np.sum(ha & (snr > t)))


def test_delta_bins_and_invalid_text(tiny_data):
    ex = Explorer(tiny_data, **{**FAST, "raise_errors": False})
    ex.controls["delta_edges"].value = "0.1, 1, 10"
    assert len(ex.results["sigma_delta_stats"]["bins"]) == 2
    assert len(ex.results["z_delta_bins"]) == 2
    before = _snapshot(ex)
    ex.controls["delta_edges"].value = "one, two"
    assert isinstance(ex.last_error, ParameterError)
    assert "not updated" in ex.status.value
    assert _redrawn(ex, before) == set()
    ex.controls["delta_edges"].value = "0.1, 0.5, 1, 2, 10"
    assert ex.last_error is None and len(ex.results["sigma_delta_stats"]["bins"]) == 4


# --------------------------------------------------------------------------- ROLES controls
def test_detection_sigma_admits_the_raw_catalogue(ex, tiny_data):
    lines = tiny_data.lines
    cand = set(np.asarray(tiny_data.poii["id"])[np.isin(np.asarray(tiny_data.poii["status"]),
                                                         ("detected", "no_line"))])
    before = _snapshot(ex)
    for t in (3.0, 5.0):
        ex.controls["detect_sigma"].value = t
        ok = np.asarray(lines["sigma"], float) >= t
        expected = {o for o in np.asarray(lines["object_id"])[ok] if o in cand}
        assert set(ex.results["galaxies"]["id"]) == expected
        assert ex.numbers()["roles_n_detected"] == len(expected)
    assert _redrawn(ex, before) == {"lf", "sfrd"}


def test_p_clamps_set_the_photoz_probabilities(ex):
    gal = ex.results["galaxies"]
    raw = np.asarray(gal["p_oii_photoz_raw"], float)
    photoz = np.asarray(gal["p_source"]) == "photoz"
    frac = photoz & (raw > 0.1) & (raw < 0.9)
    assert frac.any(), "the tiny survey has no fractional P([OII]) to clamp"
    lo = hi = float(np.round(np.min(raw[frac]) + 0.01, 2))
    sum_before = ex.numbers()["roles_sum_p"]
    ex.controls["p_clamps"].value = (lo, hi)
    gal = ex.results["galaxies"]
    # the walk calibrates P([OII]) (notebook 09): the clamps act on the photo-z P before it is
    # multiplied by the line's realness and its chance of not being [NeIII]; clamps lo == hi make a step
    scale = np.asarray(gal["p_real"], float) * np.asarray(gal["p_not_neiii"], float)
    ok = photoz & (scale > 0)
    assert ok.sum() >= 2
    step = np.asarray(gal["p_oii"], float)[ok] / scale[ok]
    assert np.all(np.isclose(step, 0) | np.isclose(step, 1)), step
    zero = np.asarray(gal["p_oii"], float) <= 0
    assert not np.any(zero & (np.asarray(gal["status"]) == "in_sample"))
    assert ex.numbers()["roles_sum_p"] != sum_before


def test_mass_bins_and_estimator(ex):
    before = _snapshot(ex)
    ex.controls["cdfs_mass_bins"].value = "8.5, 9.0, 9.5"
    sf = ex.results["sfrd"]
    cdfs = sf[np.asarray(sf["field"]) == "CDFS"]
    assert list(np.round(np.asarray(cdfs["logm_lo"], float), 3)) == [8.5, 9.0]
    assert _redrawn(ex, before) == {"sfrd"}
    nominal = np.asarray(cdfs["rho_sfr"], float)
    ex.controls["sfr_estimator"].value = "g10"
    sf = ex.results["sfrd"]
    assert set(sf["sfr_estimator"]) == {"g10"}
    g10 = np.asarray(sf[np.asarray(sf["field"]) == "CDFS"]["rho_sfr"], float)
    pos = nominal > 0
    assert pos.any() and not np.allclose(g10[pos], nominal[pos])
    assert "G10" in ex.figures["sfrd"].axes[0].get_title()


def test_reset_and_each_callback_once(ex, tiny_walk):
    walk_numbers = ex.numbers()
    # a main-sequence prescription other than the walk's moves Δ(sSFR) of any detected galaxy,
    # whatever S/N the tiny survey's lines happen to have
    ms = ex.controls["ms_prescription"]
    ms.value = next(v for _, v in ms.options if v != ms.value)
    ex.controls["snr_halpha_min"].value = 6.0
    ex.controls["detect_sigma"].value = 6.0
    assert not _same_numbers(ex.numbers(), walk_numbers)
    ex.reset()
    assert ex.choices() == ex.walk_choices
    assert _same_numbers(ex.numbers(), walk_numbers)
    timings = ex.run_each_callback()
    assert list(timings["control"]) == list(CONTROLS)
    assert all(e == "" for e in timings["error"])
    path = ex.save_static(tiny_walk["base"] / "static", "fig11_test")
    assert path.read_bytes()[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- fits (a larger sample)
def _inflate(data, copies: int = 30, seed: int = 5):
    """The tiny KROSS products, each galaxy repeated with scatter in flux, mass and size
    (enough galaxies for the regressions; the ROLES side is left as it is)."""
    rng = np.random.default_rng(seed)

    def rep(t):
        out = []
        for k in range(copies):
            c = t.copy()
            c["id"] = [f"{i}-{k:02d}" for i in t["id"]]
            out.append(c)
        return vstack(out)

    d = copy.copy(data)
    d.targets = rep(data.targets)
    n = len(d.targets)
    d.targets["logmstar"] = np.asarray(d.targets["logmstar"], float) + rng.normal(0, 0.35, n)
    d.targets["has_hst"] = True
    d.spectra = rep(data.spectra)
    for line, scatter in (("halpha", 0.3), ("nii6583", 0.2)):
        f = np.asarray(d.spectra[f"flux_{line}"], float) * 10 ** rng.normal(0, scatter, n)
        d.spectra[f"flux_{line}"] = f * d.spectra[f"flux_{line}"].unit
        d.spectra[f"snr_{line}"] = f / np.asarray(d.spectra[f"flux_{line}_err"], float)
    d.sizes = rep(data.sizes)
    d.sizes["r_half_arcsec"] = np.asarray(d.sizes["r_half_arcsec"], float) * 10 ** rng.normal(0, 0.12, n) \
        * d.sizes["r_half_arcsec"].unit
    hst = Table({"id": list(d.targets["id"]), "re_arcsec": 0.45 * 10 ** rng.normal(0, 0.1, n),
                 "sersic_n": np.full(n, 1.2), "q": np.full(n, 0.6), "pa": np.zeros(n)})
    hst["re_arcsec"].unit = "arcsec"
    d.hst = hst
    return d


@pytest.fixture(scope="module")
def big(tiny_data):
    return Explorer(_inflate(tiny_data), choices=Choices.from_walk(tiny_data.walk), **{**FAST, "nsteps": 200})


def test_regression_method_switches_between_least_squares_and_censored_emcee(big):
    r = big.results
    assert big.controls["regression"].value == "emcee"
    for name in ("resolved_ms", "sigma_delta", "z_delta"):
        assert r[f"fit_{name}"] is not None and r[f"fit_{name}"].method == "emcee", name
        assert r[f"ols_{name}"] is not None and r[f"ols_{name}"].method == "ols", name
    n_lim = r["fit_sigma_delta"].n_lower + r["fit_z_delta"].n_upper
    assert n_lim > 0, "no limits to censor in the inflated sample"
    emcee_slopes = [r[f"fit_{n}"].slope.median for n in ("resolved_ms", "sigma_delta", "z_delta")]
    legend_before = [t.get_text() for t in big.figures["sigma_delta"].axes[0].get_legend().get_texts()]
    big.controls["regression"].value = "ols"
    r = big.results
    assert all(r[f"fit_{n}"].method == "ols" for n in ("resolved_ms", "sigma_delta", "z_delta"))
    assert r["fit_sigma_delta"].n_lower == 0 and r["fit_z_delta"].n_upper == 0      # limits dropped
    assert [r[f"fit_{n}"].slope.median for n in ("resolved_ms", "sigma_delta", "z_delta")] != emcee_slopes
    legend = [t.get_text() for t in big.figures["sigma_delta"].axes[0].get_legend().get_texts()]
    assert any(s.startswith("emcee") for s in legend_before) and not any(s.startswith("emcee") for s in legend)
    assert "least squares" in big.summary.value
    big.controls["regression"].value = "emcee"
    # back to emcee: the cached fit, identical
    assert [big.results[f"fit_{n}"].slope.median for n in ("resolved_ms", "sigma_delta", "z_delta")] == emcee_slopes


def test_mass_range_of_the_z_trend(big):
    met = big.results["metallicity"]
    logm = np.asarray(met["logmstar"], float)
    cls = np.asarray(met["nii_class"]).astype(str)
    use = np.isin(cls, ("detected", "upper_limit")) & np.isfinite(np.asarray(met["oh12"], float)) \
        & np.isfinite(np.asarray(met["log_delta_ssfr"], float))
    n_wide = big.results["fit_z_delta"].n_points
    assert n_wide == int(np.sum(use & (logm > 9.5) & (logm < 10.5)))
    fits_before = (big.results["fit_resolved_ms"], big.results["fit_sigma_delta"])
    before = _snapshot(big)
    big.controls["z_mass_range"].value = (9.8, 11.5)
    fit = big.results["fit_z_delta"]
    expected = int(np.sum(use & (logm > 9.8) & (logm < 11.5)))
    assert (fit.n_points if fit is not None else 0) == expected or (fit is None and expected < 5)
    assert expected != n_wide
    assert _redrawn(big, before) == {"z_delta"}
    # the other fits were not redone
    assert (big.results["fit_resolved_ms"], big.results["fit_sigma_delta"]) == fits_before
    assert "9.8 < log M★ < 11.5" in big.figures["z_delta"].axes[0].get_title()


def test_every_control_at_its_extremes(ex):
    """Each slider at both ends, each option of each dropdown: no error, figures drawn."""
    from ipywidgets import FloatRangeSlider, FloatSlider

    for name, w in ex.controls.items():
        start = w.value
        if isinstance(w, FloatSlider):
            values = [w.min, w.max]
        elif isinstance(w, FloatRangeSlider):
            values = [(w.min, w.min), (w.max, w.max), (w.min, w.max)]
        elif hasattr(w, "options") and w.options:
            values = [v for _, v in w.options]
        elif isinstance(w.value, bool):
            values = [not w.value]
        else:
            values = []
        for v in values:
            w.value = v
            assert ex.last_error is None, (name, v)
            for p in PANELS:
                assert _png(ex, p)[:4] == b"\x89PNG", (name, v, p)
        w.value = start
    assert ex.choices() == ex.walk_choices
