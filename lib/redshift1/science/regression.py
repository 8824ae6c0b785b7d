"""Straight-line fits with intrinsic scatter and censored points, and simple statistics.

KROSS fits the resolved main sequence and ΣSFR–Δ(sSFR) and Z–Δ(sSFR) trends with least
squares; some of its points are limits (unresolved galaxies give ΣSFR lower limits,
[NII] non-detections give metallicity upper limits). Least squares that ignore the limits
are biased; here the line is fitted by MCMC (``emcee``) with a likelihood that uses every
point:

* detection: y ~ N(a + b x, s²) with s² = σ_int² + yerr² + b² xerr² (by default x and xerr²
  are replaced by the expected true x and its conditional variance, :func:`calibrate_x`,
  which removes the slope attenuation that x errors cause);
* upper limit on y (``censored = -1``): P(y_true < y) = Φ((y − a − b x)/s)  (``norm.logcdf``);
* lower limit on y (``censored = +1``): P(y_true > y) = 1 − Φ(...)          (``norm.logsf``).

Priors: flat in slope and intercept, flat in σ_int ≥ 0 (or flat in ln σ_int with
``scatter_prior="log"``). Walkers start in a seeded ball around the least-squares
solution; posteriors are summarised by the median and the 16th/84th percentiles.

``fit_line(..., method="ols")`` is ordinary least squares on the detections only
(limits dropped), kept as the "what the naive analysis gives" reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.special import log_ndtr
from astropy.table import Table

from ..errors import ParameterError

__all__ = ["Estimate", "LinearRelationFit", "fit_line", "calibrate_x", "spearman", "binned_means", "DETECTION", "LOWER", "UPPER"]

#: codes of the ``censored`` array
DETECTION, LOWER, UPPER = 0, 1, -1


class Estimate(NamedTuple):
    """A posterior summary: median and the 16th/84th percentiles.

    Attributes
    ----------
    median : float
        50th percentile.
    lo, hi : float
        16th and 84th percentiles (``err_minus``/``err_plus`` are their distances from the median).
    """

    median: float
    lo: float
    hi: float

    @property
    def err_minus(self) -> float:
        return self.median - self.lo

    @property
    def err_plus(self) -> float:
        return self.hi - self.median

    @property
    def err(self) -> float:
        """Half the 68% interval."""
        return 0.5 * (self.hi - self.lo)

    def __str__(self) -> str:
        return f"{self.median:.3g} (+{self.err_plus:.2g} / −{self.err_minus:.2g})"


@dataclass
class LinearRelationFit:
    """The result of :func:`fit_line`: y = intercept + slope · x with intrinsic scatter.

    Attributes
    ----------
    slope, intercept, scatter : Estimate
        Posterior summaries.
    samples : numpy.ndarray
        Columns (slope, intercept, scatter): the flattened post-burn-in chain for ``emcee``,
        or draws from the Gaussian covariance for ``ols``.
    method : str
        ``"emcee"`` or ``"ols"``.
    n_points, n_upper, n_lower : int
        Points fitted, upper and lower limits among them.
    acceptance : float
        Mean acceptance fraction of the chain (NaN for ``ols``).
    autocorr : numpy.ndarray or None
        Autocorrelation times of the chain's parameters.
    """

    slope: Estimate
    intercept: Estimate
    scatter: Estimate
    samples: np.ndarray = field(repr=False)
    method: str = "emcee"
    n_points: int = 0
    n_upper: int = 0
    n_lower: int = 0
    acceptance: float = np.nan
    autocorr: np.ndarray | None = field(default=None, repr=False)

    def interval(self, name: str, level: float = 0.954) -> tuple[float, float]:
        """Central credible interval of ``name`` (slope, intercept or scatter)."""
        col = {"slope": 0, "intercept": 1, "scatter": 2}[name]
        q = 50 * (1 - level)
        lo, hi = np.percentile(self.samples[:, col], [q, 100 - q])
        return float(lo), float(hi)

    def predict(self, x, quantiles=(16, 50, 84)) -> np.ndarray:
        """Percentiles of the mean line a + b x over the posterior, shape (len(quantiles), len(x))."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        lines = self.samples[:, 1, None] + self.samples[:, 0, None] * x[None]
        return np.percentile(lines, quantiles, axis=0)

    def as_dict(self) -> dict:
        d = {"method": self.method, "n_points": self.n_points, "n_upper": self.n_upper, "n_lower": self.n_lower}
        for name in ("slope", "intercept", "scatter"):
            e = getattr(self, name)
            d[name], d[f"{name}_lo"], d[f"{name}_hi"] = e.median, e.lo, e.hi
        return d

    def __str__(self) -> str:
        return (f"{self.method}: slope {self.slope}, intercept {self.intercept}, scatter {self.scatter} "
                f"({self.n_points} points; {self.n_upper} upper, {self.n_lower} lower limits)")


def _summ(v: np.ndarray) -> Estimate:
    lo, med, hi = np.percentile(v, [16, 50, 84])
    return Estimate(float(med), float(lo), float(hi))


def _prepare(x, y, yerr, xerr, censored):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ParameterError(f"x and y differ in length ({x.size} vs {y.size})")
    n = x.size

    def _arr(v, name):
        if v is None:
            return np.zeros(n)
        v = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        v[~np.isfinite(v)] = 0.0
        if np.any(v < 0):
            raise ParameterError(f"{name} has negative values")
        return v

    yerr, xerr = _arr(yerr, "yerr"), _arr(xerr, "xerr")
    cens = np.zeros(n, dtype=int) if censored is None else np.broadcast_to(np.asarray(censored), (n,)).astype(int)
    if not np.isin(cens, (DETECTION, LOWER, UPPER)).all():
        raise ParameterError("censored must hold 0 (detection), +1 (lower limit on y) or -1 (upper limit on y)")
    good = np.isfinite(x) & np.isfinite(y)
    return x[good], y[good], yerr[good], xerr[good], cens[good]


def _ols(x, y, yerr):
    """Weighted (if errors are given) least squares: slope, intercept, their covariance, scatter."""
    if x.size < 3:
        raise ParameterError(f"need at least 3 detections to fit a line (got {x.size})")
    A = np.vstack([x, np.ones_like(x)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    var_tot = resid.var(ddof=2)
    scatter = float(np.sqrt(max(var_tot - np.mean(yerr ** 2), 0.0)))
    cov = var_tot * np.linalg.inv(A.T @ A)
    return coef, cov, scatter


def true_x_population(x, xvar) -> tuple[float, float]:
    """Mean μ and variance τ² of the true x behind observed ``x`` with error variances ``xvar``.

    By maximum likelihood under x_obs ~ N(μ, τ² + xvar). The moment estimate
    τ² = var(x) − mean(xvar) lets one point with a huge error bar (a barely resolved
    galaxy's r′½, say) swallow the whole population's variance and flatten every calibrated
    slope; the likelihood weighs each point by 1/(τ² + xvar) instead.

    Parameters
    ----------
    x : array_like
        Observed values.
    xvar : array_like
        Their error variances.

    Returns
    -------
    mu, tau2 : float
        μ and τ².
    """
    from scipy.optimize import minimize_scalar

    x, xvar = np.asarray(x, float), np.clip(np.asarray(xvar, float), 0, None)
    var = x.var(ddof=1) if x.size > 1 else 1.0
    if not var > 0:
        return float(x.mean()), 0.0

    def profile(log_t2):
        w = 1.0 / (np.exp(log_t2) + xvar)
        mu = (w * x).sum() / w.sum()
        return mu, np.sum(np.log(1.0 / w) + w * (x - mu) ** 2)

    lo, hi = np.log(0.01 * var), np.log(var)
    res = minimize_scalar(lambda t: profile(t)[1], bounds=(lo, hi), method="bounded")
    t2 = float(np.exp(res.x))
    return float(profile(res.x)[0]), t2


def calibrate_x(x, xerr):
    """Expected true x given the observed x, and its variance (regression calibration).

    The true x are taken as drawn from N(μ, τ²), μ and τ² estimated from the data
    (:func:`true_x_population`, empirical Bayes); then x_true | x_obs ~ N(m, v) with
    λ = τ²/(τ² + xerr²), m = μ + λ (x_obs − μ), v = λ xerr². Using m and v in the line's
    likelihood removes the attenuation ("regression dilution") of the slope that x errors
    cause; the plain effective variance (b² xerr²) does not.

    Parameters
    ----------
    x : array_like
        Observed values.
    xerr : array_like
        Their 1σ errors.

    Returns
    -------
    m, v : numpy.ndarray
        Expected true x and its variance (``x`` and zeros when no error is positive).
    """
    x, xerr = np.asarray(x, dtype=float), np.asarray(xerr, dtype=float)
    if not np.any(xerr > 0):
        return x.copy(), np.zeros_like(x)
    mu, tau2 = true_x_population(x, xerr ** 2)
    lam = tau2 / (tau2 + xerr ** 2)
    return mu + lam * (x - mu), lam * xerr ** 2


def _log_prob_factory(x, y, yerr, xvar, cens, scatter_prior, scatter_max):
    """Vectorised log posterior over walkers; ``xvar`` is the variance of the true x."""
    det, up, lo = cens == DETECTION, cens == UPPER, cens == LOWER
    yerr2, xerr2 = yerr ** 2, xvar
    log2pi = np.log(2 * np.pi)

    def log_prob(theta):
        theta = np.atleast_2d(theta)
        b, a, p = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
        sig = np.exp(p) if scatter_prior == "log" else p
        bad = (sig[:, 0] < 0) | (sig[:, 0] > scatter_max) | (p[:, 0] < -20 if scatter_prior == "log" else False)
        var = sig ** 2 + yerr2[None] + b ** 2 * xerr2[None]
        var = np.where(var > 0, var, 1e-300)
        z = (y[None] - a - b * x[None]) / np.sqrt(var)
        lp = np.zeros(theta.shape[0])
        if det.any():
            lp += np.sum(-0.5 * (z[:, det] ** 2 + np.log(var[:, det]) + log2pi), axis=1)
        if up.any():
            lp += np.sum(log_ndtr(z[:, up]), axis=1)       # = norm.logcdf, without its overhead
        if lo.any():
            lp += np.sum(log_ndtr(-z[:, lo]), axis=1)      # = norm.logsf
        lp[bad | ~np.isfinite(lp)] = -np.inf
        return lp

    return log_prob


def fit_line(x, y, yerr=None, xerr=None, censored=None, method: str = "emcee", nwalkers: int = 32,
             nsteps: int = 2000, burn: int | None = None, seed: int | None = 0,
             scatter_prior: str = "uniform", scatter_max: float = 10.0, xerr_model: str = "calibrated",
             progress: bool = False) -> LinearRelationFit:
    """Fit y = intercept + slope·x with intrinsic scatter, using limits properly.

    Parameters
    ----------
    x, y : array_like
        Data (NaN rows are dropped). For limits, ``y`` is the limit value.
    yerr, xerr : array_like or float, optional
        1σ measurement errors (0 when omitted; NaN counts as 0).
    censored : array_like of int, optional
        0 detection, +1 lower limit on y, −1 upper limit on y.
    method : {"emcee", "ols"}
        MCMC with the censored likelihood, or least squares on the detections only.
    nwalkers, nsteps, burn : int
        emcee settings; ``burn`` defaults to ``nsteps // 4``.
    seed : int or None
        Seeds both the initial ball (``np.random.default_rng``) and the sampler's moves.
    scatter_prior : {"uniform", "log"}
        Flat in σ_int ≥ 0 or flat in ln σ_int.
    scatter_max : float
        Upper bound of σ_int (same units as y).
    xerr_model : {"calibrated", "effective"}
        How x errors enter. ``"effective"``: s² = σ_int² + yerr² + b² xerr² at the observed
        x — this widens the likelihood but leaves the slope attenuated by
        τ²/(τ² + xerr²) (τ² the variance of the true x). ``"calibrated"`` (default): the
        same form at the expected true x with its conditional variance
        (:func:`calibrate_x`), which removes that bias for a roughly Gaussian x population.
    progress : bool
        Show emcee's progress bar.

    Returns
    -------
    LinearRelationFit
        Slope, intercept, scatter as medians with 16/84 percentiles, plus samples.
    """
    if method not in ("emcee", "ols"):
        raise ParameterError(f"method must be 'emcee' or 'ols', not {method!r}")
    if xerr_model not in ("calibrated", "effective"):
        raise ParameterError(f"xerr_model must be 'calibrated' or 'effective', not {xerr_model!r}")
    if scatter_prior not in ("uniform", "log"):
        raise ParameterError(f"scatter_prior must be 'uniform' or 'log', not {scatter_prior!r}")
    x, y, yerr, xerr, cens = _prepare(x, y, yerr, xerr, censored)
    det = cens == DETECTION
    counts = dict(n_points=int(x.size), n_upper=int((cens == UPPER).sum()), n_lower=int((cens == LOWER).sum()))
    coef, cov, scat0 = _ols(x[det], y[det], yerr[det])
    rng = np.random.default_rng(seed)

    if method == "ols":
        draws = rng.multivariate_normal(coef, cov, size=4000)
        samples = np.column_stack([draws, np.full(len(draws), scat0)])
        e = np.sqrt(np.diag(cov))
        return LinearRelationFit(slope=Estimate(float(coef[0]), float(coef[0] - e[0]), float(coef[0] + e[0])),
                       intercept=Estimate(float(coef[1]), float(coef[1] - e[1]), float(coef[1] + e[1])),
                       scatter=Estimate(scat0, scat0, scat0), samples=samples, method="ols", **counts)

    import emcee

    s0 = max(scat0, 0.05 * max(np.std(y[det]), 1e-3))
    start = np.array([coef[0], coef[1], np.log(s0) if scatter_prior == "log" else s0])
    width = np.array([max(np.sqrt(cov[0, 0]), 1e-4), max(np.sqrt(cov[1, 1]), 1e-4),
                      0.1 if scatter_prior == "log" else 0.1 * s0])
    p0 = start + width * rng.standard_normal((nwalkers, 3))
    if scatter_prior == "uniform":
        p0[:, 2] = np.abs(p0[:, 2])
    if xerr_model == "calibrated":
        x, xvar = calibrate_x(x, xerr)
    else:
        xvar = xerr ** 2
    log_prob = _log_prob_factory(x, y, yerr, xvar, cens, scatter_prior, scatter_max)
    sampler = emcee.EnsembleSampler(nwalkers, 3, log_prob, vectorize=True)
    # emcee draws its moves from a legacy RandomState: seed it from our generator
    sampler.random_state = np.random.RandomState(int(rng.integers(2 ** 31))).get_state()
    sampler.run_mcmc(p0, nsteps, progress=progress)
    burn = nsteps // 4 if burn is None else burn
    chain = sampler.get_chain(discard=burn, flat=True).copy()
    if scatter_prior == "log":
        chain[:, 2] = np.exp(chain[:, 2])
    try:   # tol=0: report τ without emcee's "chain too short" warning
        tau = sampler.get_autocorr_time(discard=burn, tol=0)
    except Exception:
        tau = None
    return LinearRelationFit(slope=_summ(chain[:, 0]), intercept=_summ(chain[:, 1]), scatter=_summ(chain[:, 2]),
                   samples=chain, method="emcee", acceptance=float(np.mean(sampler.acceptance_fraction)),
                   autocorr=tau, **counts)


class SpearmanResult(NamedTuple):
    """A Spearman rank correlation.

    Attributes
    ----------
    rho : float
        Correlation coefficient.
    p : float
        Two-sided p-value.
    n : int
        Finite pairs used.
    """
    rho: float
    p: float
    n: int


def spearman(x, y) -> SpearmanResult:
    """Spearman rank correlation (``scipy.stats.spearmanr``) over the finite pairs.

    Parameters
    ----------
    x, y : array_like
        The two variables.

    Returns
    -------
    SpearmanResult
        rho, p and n (NaNs with fewer than three pairs).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    good = np.isfinite(x) & np.isfinite(y)
    if good.sum() < 3:
        return SpearmanResult(np.nan, np.nan, int(good.sum()))
    r = stats.spearmanr(x[good], y[good])
    return SpearmanResult(float(r.statistic), float(r.pvalue), int(good.sum()))


def binned_means(x, y, edges) -> Table:
    """Mean of y in bins of x, with the error of the mean and the count.

    Parameters
    ----------
    x, y : array_like
        Binned variable and averaged variable.
    edges : array_like
        Bin edges; bins are [lo, hi), the last one closed.

    Returns
    -------
    astropy.table.Table
        ``x_lo``, ``x_hi``, ``x_mean`` (mean x of the members), ``mean``, ``err``
        (std/√n, NaN for n < 2), ``n``.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    edges = np.asarray(edges, dtype=float)
    good = np.isfinite(x) & np.isfinite(y)
    x, y = x[good], y[good]
    rows = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        last = i == len(edges) - 2
        m = (x >= lo) & ((x <= hi) if last else (x < hi))
        n = int(m.sum())
        mean = float(y[m].mean()) if n else np.nan
        err = float(y[m].std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        rows.append((lo, hi, float(x[m].mean()) if n else np.nan, mean, err, n))
    return Table(rows=rows, names=("x_lo", "x_hi", "x_mean", "mean", "err", "n"),
                 dtype=(float, float, float, float, float, int))
