"""The explorer's science for one set of choices, memoised on its inputs.

Every intermediate table and fit is kept in a small LRU memo keyed on what it depends on
(the choices that reach it, or a content hash of its input columns), so a change of one
control recomputes only what that control touches: e.g. changing the Z–Δ mass range refits
only Z–Δ. The recompute functions themselves live in :mod:`.kross` and :mod:`.roles`.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from astropy.table import MaskedColumn, Table

from . import kross as K
from . import roles as R
from .choices import Choices
from .state import ExploreData

__all__ = ["LiveComputation", "summary_numbers", "table_digest"]


def table_digest(table: Table, columns, extra=()) -> str:
    """A content hash of some columns of a table (and of ``extra``).

    Parameters
    ----------
    table : astropy.table.Table
        The table.
    columns : iterable of str
        The columns that matter.
    extra : object
        Anything else the result depends on (hashed through its ``repr``).

    Returns
    -------
    str
        A hexadecimal digest.
    """
    h = hashlib.blake2b(digest_size=16)
    for c in columns:
        col = table[c]
        arr = col.filled(np.nan if col.dtype.kind == "f" else 0) if isinstance(col, MaskedColumn) else col
        arr = np.asarray(arr)
        if arr.dtype.kind in "OUS":
            h.update("\x1f".join(map(str, arr.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    h.update(repr(extra).encode())
    return h.hexdigest()


class LiveComputation:
    """Every table, fit and number of the explorer for a :class:`Choices`, memoised.

    Parameters
    ----------
    data : ExploreData
        The walk's products and catalogues.
    emcee_kw : dict
        The emcee chain of the live regressions (``nwalkers``, ``nsteps``, ``burn``, ``seed``,
        ``iterations``).
    min_fit_points : int
        Fewer galaxies than this: no fit.
    ms_band_dex : float
        Half-width of the main-sequence band of the summary numbers.
    cache_size : int
        Entries kept in the memo (least recently used dropped first).

    Attributes
    ----------
    cache_hits, cache_misses : int
        Memo statistics.
    """

    def __init__(self, data: ExploreData, emcee_kw: dict, min_fit_points: int = 5, ms_band_dex: float = 0.3,
                 cache_size: int = 64):
        self.data = data
        self.emcee_kw = emcee_kw
        self.min_fit_points = min_fit_points
        self.ms_band_dex = ms_band_dex
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

    def memo(self, key, fn):
        """``fn()``, or the value kept for ``key`` when it was computed before."""
        if key in self._cache:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return self._cache[key]
        self.cache_misses += 1
        value = fn()
        self._cache[key] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def fit(self, name: str, table: Table, method: str, z_mass_range=None):
        """The regression ``name`` (:data:`redshift1.explore.kross.FIT_COLUMNS`) of ``table``."""
        extra = (method, self.min_fit_points, tuple(sorted(self.emcee_kw.items())) if method == "emcee" else (),
                 tuple(z_mass_range) if name == "z_delta" else ())
        key = ("fit", name, table_digest(table, K.FIT_COLUMNS[name], extra))
        return self.memo(key, lambda: K.fit(name, table, method, z_mass_range or (9.5, 10.5),
                                            min_points=self.min_fit_points, **self.emcee_kw))

    def compute(self, ch: Choices) -> dict:
        """Every table, fit and number of the choices ``ch`` (for the halves the survey has)."""
        out = {"choices": ch}
        if self.data.has_kross:
            out.update(self.compute_kross(ch))
        if self.data.has_roles:
            out.update(self.compute_roles(ch))
        return out

    def compute_kross(self, ch: Choices) -> dict:
        """The KROSS half: SFRs, sizes, the resolved and metallicity samples, their fits and numbers."""
        d, out = self.data, {}
        sfr = self.memo(("sfr", ch.snr_halpha_min, ch.ms_prescription),
                        lambda: K.sfr_table(d, ch.snr_halpha_min, ch.ms_prescription))
        sizes = self.memo(("sizes", ch.resolved_factor, ch.psf_correction),
                          lambda: K.sizes_with_criterion(d.sizes, ch.resolved_factor, ch.psf_correction))
        rkey = ("res", ch.snr_halpha_min, ch.ms_prescription, ch.resolved_factor, ch.psf_correction)
        res = self.memo(rkey, lambda: K.resolved_table(d, sfr, sizes))
        met = self.memo(rkey + ("met", ch.snr_nii_min), lambda: K.metallicity_table(d, sfr, res, ch.snr_nii_min))
        out.update(sfr=sfr, sizes=sizes, resolved=res, metallicity=met)
        for name, table in (("resolved_ms", res), ("sigma_delta", res), ("z_delta", met)):
            zr = ch.z_mass_range if name == "z_delta" else None
            out[f"fit_{name}"] = self.fit(name, table, ch.regression, zr)
            out[f"ols_{name}"] = self.fit(name, table, "ols", zr) if ch.regression == "emcee" else None
        out["sigma_delta_stats"] = self.memo(rkey + ("sdstats", ch.delta_edges),
                                             lambda: K.sigma_delta_stats(res, ch.delta_edges))
        out["z_delta_bins"] = self.memo(rkey + ("zbins", ch.snr_nii_min, ch.z_mass_range, ch.delta_edges),
                                        lambda: K.z_delta_bins(met, ch.z_mass_range, ch.delta_edges))
        out["kross"] = self.memo(rkey + ("numbers", ch.snr_nii_min),
                                 lambda: K.kross_numbers(sfr, res, met, self.ms_band_dex))
        return out

    def compute_roles(self, ch: Choices) -> dict:
        """The ROLES half: the detected sample, its luminosity functions and SFR densities."""
        d, out = self.data, {}
        gal0 = self.memo(("gal", ch.detect_sigma), lambda: R.galaxies(d, ch.detect_sigma))
        skey = ("sample", ch.detect_sigma, ch.p_clamps)
        gal = self.memo(skey, lambda: R.sample(gal0, *ch.p_clamps))
        lf, slopes = self.memo(skey + ("lf",), lambda: R.luminosity_functions(gal, d.walk.lf_edges,
                                                                              d.walk.lf_fit_range))
        bins = {**d.walk.mass_bins, "CDFS": ch.cdfs_mass_bins, "FIRES": ch.fires_mass_bins}
        hm = self.memo(("highmass", ch.sfr_estimator), lambda: R.highmass_sfrd(d, ch.sfr_estimator))
        sfrd = self.memo(skey + ("sfrd", ch.cdfs_mass_bins, ch.fires_mass_bins, ch.sfr_estimator),
                         lambda: R.sfr_density(gal, bins, ch.sfr_estimator, hm))
        out.update(galaxies=gal, lf=lf, slopes=slopes, sfrd=sfrd,
                   roles=R.roles_numbers(gal, slopes, sfrd))
        return out


def summary_numbers(results: dict, has_kross: bool) -> dict:
    """The summary numbers of one :meth:`LiveComputation.compute` result, as a flat dict.

    Parameters
    ----------
    results : dict
        From :meth:`LiveComputation.compute`.
    has_kross : bool
        Whether the survey has its KROSS half (else only the ROLES numbers).

    Returns
    -------
    dict
        ``kross_*`` and ``roles_*`` counts, each fit's slope, error and size, Spearman's ρ and p.
    """
    r = results
    out = {**{f"kross_{k}": v for k, v in r.get("kross", {}).items()},
           **{f"roles_{k}": v for k, v in r.get("roles", {}).items()}}
    if not has_kross:
        return out
    for name in ("resolved_ms", "sigma_delta", "z_delta"):
        f = r[f"fit_{name}"]
        out[f"{name}_slope"] = f.slope.median if f is not None else np.nan
        out[f"{name}_slope_err"] = f.slope.err if f is not None else np.nan
        out[f"{name}_n"] = f.n_points if f is not None else 0
    sp = r["sigma_delta_stats"]["spearman"]
    out["spearman_rho"], out["spearman_p"] = sp.rho, sp.p
    return out
