"""The ROLES rows' statistics: the flux limit read the way ROLES §3.4.2 quotes it (the
shallowest mask's curve) and the order-statistic interval of the median slits per mask."""
import numpy as np
import astropy.units as u
import pytest
from astropy.table import Table

from redshift1.ldss3.flux_limits import FLUX_LIMIT_BAND, shallowest_mask_limits
from redshift1.validation.roles_paper import median_order_interval


def _limits(rng):
    w = np.arange(7000.0, 8050.1, 2.5)
    base = 4e-18 * (1 + (rng.random(w.size) < 0.1) * 3)          # 10 % of the grid under sky lines
    edge = 1 + 20 * ((w < 7040) | (w > 8010))                     # the filter's edges, far above
    t = Table({"wavelength": w * u.AA})
    for name, scale in (("maskA", 1.0), ("maskB", 1.6), ("maskC", 1.2)):
        t[name] = base * edge * scale * u.erg / u.s / u.cm ** 2
    return t, w, base


def test_shallowest_mask_limits_reads_the_shallowest_curve_inside_the_band():
    t, w, base = _limits(np.random.default_rng(3))
    out = shallowest_mask_limits(t)
    inside = (w > FLUX_LIMIT_BAND[0]) & (w < FLUX_LIMIT_BAND[1])
    assert out["mask"] == "maskB"
    assert out["dark"] == pytest.approx(1.6 * np.percentile(base[inside], 5), rel=1e-12)
    assert out["sky"] == pytest.approx(1.6 * np.percentile(base[inside], 95), rel=1e-12)
    assert out["values"].size == inside.sum()
    # the filter edges (x 21) stay outside the band: nothing in the curve exceeds the sky level x 4
    assert out["values"].max() <= 1.6 * 4 * 4e-18 * (1 + 1e-12)


def test_shallowest_mask_limits_without_calibration_or_wavelengths():
    t, _, _ = _limits(np.random.default_rng(4))
    for name in ("maskA", "maskB", "maskC"):
        t[name] = np.nan
    out = shallowest_mask_limits(t)
    assert out["mask"] == "" and np.isnan(out["dark"]) and np.isnan(out["sky"])
    with pytest.raises(ValueError, match="wavelength"):
        shallowest_mask_limits(Table({"maskA": [1.0, 2.0]}))


def test_median_order_interval_covers_the_median_at_95_percent():
    """Coverage over 2000 seeded samples of 18 values from a skewed distribution whose median is
    known (lognormal: exp(0) = 1); the interval is conservative by construction (coverage of the
    chosen k is 0.969 for n = 18), so the coverage must exceed 0.95 less its binomial noise."""
    rng = np.random.default_rng(20161)
    hits = 0
    n_sim = 2000
    for _ in range(n_sim):
        iv = median_order_interval(rng.lognormal(0.0, 1.0, 18))
        hits += iv.lo <= 1.0 <= iv.hi
    assert hits / n_sim > 0.95 - 2 * np.sqrt(0.95 * 0.05 / n_sim)


def test_median_order_interval_of_two_clusters_and_of_too_few_values():
    iv = median_order_interval([110.0] * 6 + [188.0] * 12)
    assert (iv.lo, iv.hi, iv.method) == (110.0, 188.0, "median_order_statistic")
    iv = median_order_interval(np.arange(18.0))
    assert (iv.lo, iv.hi) == (4.0, 13.0)     # x_(5), x_(14): P(5 <= B(18, 1/2) <= 13) = 0.969
    assert median_order_interval([1.0, 2.0, 3.0, np.nan, 5.0]).method == "none"
