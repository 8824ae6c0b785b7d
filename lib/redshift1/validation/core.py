"""The machinery of injection–recovery: matching, bias, pull width, completeness, slope checks.

Everything here works on plain arrays and tables, so it can be tested on synthetic inputs
(``tests/test_validation.py``) and reused for any measured quantity:

* :func:`match_ids` / :func:`match_keys` -- rows of a truth table in the order of a
  product table (by id, or by several key columns);
* :func:`match_lines` -- one-to-one matching of detected to injected emission lines in the
  same slit within a wavelength tolerance;
* :func:`recovery_stats` -- bias (median of measured/true, of measured − true or of
  log10 measured/true), its error, the robust scatter, and the pull
  ``(measured − true) / error``: its median, its width as 1.4826·MAD and as a 3σ-clipped
  standard deviation, and the fraction beyond 3;
* :func:`asymmetric_pulls` -- the same pull for asymmetric (lo/hi) error bars, taking the
  side towards the truth;
* :func:`completeness_curve` / :func:`value_at_fraction` -- recovered fraction in bins of an
  injected quantity with binomial (Wilson) intervals, and where it crosses e.g. 50 %;
* :func:`n_sigma` / :func:`check_slope` -- how many σ a posterior summary lies from a
  reference value (the side of the interval that faces it).
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Iterable, Mapping, Sequence

import numpy as np
from astropy.stats import binom_conf_interval, mad_std, sigma_clipped_stats
from astropy.table import Table

from ..errors import DataFormatError, ParameterError
from ..constants import MEDIAN_ERROR_FACTOR

__all__ = ["robust_sigma", "match_ids", "match_keys", "match_lines", "recovery_stats",
           "recovery_table", "RECOVERY_COLUMNS", "asymmetric_pulls", "error_towards", "completeness_curve",
           "value_at_fraction",
           "n_sigma", "SlopeCheck", "check_slope", "slope_table", "Matched"]

def robust_sigma(x) -> float:
    """Robust σ (``astropy.stats.mad_std``: 1.4826 × the median absolute deviation) of the
    finite values (NaN if none).

    Parameters
    ----------
    x : array_like
        Values; NaN and inf are ignored.

    Returns
    -------
    float
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan
    return float(mad_std(x))


# --------------------------------------------------------------------------- matching
def match_ids(ids, truth_ids) -> np.ndarray:
    """Index into ``truth_ids`` of every entry of ``ids`` (−1 where absent).

    Parameters
    ----------
    ids : sequence
        Ids of the product's rows (compared as strings).
    truth_ids : sequence
        Ids of the truth catalogue.

    Returns
    -------
    numpy.ndarray
        Integer index into ``truth_ids`` per entry of ``ids``, -1 where absent.

    Raises
    ------
    DataFormatError
        ``truth_ids`` repeats an id: a truth catalogue holds every object once.
    """
    truth_ids = [str(t) for t in truth_ids]
    index: dict[str, int] = {}
    for k, t in enumerate(truth_ids):
        if t in index:
            raise DataFormatError(f"truth lists id {t!r} twice")
        index[t] = k
    return np.array([index.get(str(i), -1) for i in ids], dtype=int)


def match_keys(table: Table, truth: Table, keys: Sequence[str]) -> np.ndarray:
    """Like :func:`match_ids` for several key columns (e.g. pointing and spectrograph).

    Parameters
    ----------
    table : `~astropy.table.Table`
        The product.
    truth : `~astropy.table.Table`
        The truth catalogue.
    keys : sequence of str
        Columns present in both whose values together identify an object.

    Returns
    -------
    numpy.ndarray
        Index into ``truth`` per row of ``table``, -1 where absent.
    """
    def key(t, i):
        return "\x1f".join(str(t[k][i]) for k in keys)
    return match_ids([key(table, i) for i in range(len(table))], [key(truth, i) for i in range(len(truth))])


def match_lines(det_keys: Sequence, det_wave, truth_keys: Sequence, truth_wave, tol: float):
    """One-to-one matching of detected to injected lines that share a key (e.g. mask and slit).

    Candidate pairs with the same key and ``|λ_det − λ_true| <= tol`` are taken in order of
    increasing separation; a pair is accepted if neither member is taken yet (so a line split
    into two detections matches once, and the second detection counts as unmatched).

    Parameters
    ----------
    det_keys, truth_keys : sequence
        Key (e.g. ``"mask/slit"``) of every detection and every injected line.
    det_wave, truth_wave : array_like
        Their wavelengths (same unit as ``tol``); detections at NaN never match.
    tol : float
        Largest accepted ``|λ_det − λ_true|`` (> 0).

    Returns
    -------
    truth_of_det : numpy.ndarray
        For every detection the index of its injected line (−1: none, a false positive).
    det_of_truth : numpy.ndarray
        For every injected line its detection (−1: missed).
    """
    if tol <= 0:
        raise ParameterError(f"tol must be positive, not {tol}")
    det_wave = np.asarray(det_wave, float)
    truth_wave = np.asarray(truth_wave, float)
    det_keys = [str(k) for k in det_keys]
    truth_keys = [str(k) for k in truth_keys]
    if len(det_keys) != det_wave.size or len(truth_keys) != truth_wave.size:
        raise ParameterError("keys and wavelengths differ in length")
    by_key: dict[str, list[int]] = {}
    for j, k in enumerate(truth_keys):
        by_key.setdefault(k, []).append(j)
    pairs = []
    for i, k in enumerate(det_keys):
        if not np.isfinite(det_wave[i]):
            continue
        for j in by_key.get(k, ()):
            d = abs(det_wave[i] - truth_wave[j])
            if d <= tol:
                pairs.append((d, i, j))
    pairs.sort()
    truth_of_det = np.full(det_wave.size, -1, int)
    det_of_truth = np.full(truth_wave.size, -1, int)
    for _, i, j in pairs:
        if truth_of_det[i] < 0 and det_of_truth[j] < 0:
            truth_of_det[i] = j
            det_of_truth[j] = i
    return truth_of_det, det_of_truth


# --------------------------------------------------------------------------- bias and pulls
RECOVERY_COLUMNS = ("survey", "quantity", "sample", "kind", "unit", "n", "bias", "bias_err", "scatter",
                    "n_pull", "pull_median", "pull_width", "pull_std", "frac_pull_gt3", "note")

_KINDS = ("difference", "ratio", "log")


def recovery_stats(measured, true, error=None, kind: str = "difference", min_points: int = 3) -> dict:
    """Bias, scatter and pull statistics of ``measured`` against ``true``.

    Parameters
    ----------
    measured, true : array_like
        Matched values (NaN pairs are dropped).
    error : array_like, optional
        1σ errors of ``measured``; pulls use the rows where it is finite and positive.
    kind : {"difference", "ratio", "log"}
        How the bias is expressed: median of measured − true, of measured / true (rows with
        true ≠ 0), or of log10(measured / true) in dex (rows with both > 0). ``scatter`` is
        1.4826·MAD of the same quantity; ``bias_err`` = √(π/2) · scatter / √n (the standard
        error of a median).
    min_points : int
        Fewer usable rows than this give NaN statistics (``n`` is still reported).

    Returns
    -------
    dict
        ``n, bias, bias_err, scatter, n_pull, pull_median, pull_width`` (1.4826·MAD),
        ``pull_std`` (3σ-clipped standard deviation), ``frac_pull_gt3``.
    """
    if kind not in _KINDS:
        raise ParameterError(f"kind must be one of {_KINDS}, not {kind!r}")
    m = np.asarray(measured, float).ravel()
    t = np.asarray(true, float).ravel()
    if m.shape != t.shape:
        raise ParameterError(f"measured and true differ in length ({m.size} vs {t.size})")
    e = np.full(m.shape, np.nan) if error is None else np.broadcast_to(np.asarray(error, float), m.shape)
    good = np.isfinite(m) & np.isfinite(t)
    if kind == "ratio":
        good &= t != 0
    elif kind == "log":
        good &= (t > 0) & (m > 0)
    out = {"n": int(good.sum()), "bias": np.nan, "bias_err": np.nan, "scatter": np.nan, "n_pull": 0,
           "pull_median": np.nan, "pull_width": np.nan, "pull_std": np.nan, "frac_pull_gt3": np.nan}
    if good.sum() >= min_points:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = {"difference": m - t, "ratio": m / t, "log": np.log10(m / t)}[kind][good]
        out["bias"] = float(np.median(r))
        out["scatter"] = robust_sigma(r)
        out["bias_err"] = float(MEDIAN_ERROR_FACTOR * out["scatter"] / np.sqrt(r.size))
    pgood = good & np.isfinite(e) & (e > 0)
    out["n_pull"] = int(pgood.sum())
    if pgood.sum() >= min_points:
        pull = (m[pgood] - t[pgood]) / e[pgood]
        out["pull_median"] = float(np.median(pull))
        out["pull_width"] = robust_sigma(pull)
        _, _, std = sigma_clipped_stats(pull, sigma=3.0, maxiters=10)
        out["pull_std"] = float(std)
        out["frac_pull_gt3"] = float(np.mean(np.abs(pull) > 3))
    return out


@dataclass
class Matched:
    """Matched measured/true values of one quantity (and the 1σ errors of the measurements).

    Attributes
    ----------
    survey : str
        ``"KROSS"`` or ``"ROLES"``.
    quantity : str
        The measured quantity (a row name of the recovery table).
    sample : str
        Which galaxies or lines enter.
    kind : str
        ``"difference"``, ``"ratio"`` or ``"log"`` (see :func:`recovery_stats`).
    unit : str
        Unit of ``true`` and ``measured`` (as text).
    true, measured : numpy.ndarray
        Matched values, 1-D, same length.
    error : numpy.ndarray or None
        1σ errors of ``measured`` (its lower errors where ``error_hi`` is given); None: no pulls.
    log_axes : bool
        Plot on logarithmic axes.
    note : str
        Caveat shown in the recovery table.
    error_hi : numpy.ndarray or None
        Upper 1σ errors of an asymmetric interval; pulls then take the side facing the truth
        (:meth:`pull_error`).
    """

    survey: str
    quantity: str
    sample: str
    kind: str                  # "difference", "ratio" or "log" (see :func:`recovery_stats`)
    unit: str
    true: np.ndarray
    measured: np.ndarray
    error: np.ndarray | None = None
    log_axes: bool = False     # plot on logarithmic axes
    note: str = ""
    error_hi: np.ndarray | None = None

    def __post_init__(self):
        self.true = np.asarray(self.true, float).ravel()
        self.measured = np.asarray(self.measured, float).ravel()
        if self.error is not None:
            self.error = np.asarray(self.error, float).ravel()
        if self.error_hi is not None:
            if self.error is None:
                raise ParameterError(f"{self.quantity}: error_hi without error")
            self.error_hi = np.asarray(self.error_hi, float).ravel()
        if self.true.shape != self.measured.shape:
            raise ParameterError(f"{self.quantity}: true and measured differ in length")

    def pull_error(self) -> np.ndarray | None:
        """Each measurement's 1σ towards its true value: the upper error where the truth lies
        above an asymmetric interval, the lower one elsewhere."""
        if self.error is None or self.error_hi is None:
            return self.error
        return error_towards(self.measured, self.error, self.error_hi, self.true)

    def stats(self, min_points: int = 3) -> dict:
        """One row of the recovery table (:data:`RECOVERY_COLUMNS`)."""
        return {"survey": self.survey, "quantity": self.quantity, "sample": self.sample, "kind": self.kind,
                "unit": self.unit, "note": self.note,
                **recovery_stats(self.measured, self.true, self.pull_error(), self.kind, min_points)}


def recovery_table(rows: Iterable[Mapping]) -> Table:
    """Stack recovery rows (dicts with the keys of :data:`RECOVERY_COLUMNS`) into a table.

    Parameters
    ----------
    rows : iterable of mapping
        Rows as :meth:`Matched.stats` gives them; missing keys become NaN, "" or 0.

    Returns
    -------
    `~astropy.table.Table`
        Columns :data:`RECOVERY_COLUMNS`, with a ``description`` in its meta.
    """
    rows = list(rows)
    data = {c: [r.get(c, np.nan if c not in ("survey", "quantity", "sample", "kind", "unit", "note") else "")
                for r in rows] for c in RECOVERY_COLUMNS}
    t = Table()
    for c in RECOVERY_COLUMNS:
        if c in ("survey", "quantity", "sample", "kind", "unit", "note"):
            t[c] = np.array([str(v) for v in data[c]], dtype=str) if rows else np.zeros(0, dtype=str)
        elif c in ("n", "n_pull"):
            t[c] = np.array([int(v) if np.isfinite(v) else 0 for v in data[c]], dtype=int)
        else:
            t[c] = np.array(data[c], dtype=float)
    t.meta["description"] = ("injection-recovery per measured quantity: bias = median of measured-true "
                             "(kind difference), measured/true (ratio) or log10(measured/true) (log, dex); "
                             "scatter = 1.4826 MAD of the same; pull = (measured-true)/error: median, width "
                             "= 1.4826 MAD, std = 3-sigma-clipped standard deviation, fraction |pull| > 3")
    return t


def error_towards(measured, err_lo, err_hi, true) -> np.ndarray:
    """The side of an asymmetric 1σ error facing the truth.

    Parameters
    ----------
    measured : array_like
        Measured values.
    err_lo, err_hi : array_like
        Lower and upper 1σ errors (positive).
    true : array_like
        True values.

    Returns
    -------
    numpy.ndarray
        ``err_hi`` where the truth lies above the measurement, ``err_lo`` elsewhere.
    """
    return np.where(np.asarray(true, float) > np.asarray(measured, float), err_hi, err_lo)


def asymmetric_pulls(measured, lo, hi, true) -> np.ndarray:
    """Pulls ``(measured − true) / σ`` with σ the side of an asymmetric interval facing the truth.

    ``lo``/``hi`` are the lower and upper 1σ limits (not the errors). Where the truth lies
    above the measurement σ = hi − measured, below it σ = measured − lo; NaN where σ ≤ 0.

    Parameters
    ----------
    measured : array_like
        Measured values.
    lo, hi : array_like
        Lower and upper 1σ limits of the measurements.
    true : array_like
        True values.

    Returns
    -------
    numpy.ndarray
        The pulls, broadcast shape of the inputs.
    """
    m, lo, hi, t = (np.asarray(v, float) for v in (measured, lo, hi, true))
    sig = error_towards(m, m - lo, hi - m, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sig > 0, (m - t) / sig, np.nan)


# --------------------------------------------------------------------------- completeness
def completeness_curve(values, recovered, edges, confidence: float = 0.6827, geometric: bool | None = None) -> Table:
    """Fraction recovered in bins of ``values`` with Wilson binomial intervals.

    Returns a table with ``lo, hi, centre`` (geometric centre if ``geometric``; by default when
    every edge is positive),
    ``n, n_recovered, fraction, fraction_lo, fraction_hi`` (NaN fraction in empty bins).

    Parameters
    ----------
    values : array_like
        The injected quantity of every object (NaN: in no bin).
    recovered : array_like of bool
        Whether each object was recovered.
    edges : array_like
        Increasing bin edges (at least two); the last bin includes its upper edge.
    confidence : float
        Confidence level of the Wilson intervals (default 1σ).
    geometric : bool or None
        Geometric rather than arithmetic bin centres; None: geometric if every edge > 0.

    Returns
    -------
    `~astropy.table.Table`
        One row per bin.
    """
    v = np.asarray(values, float)
    rec = np.asarray(recovered, bool)
    if v.shape != rec.shape:
        raise ParameterError("values and recovered differ in length")
    edges = np.asarray(edges, float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ParameterError("edges must be increasing with at least two entries")
    rows = []
    geometric = bool(np.all(edges > 0)) if geometric is None else geometric
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        last = k == edges.size - 2
        sel = np.isfinite(v) & (v >= a) & ((v <= b) if last else (v < b))
        n, nr = int(sel.sum()), int((sel & rec).sum())
        if n:
            lo, hi = binom_conf_interval(nr, n, confidence_level=confidence, interval="wilson")
            frac = nr / n
            lo, hi = min(lo, frac), max(hi, frac)          # Wilson limits can miss 0 or 1 by rounding
        else:
            lo = hi = frac = np.nan
        rows.append((a, b, np.sqrt(a * b) if geometric else 0.5 * (a + b), n, nr, frac, float(lo), float(hi)))
    return Table(rows=rows, names=("lo", "hi", "centre", "n", "n_recovered", "fraction", "fraction_lo", "fraction_hi"),
                 dtype=(float, float, float, int, int, float, float, float))


def value_at_fraction(curve: Table, fraction: float = 0.5, log: bool = True) -> float:
    """Where the completeness curve first rises through ``fraction`` (interpolated between bin
    centres, in log10 of the value if ``log``); NaN if it never does.

    Parameters
    ----------
    curve : `~astropy.table.Table`
        A :func:`completeness_curve`.
    fraction : float
        The completeness level sought (0.5: 50 %).
    log : bool
        Interpolate in log10 of the value (only positive centres used).

    Returns
    -------
    float
        The value (first bin centre if the curve starts above ``fraction``).
    """
    x = np.asarray(curve["centre"], float)
    f = np.asarray(curve["fraction"], float)
    ok = np.isfinite(f) & np.isfinite(x) & ((x > 0) if log else True)
    x, f = x[ok], f[ok]
    if x.size == 0:
        return np.nan
    xx = np.log10(x) if log else x
    if f[0] >= fraction:
        return float(x[0])
    for k in range(1, f.size):
        if f[k - 1] < fraction <= f[k]:
            t = (fraction - f[k - 1]) / (f[k] - f[k - 1])
            v = xx[k - 1] + t * (xx[k] - xx[k - 1])
            return float(10 ** v if log else v)
    return np.nan


# --------------------------------------------------------------------------- slopes
def n_sigma(median: float, lo: float, hi: float, reference: float) -> float:
    """Distance of ``reference`` from a posterior summary in units of its 1σ interval.

    ``lo``/``hi`` are the 16th/84th percentiles. The side of the interval that faces the
    reference is used: (median − reference) / (median − lo) when the reference lies below
    the median, (median − reference) / (hi − median) when above. Positive: the measurement
    is above the reference.

    Parameters
    ----------
    median, lo, hi : float
        Posterior median and 16th/84th percentiles.
    reference : float
        The value compared with.

    Returns
    -------
    float
        Signed distance in σ; NaN if an input is not finite, ±inf for a zero-width side.
    """
    if not all(np.isfinite(v) for v in (median, lo, hi, reference)):
        return np.nan
    d = median - reference
    sig = (median - lo) if d > 0 else (hi - median)
    if sig <= 0:
        return np.inf if d != 0 else 0.0
    return float(d / sig)


@dataclass
class SlopeCheck:
    """A recovered slope (posterior median and 16/84 percentiles) against a reference value.

    Attributes
    ----------
    name : str
        The relation.
    reference_kind : str
        ``"injected"`` (a Relations parameter) or ``"truth sample"`` (same fit on true values).
    measured, measured_lo, measured_hi : float
        Posterior median and 16th/84th percentiles of the recovered slope.
    reference, reference_lo, reference_hi : float
        The reference slope and its interval (NaN if exact).
    n_points : int
        Galaxies in the fit.
    n_sigma : float
        Distance of the reference in σ (:func:`n_sigma`).
    within_2sigma : bool
        ``|n_sigma|`` within the tolerance (2 by default).
    note : str
        Caveat shown with the check.
    primary : bool
        The designated reference: injected where the relation is injected, else the truth sample.
    """

    name: str
    reference_kind: str       # "injected" (a Relations parameter) or "truth sample" (same fit on true values)
    measured: float
    measured_lo: float
    measured_hi: float
    reference: float
    reference_lo: float = np.nan
    reference_hi: float = np.nan
    n_points: int = 0
    n_sigma: float = np.nan
    within_2sigma: bool = False
    note: str = ""
    primary: bool = True      # the designated reference: injected where the relation is injected, else the truth sample

    def as_dict(self) -> dict:
        return asdict(self)


def check_slope(name: str, measured: Sequence[float], reference: float, reference_kind: str,
                reference_interval: Sequence[float] = (np.nan, np.nan), n_points: int = 0, note: str = "",
                tolerance: float = 2.0, primary: bool = True) -> SlopeCheck:
    """Compare ``measured = (median, lo, hi)`` with ``reference``: σ distance and whether it is
    within ``tolerance`` σ. The reference is treated as exact (for a truth-sample fit, the same
    galaxies enter both, so its sampling noise is already part of the measured interval).

    Parameters
    ----------
    name : str
        The relation.
    measured : sequence of float
        ``(median, lo, hi)`` of the recovered slope (None entries count as NaN).
    reference : float
        The reference slope.
    reference_kind : str
        ``"injected"`` or ``"truth sample"``.
    reference_interval : sequence of float
        ``(lo, hi)`` of the reference, for display only.
    n_points : int
        Galaxies in the fit.
    note : str
        Caveat kept with the check.
    tolerance : float
        Largest ``|n_sigma|`` that passes.
    primary : bool
        Whether this is the designated reference of the relation.

    Returns
    -------
    SlopeCheck
    """
    med, lo, hi = (float(v) if v is not None else np.nan for v in measured)
    ns = n_sigma(med, lo, hi, float(reference) if reference is not None else np.nan)
    return SlopeCheck(name, reference_kind, med, lo, hi, float(reference) if reference is not None else np.nan,
                      float(reference_interval[0]), float(reference_interval[1]), int(n_points), ns,
                      bool(np.isfinite(ns) and abs(ns) <= tolerance), note, bool(primary))


def slope_table(checks: Iterable[SlopeCheck]) -> Table:
    """The slope checks as a table (one row each).

    Parameters
    ----------
    checks : iterable of SlopeCheck

    Returns
    -------
    `~astropy.table.Table`
        The fields of :class:`SlopeCheck` as columns (empty with those columns if no checks).
    """
    checks = list(checks)
    names = ("name", "reference_kind", "measured", "measured_lo", "measured_hi", "reference", "reference_lo",
             "reference_hi", "n_points", "n_sigma", "within_2sigma", "note", "primary")
    dtypes = (str, str, float, float, float, float, float, float, int, float, bool, str, bool)
    if not checks:
        return Table(names=names, dtype=dtypes)
    t = Table(rows=[tuple(c.as_dict()[n] for n in names) for c in checks], names=names, dtype=dtypes)
    t.meta["description"] = ("recovered slopes (posterior median, 16th/84th percentiles) against the injected "
                             "relation or the same regression on the true values of the same galaxies; "
                             "n_sigma uses the side of the measured interval facing the reference; primary = the "
                             "designated reference (injected where the relation is injected, else the truth sample)")
    return t
