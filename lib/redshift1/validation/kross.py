"""Injection–recovery of the KROSS walk (notebooks 01–06) against the mock truth.

Products are matched to ``truth/kmos_galaxies.ecsv`` by ``id`` and to ``truth/kmos_psf.ecsv``
by (pointing, spectrograph). References, per quantity:

* PSF FWHM and ellipticity -- the injected PSF of that spectrograph and pointing, as the
  mock's sub-spaxel sampling renders it (:func:`rendered_psf`);
* z, Hα flux -- the truth's ``z`` and ``flux_halpha_fov`` (the part of the line inside the
  2.8″ IFU after the PSF: what an integrated spectrum of the cube can hold);
* [NII]6583 flux -- ``flux_nii6583`` scaled by the same in-IFU fraction (both lines share the
  light distribution);
* intrinsic r′½ -- ``r_half_kpc`` (resolved galaxies); unresolved galaxies are checked as
  limits: the true r½ should lie below the PSF HWHM they are assigned;
* SFR, Δ(sSFR), 12+log(O/H) -- ``sfr``, ``log_delta_ssfr``, ``oh12``; metallicity upper
  limits are checked to lie above the truth;
* disc-model PA, inclination, v_max (nuisance parameters of the dynamical centre) -- the
  injected disc; v_max only where the walk reports it constrained.

Emergent relations (resolved MS, ΣSFR–Δ(sSFR)) have no injected slope: their reference is
the same regression (:func:`~redshift1.science.regression.fit_line`) on the true quantities
of the same galaxies (:func:`truth_fits`). The Z–Δ(sSFR) slope is injected directly
(``Relations.oh_delta_slope``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..columns import flags, strings, values
from ..science.regression import fit_line
from ..science.resolved import resolved_ms_sample, sigma_delta_sample, stellar_surface_density
from ..science.kross_metallicity import z_delta_sample
from .core import Matched, check_slope, match_ids, match_keys

__all__ = ["KrossInputs", "load_kross", "kross_matched", "kross_limit_checks", "truth_fits", "kross_slope_checks",
           "true_log_sigma_star", "rendered_psf"]

LN10 = np.log(10.0)


def _read(path: Path) -> Table | None:
    return Table.read(path) if Path(path).is_file() else None


@dataclass
class KrossInputs:
    """Products of notebooks 01–06 and the truth, each ``None`` when absent.

    Attributes
    ----------
    truth : `~astropy.table.Table`
        ``truth/kmos_galaxies.ecsv``.
    truth_psf : `~astropy.table.Table` or None
        ``truth/kmos_psf.ecsv`` (injected PSF per pointing and spectrograph).
    relations : dict
        The injected scaling relations (the truth's ``relations`` meta).
    psf, spectra, sizes, sfr, resolved, metallicity : `~astropy.table.Table` or None
        ``kmos_psf``, ``kmos_spectra``, ``kmos_sizes``, ``kross_sfr``, ``kross_resolved`` and
        ``kross_metallicity`` (notebooks 01–06).
    fits : dict
        ``kross_fits.json`` (empty if absent).
    """

    truth: Table
    truth_psf: Table | None
    relations: dict
    psf: Table | None = None
    spectra: Table | None = None
    sizes: Table | None = None
    sfr: Table | None = None
    resolved: Table | None = None
    metallicity: Table | None = None
    fits: dict = field(default_factory=dict)

    def truth_rows(self, table: Table) -> np.ndarray:
        """Index of the truth row of every row of ``table`` (by id; −1 where absent)."""
        return match_ids(table["id"], self.truth["id"])

    def t(self, table: Table, name: str) -> np.ndarray:
        """Truth column ``name`` in the row order of ``table`` (NaN where unmatched)."""
        idx = self.truth_rows(table)
        v = values(self.truth, name)
        return np.where(idx >= 0, v[np.clip(idx, 0, None)], np.nan)


def load_kross(products_dir, truth_dir) -> KrossInputs:
    """Read the KROSS products of a run and the KMOS truth.

    Parameters
    ----------
    products_dir : path-like
        The run's products folder.
    truth_dir : path-like
        The survey's ``truth/`` folder (must hold ``kmos_galaxies.ecsv``).

    Returns
    -------
    KrossInputs
    """
    p, t = Path(products_dir), Path(truth_dir)
    truth = Table.read(t / "kmos_galaxies.ecsv")
    fits_path = p / "kross_fits.json"
    return KrossInputs(
        truth=truth, truth_psf=_read(t / "kmos_psf.ecsv"), relations=dict(truth.meta.get("relations", {})),
        psf=_read(p / "kmos_psf.ecsv"), spectra=_read(p / "kmos_spectra.ecsv"), sizes=_read(p / "kmos_sizes.ecsv"),
        sfr=_read(p / "kross_sfr.ecsv"), resolved=_read(p / "kross_resolved.ecsv"),
        metallicity=_read(p / "kross_metallicity.ecsv"),
        fits=json.loads(fits_path.read_text()) if fits_path.is_file() else {})


def _wrap180(d):
    """Position-angle differences folded into [−90, 90) degrees."""
    return (np.asarray(d, float) + 90.0) % 180.0 - 90.0


def kross_matched(k: KrossInputs) -> list[Matched]:
    """Matched measured/true pairs of every KMOS quantity (see the module docstring).

    Parameters
    ----------
    k : KrossInputs
        The products and truth of the run (:func:`load_kross`).

    Returns
    -------
    list of Matched
        One per quantity and sample whose products are present.
    """
    out: list[Matched] = []
    if k.psf is not None and k.truth_psf is not None:
        idx = match_keys(k.psf, k.truth_psf, ("pointing", "spectrograph"))
        ok = (strings(k.psf, "status") == "ok") & (idx >= 0)
        j = np.clip(idx, 0, None)
        rendered = rendered_psf(k.truth_psf)
        for name, unit in (("fwhm", "arcsec"), ("ellipticity", "")):
            out.append(Matched("KROSS", f"PSF {name}", "PSF stars (status ok)", "difference", unit,
                               rendered[name][j][ok], values(k.psf, name)[ok], values(k.psf, f"{name}_err")[ok],
                               note="truth: the injected PSF as the mock samples it (rendered_psf)"))
    if k.spectra is not None:
        s = k.spectra
        det = flags(s, "halpha_detected") & (k.truth_rows(s) >= 0)
        out.append(Matched("KROSS", "z", "Hα detected", "difference", "", k.t(s, "z")[det], values(s, "z")[det],
                           values(s, "z_err")[det]))
        fov = k.t(s, "flux_halpha_fov")
        out.append(Matched("KROSS", "Hα flux", "Hα detected", "ratio", "erg/s/cm²", fov[det],
                           values(s, "flux_halpha")[det], values(s, "flux_halpha_err")[det], log_axes=True,
                           note="truth: flux_halpha_fov (inside the IFU)"))
        with np.errstate(divide="ignore", invalid="ignore"):
            nii_true = k.t(s, "flux_nii6583") * fov / k.t(s, "flux_halpha")
        out.append(Matched("KROSS", "[NII]6583 flux", "Hα detected (every fit, detected or not)", "ratio",
                           "erg/s/cm²", nii_true[det], values(s, "flux_nii6583")[det],
                           values(s, "flux_nii6583_err")[det], log_axes=True,
                           note="truth: flux_nii6583 x in-IFU fraction of Hα"))
        nd = det & flags(s, "nii_detected")
        out.append(Matched("KROSS", "[NII]6583 flux", "[NII] detected", "ratio", "erg/s/cm²", nii_true[nd],
                           values(s, "flux_nii6583")[nd], values(s, "flux_nii6583_err")[nd], log_axes=True,
                           note="selected on measured S/N: biased high near the threshold"))
    if k.sizes is not None:
        z = k.sizes
        ok = (strings(z, "status") == "ok") & flags(z, "resolved") & (k.truth_rows(z) >= 0)
        out.append(Matched("KROSS", "intrinsic r′½", "resolved", "ratio", "kpc", k.t(z, "r_half_kpc")[ok],
                           values(z, "r_half_corr_kpc")[ok], values(z, "r_half_corr_err_kpc")[ok], log_axes=True))
        disc = flags(z, "disc_ok") & (k.truth_rows(z) >= 0)
        pa_true = k.t(z, "pa")
        pa_meas = pa_true + _wrap180(values(z, "pa") - pa_true)      # the measured PA on the truth's branch
        out.append(Matched("KROSS", "kinematic PA", "disc model converged", "difference", "deg",
                           pa_true[disc], pa_meas[disc], values(z, "pa_err")[disc] if "pa_err" in z.colnames else None,
                           note="measured PA taken modulo 180° onto the branch of the true PA"))
        # like v_max, the inclination is a measurement only where the walk says it is
        # constrained: a point source's axis ratio (q = 1, or the fit's bound) is flagged
        # kinematics_unconstrained, and those put a tail of −30 to −90° on the all-disc row
        icon = disc & _constrained(z, "inclination")
        out.append(Matched("KROSS", "inclination", "inclination constrained (constrained_kinematics)", "difference",
                           "deg", k.t(z, "inclination")[icon], values(z, "inclination")[icon],
                           values(z, "inclination_err")[icon],
                           note=f"{int((disc & ~icon).sum())} converged disc fits whose inclination the walk flags "
                           "unconstrained are left out"))
        # v_max is a measurement only where the walk says the data constrain it (an inclination
        # from the morphology, v_max to 30 %); elsewhere it is flagged kinematics_unconstrained:
        # compact discs have no axis ratio, their face-on guess made the all-disc row ×1.08.
        # Its interval is asymmetric (profiled over r_t): pulls take the side facing the truth
        vcon = disc & _constrained(z, "v_max")
        asym = "v_max_err_lo" in z.colnames
        out.append(Matched("KROSS", "v_max", "v_max constrained (constrained_kinematics)", "ratio", "km/s",
                           k.t(z, "v_max")[vcon], values(z, "v_max")[vcon],
                           values(z, "v_max_err_lo" if asym else "v_max_err")[vcon],
                           log_axes=True, note=f"{int((disc & ~vcon).sum())} converged disc fits whose v_max the "
                           "walk flags unconstrained are left out" + ("; asymmetric errors" if asym else ""),
                           error_hi=values(z, "v_max_err_hi")[vcon] if asym else None))
    if k.sfr is not None:
        s = k.sfr
        det = flags(s, "halpha_detected") & (k.truth_rows(s) >= 0)
        out.append(Matched("KROSS", "SFR(Hα)", "Hα detected", "ratio", "M☉/yr", k.t(s, "sfr")[det],
                           values(s, "sfr")[det], values(s, "sfr_err")[det], log_axes=True))
        out.append(Matched("KROSS", "log Δ(sSFR)", "Hα detected", "difference", "dex", k.t(s, "log_delta_ssfr")[det],
                           values(s, "log_delta_ssfr")[det], values(s, "log_delta_ssfr_err")[det]))
        out.append(Matched("KROSS", "log M★ (SED catalogue input)", "Hα detected", "difference", "dex",
                           k.t(s, "logmstar")[det], values(s, "logmstar")[det], values(s, "logmstar_err")[det],
                           note="an input of the walk, not measured from pixels"))
    if k.metallicity is not None:
        m = k.metallicity
        det = (strings(m, "nii_class") == "detected") & (k.truth_rows(m) >= 0)
        out.append(Matched("KROSS", "12+log(O/H)", "[NII] detected", "difference", "dex", k.t(m, "oh12")[det],
                           values(m, "oh12")[det], values(m, "oh12_err")[det]))
    if k.resolved is not None:
        r = k.resolved
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        sig_true = np.log10(k.t(r, "sfr") / (2 * np.pi * k.t(r, "r_half_kpc") ** 2))
        out.append(Matched("KROSS", "log ΣSFR", "resolved", "difference", "dex", sig_true[ok],
                           values(r, "log_sigma_sfr")[ok], values(r, "log_sigma_sfr_err")[ok]))
        st = resolved_ms_sample(r) & (k.truth_rows(r) >= 0)
        out.append(Matched("KROSS", "log Σ★", "resolved, with HST", "difference", "dex", true_log_sigma_star(k, r)[st],
                           values(r, "log_sigma_star")[st], values(r, "log_sigma_star_err")[st]))
    return out


def _constrained(table: Table, name: str) -> np.ndarray:
    """Rows whose ``name`` (inclination, pa or v_max) the walk reports as constrained."""
    from ..kmos.galaxy_size import constrained_kinematics

    cols = ("disc_ok", "inclination", "inclination_err", "pa_err", "v_max", "v_max_err")
    if not all(c in table.colnames for c in cols):
        return np.zeros(len(table), bool)
    return np.array([constrained_kinematics({c: row[c] for c in cols})[name] for row in table], bool)


def rendered_psf(truth_psf: Table) -> dict:
    """FWHM and ellipticity of the injected PSFs as the mock's pixels hold them.

    The mock draws a star (and convolves a galaxy) on points 1/``OVERSAMPLE`` of a spaxel
    apart and sums them per spaxel: a comb, which holds (Δ/N)²/12 less variance per axis than
    the spaxel box that real detectors, and :func:`~redshift1.kmos.psf.fit_psf`, integrate
    over. The stars therefore carry a Gaussian narrower than the one listed, by 0.0005-0.0007″
    in FWHM — 3-6× a bright star's error — and so do the galaxies. This is the PSF the walk
    can and should measure, hence the reference.

    Parameters
    ----------
    truth_psf : `~astropy.table.Table`
        ``truth/kmos_psf.ecsv`` (``fwhm`` = geometric-mean FWHM, ``ellipticity`` = 1 − b/a).

    Returns
    -------
    dict
        ``fwhm`` (arcsec) and ``ellipticity`` arrays in the table's row order.
    """
    from ..constants import KMOS_PIXSCALE, SIGMA_TO_FWHM
    from ..mock.kmos import OVERSAMPLE

    fwhm, ell = values(truth_psf, "fwhm"), values(truth_psf, "ellipticity")
    q = 1.0 - ell
    missing = (KMOS_PIXSCALE.to_value("arcsec") / OVERSAMPLE) ** 2 / 12.0
    major = np.sqrt((fwhm / np.sqrt(q) / SIGMA_TO_FWHM) ** 2 - missing) * SIGMA_TO_FWHM
    minor = np.sqrt((fwhm * np.sqrt(q) / SIGMA_TO_FWHM) ** 2 - missing) * SIGMA_TO_FWHM
    return {"fwhm": np.sqrt(major * minor), "ellipticity": 1.0 - minor / major}


def true_log_sigma_star(k: KrossInputs, table: Table) -> np.ndarray:
    """log Σ★ from the true mass, true Hα r½ and the true stellar Sérsic profile.

    Parameters
    ----------
    k : KrossInputs
        The products and truth of the run (:func:`load_kross`).
    table : `~astropy.table.Table`
        A product with an ``id`` column, matched to the truth by id.

    Returns
    -------
    numpy.ndarray
        log10 Σ★ (M☉/kpc², as :func:`~redshift1.science.resolved.stellar_surface_density`)
        per row of ``table``, NaN where unmatched.
    """
    ratio = k.t(table, "r_half_arcsec") / k.t(table, "re_star_arcsec")
    ls, _ = stellar_surface_density(k.t(table, "logmstar"), k.t(table, "r_half_kpc"), ratio, k.t(table, "sersic_n"))
    return ls


def kross_limit_checks(k: KrossInputs) -> list[dict]:
    """Do the limits hold? Unresolved: true r½ ≤ assigned HWHM; [NII] upper limits: 12+log(O/H) ≥ truth.

    Parameters
    ----------
    k : KrossInputs
        The products and truth of the run (:func:`load_kross`).

    Returns
    -------
    list of dict
        One row per kind of limit present: ``survey, quantity, n, fraction_holding, definition``.
    """
    rows = []
    if k.sizes is not None:
        z = k.sizes
        un = (strings(z, "status") == "ok") & ~flags(z, "resolved") & (k.truth_rows(z) >= 0)
        if un.any():
            held = k.t(z, "r_half_arcsec")[un] <= values(z, "r_half_corr_arcsec")[un]
            rows.append({"survey": "KROSS", "quantity": "r′½ upper limit (unresolved)", "n": int(un.sum()),
                         "fraction_holding": float(held.mean()),
                         "definition": "true intrinsic r½ ≤ the limit assigned (the PSF r½ notebook 03 subtracts)"})
    if k.metallicity is not None:
        m = k.metallicity
        ul = (strings(m, "nii_class") == "upper_limit") & (k.truth_rows(m) >= 0)
        if ul.any():
            held = values(m, "oh12")[ul] >= k.t(m, "oh12")[ul]
            rows.append({"survey": "KROSS", "quantity": "12+log(O/H) upper limit", "n": int(ul.sum()),
                         "fraction_holding": float(held.mean()), "definition": "limit ≥ true 12+log(O/H)"})
    return rows


# --------------------------------------------------------------------------- slopes
def truth_fits(k: KrossInputs, nwalkers: int = 32, nsteps: int = 2000, seed: int = 42, min_points: int = 5) -> dict:
    """The resolved MS, ΣSFR–Δ(sSFR) and Z–Δ(sSFR) regressions on the TRUE quantities of the
    galaxies that enter the measured fits (emcee, intrinsic scatter). The resolved MS and Z–Δ
    use true values throughout; ΣSFR–Δ keeps the walk's unresolved galaxies as lower limits at
    their true SFR (a point source's true ΣSFR is not what the walk's fit describes).

    Parameters
    ----------
    k : KrossInputs
        The products and truth of the run (:func:`load_kross`).
    nwalkers, nsteps, seed : int
        emcee settings of :func:`~redshift1.science.regression.fit_line`.
    min_points : int
        Fewer galaxies than this give None instead of a fit.

    Returns
    -------
    dict
        ``{name: (LinearRelationFit or None, ids)}`` for ``resolved_ms``, ``sigma_delta``,
        ``oh_delta`` (only those whose products are present).
    """
    kw = dict(method="emcee", nwalkers=nwalkers, nsteps=nsteps, seed=seed)
    out = {}
    r = k.resolved
    if r is not None:
        have = k.truth_rows(r) >= 0
        log_ssfr_true = np.log10(k.t(r, "sfr") / (2 * np.pi * k.t(r, "r_half_kpc") ** 2))
        m = resolved_ms_sample(r) & have
        out["resolved_ms"] = (fit_line(true_log_sigma_star(k, r)[m], log_ssfr_true[m], **kw)
                              if m.sum() >= min_points else None, np.asarray(r["id"])[m])
        # the same censored sample as the walk's fit: the resolved at their true ΣSFR; each
        # unresolved galaxy stays the lower limit the walk drew (its r½ limit), moved to its true
        # SFR. Its true ΣSFR is not a reference: a nuclear (point-like) Hα region has a ΣSFR
        # hundreds of times the limit, which no seeing-limited measurement can see (with them as
        # values the truth slope of a paper-preset run was −0.23 against the walk's +0.32)
        m = sigma_delta_sample(r, include_limits=True) & have
        cens = values(r, "censored").astype(int) if "censored" in r.colnames else np.zeros(len(r), int)
        with np.errstate(divide="ignore", invalid="ignore"):
            limit_true = values(r, "log_sigma_sfr") + np.log10(k.t(r, "sfr")) - values(r, "log_sfr")
        y = np.where(cens != 0, limit_true, log_ssfr_true)
        out["sigma_delta"] = (fit_line(k.t(r, "log_delta_ssfr")[m], y[m], censored=cens[m], **kw)
                              if m.sum() >= min_points else None, np.asarray(r["id"])[m])
    met = k.metallicity
    if met is not None:
        mass_min, mass_max = k.fits.get("oh_mass_range", [9.5, 10.5])
        m = z_delta_sample(met, mass_min, mass_max, include_limits=True) & (k.truth_rows(met) >= 0)
        out["oh_delta"] = (fit_line(k.t(met, "log_delta_ssfr")[m], k.t(met, "oh12")[m], **kw)
                           if m.sum() >= min_points else None, np.asarray(met["id"])[m])
    return out


def _fit_triplet(fits: dict, prefix: str, name: str):
    v = [fits.get(f"{prefix}_{name}"), fits.get(f"{prefix}_{name}_lo"), fits.get(f"{prefix}_{name}_hi")]
    return tuple(np.nan if x is None else float(x) for x in v)


def kross_slope_checks(k: KrossInputs, tfits: dict) -> list:
    """Recovered KROSS slopes (from ``kross_fits.json``) against the injected relation and the
    truth-sample regressions of :func:`truth_fits`.

    Parameters
    ----------
    k : KrossInputs
        The products and truth of the run (:func:`load_kross`).
    tfits : dict
        :func:`truth_fits` of the same inputs.

    Returns
    -------
    list of SlopeCheck
    """
    checks = []
    labels = {"resolved_ms": "resolved MS slope (log ΣSFR–log Σ★)", "sigma_delta": "ΣSFR–Δ(sSFR) slope",
              "oh_delta": "Z–Δ(sSFR) slope"}
    for key, label in labels.items():
        meas = _fit_triplet(k.fits, key, "slope")
        n = int(k.fits.get(f"{key}_n_points") or 0)
        if key == "oh_delta" and "oh_delta_slope" in k.relations:
            checks.append(check_slope(label, meas, k.relations["oh_delta_slope"], "injected", n_points=n,
                                      note="Relations.oh_delta_slope"))
        injected = key == "oh_delta" and "oh_delta_slope" in k.relations
        fit, ids = tfits.get(key, (None, []))
        if fit is not None:
            checks.append(check_slope(label, meas, fit.slope.median, "truth sample", (fit.slope.lo, fit.slope.hi),
                                      n_points=n, note=f"fit_line on the true values of the same {len(ids)} galaxies",
                                      primary=not injected))
        if key == "resolved_ms":
            for extra in ("intercept", "scatter"):
                if fit is not None:
                    e = getattr(fit, extra)
                    checks.append(check_slope(f"resolved MS {extra}", _fit_triplet(k.fits, key, extra), e.median,
                                              "truth sample", (e.lo, e.hi), n_points=n,
                                              note=f"fit_line on the true values of the same {len(ids)} galaxies"))
    ratio = k.fits.get("mean_halpha_to_stellar_size")
    if ratio is not None and k.resolved is not None:
        r = k.resolved
        sel = (strings(r, "status") == "ok") & flags(r, "has_hst") & np.isfinite(values(r, "r_half_over_re_star"))
        v = values(r, "r_half_over_re_star")[sel]
        if v.size > 1:
            sem = float(np.std(v, ddof=1) / np.sqrt(v.size))
            meas = (float(ratio), float(ratio) - sem, float(ratio) + sem)
            label = "r½(Hα) / r_e,★ (mean)"
            if "halpha_to_stellar_size" in k.relations:
                checks.append(check_slope(label, meas, k.relations["halpha_to_stellar_size"], "injected",
                                          n_points=int(v.size),
                                          note="Relations.halpha_to_stellar_size; interval = standard error of the mean"))
            have = sel & (k.truth_rows(r) >= 0)
            tv = k.t(r, "r_half_arcsec")[have] / k.t(r, "re_star_arcsec")[have]
            if tv.size > 1:
                tsem = float(np.std(tv, ddof=1) / np.sqrt(tv.size))
                checks.append(check_slope(label, meas, float(np.mean(tv)), "truth sample",
                                          (float(np.mean(tv)) - tsem, float(np.mean(tv)) + tsem), n_points=int(v.size),
                                          note=f"mean true r½(Hα)/r_e,★ of the same {tv.size} galaxies",
                                          primary="halpha_to_stellar_size" not in k.relations))
    return checks
