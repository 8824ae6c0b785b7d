"""Shared plumbing of the KROSS science notebooks (04–06): joining products by id
(columns are read with :mod:`redshift1.columns`) and the merged fit summary ``kross_fits.json``
(the paper's numbers live in :mod:`redshift1.validation.paper`).

Every product table of notebooks 04–06 holds one row per target of ``kmos/targets.ecsv``
in the catalogue's order: :func:`align` puts an upstream product in that order and marks
targets it lacks, so no galaxy is ever dropped silently.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..columns import flags, strings, values
from ..errors import DataFormatError
from ..io import write_json

#: Δ(sSFR) bins of KROSS Figs. 3 and 4 (linear Δ = sSFR / sSFR_MS)
DELTA_EDGES = (0.1, 0.5, 1.0, 2.0, 10.0)


def align(ids, table: Table, name: str = "table") -> tuple[Table, np.ndarray]:
    """Rows of ``table`` in the order of ``ids``; targets it lacks get NaN/False/"" rows.

    Parameters
    ----------
    ids : sequence
        Target ids in the wanted order (compared as strings).
    table : `~astropy.table.Table`
        A product with an ``id`` column.
    name : str
        How error messages name the table.

    Returns
    -------
    aligned : `~astropy.table.Table`
        One row per id, units and meta kept; missing targets hold NaN (float), False (bool),
        -1 (integer) or "" (string).
    present : numpy.ndarray
        Bool per id: True where ``table`` had the target.

    Raises
    ------
    DataFormatError
        ``table`` lists an id twice.
    """
    ids = [str(i) for i in ids]
    tids = [str(i) for i in table["id"]]
    if len(set(tids)) != len(tids):
        dup = sorted({i for i in tids if tids.count(i) > 1})[:5]
        raise DataFormatError(f"{name}: duplicate ids {dup}")
    index = {t: k for k, t in enumerate(tids)}
    present = np.array([i in index for i in ids], dtype=bool)
    rows = np.array([index.get(i, 0) for i in ids], dtype=int)
    out = Table(meta=dict(table.meta))
    for cname in table.colnames:
        col = table[cname]
        kind = col.dtype.kind
        if kind == "f":
            data = values(table, cname)[rows] if len(table) else np.full(len(ids), np.nan)
            data = np.where(present, data, np.nan)
        elif kind == "b":
            data = flags(table, cname)[rows] if len(table) else np.zeros(len(ids), bool)
            data = np.where(present, data, False)
        elif kind in "iu":
            data = np.where(present, np.asarray(col)[rows], -1) if len(table) else np.full(len(ids), -1)
        else:
            s = strings(table, cname)[rows] if len(table) else np.full(len(ids), "", dtype=object)
            data = np.array([v if p else "" for v, p in zip(s, present)], dtype=str)
        out[cname] = data
        if getattr(col, "unit", None) is not None:
            out[cname].unit = col.unit
    out["id"] = ids
    return out, present


def update_summary(path, updates: dict) -> Path:
    """Merge ``updates`` into the JSON summary at ``path`` (created if absent), atomically.

    NaN/inf become ``null`` so the file is strict JSON.

    Parameters
    ----------
    path : path-like
        The JSON file (``kross_fits.json``).
    updates : dict
        Keys to add or replace; numpy scalars, arrays and Quantities are converted.

    Returns
    -------
    `~pathlib.Path`
        The file written.
    """
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(_clean(updates))
    return write_json(data, path)


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, u.Quantity):
        return _clean(obj.value)
    return obj


def fit_summary(prefix: str, fit) -> dict:
    """Flat ``{prefix_slope, prefix_slope_lo, prefix_slope_hi, ...}`` of a LinearRelationFit (or Nones).

    Parameters
    ----------
    prefix : str
        Key prefix (the relation's name).
    fit : LinearRelationFit or None
        The fit; None gives None values and ``n_points`` 0.

    Returns
    -------
    dict
        Median, ``_lo`` and ``_hi`` of slope, intercept and scatter, the ``_method`` and the
        ``_n_points``.
    """
    out = {}
    for name in ("slope", "intercept", "scatter"):
        if fit is None:
            out[f"{prefix}_{name}"] = out[f"{prefix}_{name}_lo"] = out[f"{prefix}_{name}_hi"] = None
        else:
            e = getattr(fit, name)
            out[f"{prefix}_{name}"], out[f"{prefix}_{name}_lo"], out[f"{prefix}_{name}_hi"] = e.median, e.lo, e.hi
    out[f"{prefix}_method"] = None if fit is None else fit.method
    out[f"{prefix}_n_points"] = 0 if fit is None else fit.n_points
    return out


def fit_with_error_terms(x, y, x_only_err=None, y_only_err=None, shared=(), censored=None,
                         method: str = "emcee", iterations: int = 2, **kwargs):
    """:func:`~redshift1.science.regression.fit_line` when x and y share error terms.

    KROSS's axes are built from common measurements: ΣSFR and Σ★ both divide by π r′½²,
    ΣSFR and Δ(sSFR) both contain the SFR, N2 and Δ(sSFR) both the Hα flux. Each shared
    term is passed as ``(sigma, ky, kx)``: an error δ ~ N(0, σ²) that moves the point by
    (kx δ, ky δ). With s_x² = Σ x-only² + Σ kx²σ², s_y² = Σ y-only² + Σ ky²σ² and the
    error covariance c = Σ kx ky σ², and the true x drawn from N(μ, τ²) (empirical Bayes,
    :func:`~redshift1.science.regression.true_x_population`),
    the observed y given the observed x is Gaussian with

        mean  a + b x̂ + c (x − μ)/(τ² + s_x²),   x̂ = μ + λ (x − μ),  λ = τ²/(τ² + s_x²)
        var   σ_int² + s_y² + b² λ s_x² − 2 b λ c − c²/(τ² + s_x²).

    The c-term of the mean does not depend on the line, so it is subtracted from y; x̂ is
    passed as an exact x; the variance terms enter as the y error with b from the previous
    fit (least squares first, then the MCMC median, ``iterations`` times). Censored
    points use the same mean and variance. Without shared terms this reduces to
    ``fit_line``'s own calibrated-x model.

    ``method="ols"`` is the papers' least squares instead: raw x and y, limits dropped, the
    scatter the rms residual (measurement errors not subtracted).

    Parameters
    ----------
    x, y : array_like
        Data; for limits ``y`` is the limit value.
    x_only_err, y_only_err : array_like or float, optional
        1σ errors affecting only x or only y (0 when omitted; NaN counts as 0).
    shared : sequence of (sigma, ky, kx)
        Error terms shared by both axes, each array_like or float.
    censored : array_like of int, optional
        0 detection, +1 lower limit on y, -1 upper limit on y.
    method : {"emcee", "ols"}
        As in :func:`~redshift1.science.regression.fit_line`.
    iterations : int
        MCMC refits, each with the y error from the previous fit's slope (at least 1).
    **kwargs
        Passed to :func:`~redshift1.science.regression.fit_line` (``nsteps``, ``seed``, ...).

    Returns
    -------
    LinearRelationFit
        The last fit.
    """
    from .regression import fit_line, true_x_population

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    arr = lambda v: np.zeros(n) if v is None else np.nan_to_num(np.broadcast_to(np.asarray(v, float), (n,)))
    yo, xo = arr(y_only_err), arr(x_only_err)
    terms = [tuple(arr(v) for v in term) for term in shared]
    sx2 = xo ** 2 + sum((kx * sig) ** 2 for sig, ky, kx in terms)
    sy2 = yo ** 2 + sum((ky * sig) ** 2 for sig, ky, kx in terms)
    c = sum(kx * ky * sig ** 2 for sig, ky, kx in terms) if terms else np.zeros(n)
    good = np.isfinite(x) & np.isfinite(y)
    if np.any(sx2[good] > 0):
        mu, tau2 = true_x_population(x[good], sx2[good])
    else:
        mu, tau2 = (x[good].mean() if good.any() else 0.0), 1.0
    lam = tau2 / (tau2 + sx2)
    x_hat = mu + lam * (x - mu)
    y_adj = y - c * (x - mu) / (tau2 + sx2)

    def yerr_for(b):
        return np.sqrt(np.clip(sy2 + b ** 2 * lam * sx2 - 2 * b * lam * c - c ** 2 / (tau2 + sx2), 0, None))

    if method == "ols":           # the papers' least squares: raw x and y, limits dropped, rms scatter
        return fit_line(x, y, censored=censored, method="ols")
    fit = fit_line(x_hat, y_adj, yerr=yerr_for(0.0), censored=censored, method="ols")
    for _ in range(max(iterations, 1)):
        fit = fit_line(x_hat, y_adj, yerr=yerr_for(fit.slope.median), censored=censored, method=method, **kwargs)
    return fit


def read_product(folder, name: str, producer: str) -> Table:
    """Read a product table, or say which notebook writes it.

    Parameters
    ----------
    folder : path-like
        The run's products folder.
    name : str
        File name of the product (e.g. ``kmos_sizes.ecsv``).
    producer : str
        The notebook that writes it, named in the error.

    Returns
    -------
    `~astropy.table.Table`

    Raises
    ------
    MissingInputError
        The file does not exist.
    """
    from ..errors import MissingInputError

    path = Path(folder) / name
    if not path.is_file():
        raise MissingInputError(f"{path}: not found (written by notebook {producer}; run it first)")
    return Table.read(path)
