"""The KROSS rows of the paper-vs-compendium table apply the paper's estimators: KROSS's resolution
test, least-squares lines with the rms about them, order-statistic intervals of extremes, and
truth counts defined from the true fluxes and sizes."""
import numpy as np
from astropy.table import Table

from redshift1.validation.kross import KrossInputs
from redshift1.validation.kross_paper import (DETECTION_SNR, extreme_interval, kross_truth_values, ols_line,
                                              resolved_by_kross_test)


def test_ols_line_recovers_a_seeded_line_and_its_rms():
    rng = np.random.default_rng(11)
    n, sigma = 2000, 0.25
    x = rng.uniform(8, 10, n)
    y = -8.2 + 0.9 * x + rng.normal(0, sigma, n)
    slope, intercept, rms = ols_line(x, y)
    # standard errors of a least-squares slope and of an rms from n points
    se_slope = sigma / (np.std(x) * np.sqrt(n))
    assert abs(slope - 0.9) < 4 * se_slope
    assert abs(intercept - (-8.2)) < 4 * se_slope * np.mean(x) + 4 * sigma / np.sqrt(n)
    assert abs(rms - sigma) < 4 * sigma / np.sqrt(2 * n)
    assert np.isnan(ols_line([1.0, np.nan], [2.0, 3.0])[0])


def test_extreme_interval_covers_the_extreme_of_a_fresh_sample():
    """Over seeded lognormal samples of 400, the interval from one sample holds the largest (and
    the smallest) of an independent sample of the same size about 95% of the time; a bootstrap
    would hold it far less often (its upper end is the sample's own maximum)."""
    rng = np.random.default_rng(3)
    hits = {"max": 0, "min": 0}
    trials = 200
    for _ in range(trials):
        a, b = 10 ** rng.normal(0.8, 0.4, 400), 10 ** rng.normal(0.8, 0.4, 400)
        for w in hits:
            iv = extreme_interval(a, w)
            target = b.max() if w == "max" else b.min()
            hits[w] += iv.lo <= target <= iv.hi
    for w, h in hits.items():
        # binomial noise of 200 trials around ~0.9-0.95 (the interval is estimated, not known)
        assert 0.80 <= h / trials <= 1.0, (w, h)
    iv = extreme_interval([1.0, 2.0, 100.0], "max")
    assert iv.lo <= 100.0 <= iv.hi                               # the sample's own extreme is inside
    assert extreme_interval([1.0, 2.0], "max").method == "none"


def test_kross_resolution_test_is_r_half_above_the_psf_r_half():
    t = Table({"status": ["ok", "ok", "ok", "failed"], "r_half_arcsec": [0.40, 0.30, np.nan, 0.9],
               "psf_r_half": [0.31, 0.31, 0.31, 0.31]})
    assert list(resolved_by_kross_test(t)) == [True, False, False, False]


def test_truth_counts_use_the_true_fluxes_and_sizes():
    ids = [f"G{i}" for i in range(6)]
    fov = np.array([10.0, 2.0, 4.0, 5.0, 1.0, 20.0])
    truth = Table({"id": ids, "flux_halpha": fov, "flux_halpha_fov": fov, "flux_nii6583": fov * 0.5,
                   "r_half_arcsec": [0.5, 0.05, 0.4, 0.1, 0.6, 0.8], "psf_fwhm": np.full(6, 0.6),
                   "sfr": np.ones(6)})
    err = np.ones(6)
    spectra = Table({"id": ids, "flux_halpha_err": err, "flux_nii6583_err": err,
                     "halpha_detected": fov / err > DETECTION_SNR})
    sfr = Table({"id": ids, "halpha_detected": spectra["halpha_detected"], "sfr": np.ones(6)})
    k = KrossInputs(truth=truth, truth_psf=None, relations={}, spectra=spectra, sfr=sfr)
    v = kross_truth_values(k, {})
    assert v["kross.n_halpha"] == 4 and v["kross.n_undetected"] == 2        # 10, 4, 5, 20 > 3
    # of those four, true r½ > HWHM (0.3"): 0.5, 0.4, 0.8 — the 0.1" one is unresolved
    assert v["kross.n_resolved"] == 3 and v["kross.n_unresolved"] == 1
    assert v["kross.n_nii"] == 2                      # [NII] = Hα/2 of the four: 5, 2, 2.5, 10; two exceed 3
