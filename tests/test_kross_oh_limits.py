"""Where the Z–Δ(sSFR) fit censors the [NII] non-detections.

Galaxies are drawn here, not by the mock: Z = 8.6 − 0.32 log Δ + 0.06 dex scatter at fixed
mass, Hα at S/N 25, and the [NII]6583 flux MEASURED with Gaussian noise; [NII] is detected
where its measured S/N exceeds 3 and otherwise gets KROSS's 5σ limit. Censoring at the
detection threshold must recover the slope of the galaxies' true values; KROSS's 5σ limits
used as bounds let the detections (selected metal-rich where Hα is faint) pull it steep.
"""
from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from redshift1.science.kross_metallicity import fit_oh_delta, kross_metallicity_table
from redshift1.science.metallicity import n2_from_oh

SLOPE = -0.32
FIT = dict(nwalkers=24, nsteps=600)


def drawn_galaxies(seed: int, n: int = 700):
    """``kross_metallicity_table`` of ``n`` galaxies at 9.6 < log M★ < 10.4, and the least-squares
    slope of their true 12+log(O/H) on their true log Δ(sSFR)."""
    rng = np.random.default_rng(seed)
    log_delta = rng.normal(0.0, 0.4, n)
    oh = 8.6 + SLOPE * log_delta + rng.normal(0.0, 0.06, n)
    f_ha = 10 ** (log_delta + rng.normal(0.0, 0.2, n)) * 1e-16            # brighter above the MS
    f_nii = f_ha * 10 ** n2_from_oh(oh)
    e_ha = f_ha / 25.0
    e_nii = np.full(n, np.quantile(f_nii, 0.4) / 3.0)                     # ~40 % near or below 3σ
    f_nii_obs = f_nii + e_nii * rng.standard_normal(n)
    f_ha_obs = f_ha + e_ha * rng.standard_normal(n)
    sp = Table()
    sp["id"] = [f"G{i:04d}" for i in range(n)]
    sp["status"] = "ok"
    sp["flux_halpha"], sp["flux_halpha_err"] = f_ha_obs, e_ha
    sp["flux_nii6583"], sp["flux_nii6583_err"] = f_nii_obs, e_nii
    sp["flux_nii6583_err_detection"] = e_nii
    sp["snr_nii6583"] = f_nii_obs / e_nii
    sp["flux_nii6583_ul"] = 5.0 * e_nii
    sp["nii_sky_distance_aa"] = 30.0
    sfr = Table()
    sfr["id"] = sp["id"]
    sfr["halpha_detected"] = np.ones(n, bool)
    sfr["logmstar"] = rng.uniform(9.6, 10.4, n)
    sfr["log_sfr_err"] = 0.05
    # Δ(sSFR) measured from the same Hα flux: its error is shared with N2
    sfr["log_delta_ssfr"] = log_delta + np.log10(f_ha_obs / f_ha)
    sfr["log_delta_ssfr_err"] = np.hypot(e_ha / f_ha_obs / np.log(10), 0.03)
    return kross_metallicity_table(sp, sfr), float(np.polyfit(log_delta, oh, 1)[0])


def test_threshold_is_where_the_line_would_have_been_detected():
    met, _ = drawn_galaxies(1, n=200)
    lim = met["nii_class"] == "upper_limit"
    assert 40 < lim.sum() < 140
    # 5σ limit against the 3σ threshold: 0.57 log10(5/3) dex apart
    np.testing.assert_allclose(met["oh12"][lim] - met["oh12_threshold"][lim], 0.57 * np.log10(5 / 3), atol=1e-9)
    assert np.all(np.isnan(met["oh12_threshold"][~lim]))


def test_censoring_at_the_detection_threshold_recovers_the_slope():
    """Six draws (~270 of 700 not detected in each): the slope's pull against the same
    galaxies' true slope averages zero at the threshold, and is steep with KROSS's limits."""
    pulls = {"detection_threshold": [], "paper": []}
    for seed in range(3, 9):
        met, true_slope = drawn_galaxies(seed)
        for limits, p in pulls.items():
            fit = fit_oh_delta(met, limits=limits, seed=seed, **FIT)
            p.append((fit.slope.median - true_slope) / fit.slope.err)
    threshold, paper = np.array(pulls["detection_threshold"]), np.array(pulls["paper"])
    # the mean of 6 unit-width pulls has σ 0.41
    assert abs(threshold.mean()) < 0.8, threshold
    assert np.all(np.abs(threshold) < 3), threshold
    assert paper.mean() < -2.5, paper


def test_a_table_without_thresholds_needs_the_paper_limits():
    met, _ = drawn_galaxies(5, n=60)
    met.remove_column("oh12_threshold")
    with pytest.raises(ValueError, match="oh12_threshold"):
        fit_oh_delta(met, **FIT)
    assert fit_oh_delta(met, limits="paper", seed=1, **FIT) is not None
    with pytest.raises(ValueError, match="limits must be"):
        fit_oh_delta(met, limits="5sigma")
