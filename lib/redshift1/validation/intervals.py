"""95 % intervals of the paper-vs-compendium rows, and whether two intervals agree.

Every row of the paper-vs-compendium table carries the interval of the compendium's value and of
the truth's value, computed the way that fits the quantity:

* **Poisson** (:func:`poisson_interval`) for counts: the Gehrels frequentist-confidence limits of
  astropy's :func:`~astropy.stats.poisson_conf_interval` at 95 %;
* **scaled Poisson** (:func:`scaled_poisson_interval`) for a weighted sum (a density): the value
  times the Poisson limits of its effective number over that number;
* **binomial** (:func:`binomial_interval`) for fractions: Wilson limits at 95 %;
* **bootstrap** (:func:`bootstrap_interval`) for a statistic of a sample (a median, mean,
  extreme, robust width, a Spearman p): the 2.5th–97.5th percentiles of the statistic over
  resamples of the galaxies/objects, drawn from a seeded generator;
* **posterior** (:func:`posterior_interval`) for fitted parameters: the 95 % credible interval of
  the chain where it is at hand, else the 16th/84th percentiles scaled to 95 % (×1.96 on each side);
* **exact** (:func:`exact_interval`) for numbers that are design choices or geometry (the number
  of targets, masks, the survey volume): no sampling interval.

:func:`intervals_overlap` and :func:`interval_contains` decide ``agrees`` and ``agrees_truth``;
:func:`summary_line` is the sentence atop the Markdown table.
"""
from __future__ import annotations

import zlib
from typing import Callable, NamedTuple

import numpy as np
from astropy.stats import poisson_conf_interval
from scipy import stats

from ..errors import ParameterError

__all__ = ["CONFIDENCE", "Z95", "Interval", "exact_interval", "poisson_interval", "scaled_poisson_interval",
           "binomial_interval", "bootstrap_interval", "posterior_interval", "intervals_overlap", "interval_contains",
           "summary_line", "METHODS", "row_rng", "ROUNDOFF"]

#: Confidence level of every compendium and truth interval of the table
CONFIDENCE = 0.95
#: Two-sided Gaussian quantile of :data:`CONFIDENCE` (1.96)
Z95 = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))

#: The interval methods and what they mean (kept in the table's metadata)
METHODS = {
    "exact": "a design number or geometry: no sampling interval (lo = hi = value)",
    "poisson": "95% Gehrels (frequentist-confidence) Poisson limits of the count",
    "scaled_poisson": "value x 95% Poisson limits of its effective number N_eff / N_eff",
    "binomial": "95% Wilson binomial limits of the fraction",
    "bootstrap": "2.5-97.5 percentiles of the statistic over seeded resamples of the galaxies/objects",
    "median_order_statistic": "distribution-free interval of a median: the order statistics x_(k), x_(n+1-k) of "
                       "binomial coverage >= 95%",
    "posterior": "95% credible interval of the fit (chain percentiles, or the 16/84 percentiles x 1.96)",
    "extreme_order_statistic": "95% interval of the extreme of n draws from a lognormal fitted to the sample (holding "
                       "the sample's own extreme)",
    "point": "no interval computed: the value is compared as a point",
    "none": "no interval: the value is missing",
}


class Interval(NamedTuple):
    """A 95 % interval ``[lo, hi]`` and how it was computed (a key of :data:`METHODS`).

    Attributes
    ----------
    lo, hi : float
        The interval's ends (NaN when method is ``"none"``).
    method : str
        A key of :data:`METHODS`.
    """

    lo: float
    hi: float
    method: str


def exact_interval(value: float) -> Interval:
    """A number without sampling noise: ``lo = hi = value``.

    Parameters
    ----------
    value : float

    Returns
    -------
    Interval
        Method ``"exact"``, or ``"none"`` if ``value`` is not finite.
    """
    v = float(value)
    return Interval(v, v, "exact" if np.isfinite(v) else "none")


def poisson_interval(n: float, confidence: float = CONFIDENCE) -> Interval:
    """95 % Gehrels limits of a count ``n`` (astropy ``poisson_conf_interval``, frequentist-confidence).

    Parameters
    ----------
    n : float
        The count (>= 0).
    confidence : float
        Central probability of the interval (default :data:`CONFIDENCE`, 0.95).

    Returns
    -------
    Interval
        Method ``"poisson"``, or NaN ends and ``"none"`` for a negative or missing count.
    """
    n = float(n)
    if not np.isfinite(n) or n < 0:
        return Interval(np.nan, np.nan, "none")
    sigma = float(stats.norm.ppf(0.5 + confidence / 2))
    lo, hi = poisson_conf_interval(n, interval="frequentist-confidence", sigma=sigma)
    return Interval(float(lo), float(hi), "poisson")


def scaled_poisson_interval(value: float, n_eff: float, confidence: float = CONFIDENCE) -> Interval:
    """A weighted sum ``value`` with effective number ``n_eff``: ``value × [N_lo, N_hi] / n_eff``.

    ``n_eff = (Σw)² / Σw²`` is the number of equal weights with the same relative Poisson error
    (:func:`redshift1.science.lf.effective_poisson`). With no galaxies (``n_eff = 0``) the interval
    is ``[0, 0]`` for a zero value and missing otherwise.

    Parameters
    ----------
    value : float
        The weighted sum.
    n_eff : float
        Its effective number of objects (>= 0).
    confidence : float
        Central probability of the interval (default :data:`CONFIDENCE`, 0.95).

    Returns
    -------
    Interval
        Method ``"scaled_poisson"``, or ``"none"`` with NaN ends.
    """
    value, n_eff = float(value), float(n_eff)
    if not (np.isfinite(value) and np.isfinite(n_eff)) or n_eff < 0:
        return Interval(np.nan, np.nan, "none")
    if n_eff == 0:
        return Interval(0.0, 0.0, "scaled_poisson") if value == 0 else Interval(np.nan, np.nan, "none")
    p = poisson_interval(n_eff, confidence)
    return Interval(value * p.lo / n_eff, value * p.hi / n_eff, "scaled_poisson")


def binomial_interval(k: float, n: float, confidence: float = CONFIDENCE) -> Interval:
    """Wilson limits of the fraction ``k / n`` (``k``, ``n`` may be weighted, i.e. non-integer).

    Parameters
    ----------
    k : float
        Successes (``0 <= k <= n``).
    n : float
        Trials (> 0).
    confidence : float
        Central probability of the interval (default :data:`CONFIDENCE`, 0.95).

    Returns
    -------
    Interval
        Method ``"binomial"`` (ends clipped to [0, 1] and to contain ``k / n``), or ``"none"``.
    """
    k, n = float(k), float(n)
    if not (np.isfinite(k) and np.isfinite(n)) or n <= 0 or not 0 <= k <= n:
        return Interval(np.nan, np.nan, "none")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(float(max(0.0, min(centre - half, p))), float(min(1.0, max(centre + half, p))), "binomial")


def bootstrap_interval(statistic: Callable, *samples, n_boot: int = 1000, seed=0,
                       confidence: float = CONFIDENCE, vectorised: bool = False) -> Interval:
    """Percentile bootstrap interval of ``statistic(*samples)``.

    Parameters
    ----------
    statistic : callable
        Takes arrays (one per sample, resampled with the same indices: paired data stay
        paired) and returns a float. With ``vectorised=True`` it receives 2-D arrays (one
        resample per row) and an ``axis=1`` keyword, like ``np.median``.
    *samples : array_like
        Equal-length 1-D arrays; rows where any of them is not finite are dropped first.
    n_boot : int
        Number of resamples.
    seed : int or `numpy.random.Generator`
        Seed of the resampling, so the same run gives the same interval.
    confidence : float
        Central probability of the interval.
    vectorised : bool
        Call ``statistic`` once on all resamples (2-D arrays, ``axis=1``) instead of once per
        resample.

    Returns
    -------
    Interval
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled
        statistic (method ``"bootstrap"``); NaN (method ``"none"``) with fewer than two rows.
    """
    arrays = [np.asarray(s, float).ravel() for s in samples]
    if not arrays or len({a.size for a in arrays}) != 1:
        raise ParameterError("bootstrap_interval needs one or more samples of equal length")
    good = np.all([np.isfinite(a) for a in arrays], axis=0)
    arrays = [a[good] for a in arrays]
    n = arrays[0].size
    if n < 2:
        return Interval(np.nan, np.nan, "none")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    if vectorised:
        vals = np.asarray(statistic(*(a[idx] for a in arrays), axis=1), float)
    else:
        vals = np.array([statistic(*(a[i] for a in arrays)) for i in idx], float)
    vals = vals[np.isfinite(vals)]
    if vals.size < n_boot // 2:
        return Interval(np.nan, np.nan, "none")
    q = 50 * (1 - confidence)
    lo, hi = np.percentile(vals, [q, 100 - q])
    return Interval(float(lo), float(hi), "bootstrap")


def posterior_interval(median: float, lo: float, hi: float, samples=None,
                       confidence: float = CONFIDENCE) -> Interval:
    """95 % interval of a fitted parameter: percentiles of ``samples`` if given, else the
    16th/84th percentiles ``lo``/``hi`` stretched about ``median`` by the Gaussian ratio
    (1.96 on each side).

    Parameters
    ----------
    median, lo, hi : float
        Posterior median and 16th/84th percentiles.
    samples : array_like, optional
        The chain of the parameter; used when given and holding finite values.
    confidence : float
        Central probability of the interval (default :data:`CONFIDENCE`, 0.95).

    Returns
    -------
    Interval
        Method ``"posterior"``, or ``"none"`` if the summary is not finite.
    """
    if samples is not None:
        s = np.asarray(samples, float)
        s = s[np.isfinite(s)]
        if s.size:
            q = 50 * (1 - confidence)
            a, b = np.percentile(s, [q, 100 - q])
            return Interval(float(a), float(b), "posterior")
    median, lo, hi = float(median), float(lo), float(hi)
    if not all(np.isfinite(v) for v in (median, lo, hi)):
        return Interval(np.nan, np.nan, "none")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return Interval(median - z * (median - lo), median + z * (hi - median), "posterior")


#: Relative round-off allowed when comparing interval ends (two computations of the same exact
#: number, e.g. a volume summed per field and over both fields, differ in the last digits)
ROUNDOFF = 1e-9


def _slack(x) -> np.ndarray:
    return ROUNDOFF * np.abs(x)


def intervals_overlap(a_lo, a_hi, b_lo, b_hi) -> np.ndarray:
    """True where ``[a_lo, a_hi]`` and ``[b_lo, b_hi]`` share a point, to within :data:`ROUNDOFF`
    (False where any end is NaN).

    Parameters
    ----------
    a_lo, a_hi, b_lo, b_hi : array_like
        Ends of the two intervals (broadcast together).

    Returns
    -------
    numpy.ndarray
        Bool, broadcast shape.
    """
    a_lo, a_hi, b_lo, b_hi = (np.asarray(v, float) for v in (a_lo, a_hi, b_lo, b_hi))
    with np.errstate(invalid="ignore"):
        return (a_lo <= b_hi + _slack(b_hi)) & (b_lo <= a_hi + _slack(a_hi))


def interval_contains(lo, hi, value) -> np.ndarray:
    """True where ``lo ≤ value ≤ hi`` to within :data:`ROUNDOFF` (False where any of them is NaN).

    Parameters
    ----------
    lo, hi : array_like
        Ends of the intervals.
    value : array_like
        Values tested (broadcast with the ends).

    Returns
    -------
    numpy.ndarray
        Bool, broadcast shape.
    """
    lo, hi, value = (np.asarray(v, float) for v in (lo, hi, value))
    with np.errstate(invalid="ignore"):
        return (lo - _slack(lo) <= value) & (value <= hi + _slack(hi))


def summary_line(n_paper: int, n_truth: int, n_rows: int) -> str:
    """``"N of M rows agree with the paper; K of M with the truth."``

    Parameters
    ----------
    n_paper : int
        Rows whose compendium interval agrees with the paper (N).
    n_truth : int
        Rows whose compendium interval agrees with the truth (K).
    n_rows : int
        Rows of the table (M).

    Returns
    -------
    str
    """
    return f"{n_paper} of {n_rows} rows agree with the paper; {n_truth} of {n_rows} with the truth."


def row_rng(key: str, seed: int = 0) -> np.random.Generator:
    """A generator seeded by the run's ``seed`` and the row ``key`` (stable across processes:
    a row's interval does not depend on which other rows were computed first).

    Parameters
    ----------
    key : str
        The row's key (its CRC32 enters the seed).
    seed : int
        The run's seed.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])
