"""The calibrated P([OII]) of the detected objects (issue 12, item 7): ROLES' P([OII])
(:mod:`redshift1.science.poii`, ROLES §2.5) times the probability, measured on the survey
itself (:mod:`redshift1.ldss3.purity`), that the line is real and is not [NeIII].

* :func:`calibrate_p` -- the calibration, in place on notebook 09's table; a public
  spectroscopic redshift identifies the line itself.
* :func:`oii_line_density` -- the photo-z density of [OII] at each line's wavelength.
* :func:`union_mean` -- the mean probability of the targets to lie in one of the four windows.
* :func:`photoz_outlier_fraction` -- how often a photo-z PDF misses its galaxy's redshift.
"""
from __future__ import annotations

import numpy as np
from astropy.table import Table

from .poii import LINE_GROUPS, LINE_REST, clamp_p, p_class

__all__ = ["calibrate_p", "union_mean", "oii_line_density", "photoz_outlier_fraction"]


def oii_line_density(poii: Table, photometry: dict, pdfs: dict) -> np.ndarray:
    """Per object, the density (per Å) of its line's wavelength if the line is [OII].

    ``p(z = lambda / 3728.48 - 1) / 3728.48`` from its photo-z PDF.

    Parameters
    ----------
    poii : astropy.table.Table
        :func:`~redshift1.science.poii.assign_poii` result (``field``, ``id``, ``wavelength``).
    photometry : dict
        ``{field: photometric catalogue}``.
    pdfs : dict
        ``{field: (zgrid, pdf, ids)}``.

    Returns
    -------
    numpy.ndarray
        Density [1/Å] (NaN without a line or a PDF).
    """
    out = np.full(len(poii), np.nan)
    w = np.asarray(poii["wavelength"], float)
    for field, phot in photometry.items():
        zgrid, pdf, _ = pdfs[field]
        row_of = dict(zip(np.asarray(phot["id"]), np.asarray(phot["pdf_row"], int)))
        for k in np.flatnonzero((np.asarray(poii["field"]) == field) & np.isfinite(w)):
            r = row_of.get(poii["id"][k])
            if r is not None and 0 <= r < np.shape(pdf)[0]:
                out[k] = np.interp(w[k] / LINE_REST["OII"] - 1, zgrid, pdf[r], left=0.0, right=0.0) / LINE_REST["OII"]
    return out


def union_mean(poii: Table) -> float:
    """``<u>``: the mean ``p_union_photoz`` of the ROLES targets with a good slit.

    Parameters
    ----------
    poii : astropy.table.Table
        Every object (:func:`~redshift1.science.poii.assign_poii`): ``p_union_photoz``, ``is_roles_target``, ``n_good_slits``.

    Returns
    -------
    float
        The mean; NaN if no object qualifies.
    """
    u_ = np.asarray(poii["p_union_photoz"], float)
    pop = np.asarray(poii["is_roles_target"], bool) & (np.asarray(poii["n_good_slits"]) > 0) & np.isfinite(u_)
    return float(np.mean(u_[pop])) if pop.any() else np.nan


def calibrate_p(poii: Table, purity_fit: dict, neiii: dict, spec_tol: float = 10.0,
                band=(7040.0, 8010.0), line_density=None, union_outliers: float | None = None,
                line_mixture: bool = False, clamps=(0.1, 0.9), mean_union: float | None = None) -> Table:
    """Calibrated P([OII]) of the detected objects (issue 12, item 7), in place; returns ``poii``.

    ROLES' P (kept as ``p_oii_roles``) assumes the line is real and is one of [OII], Hβ, [OIII]
    or Hα. Here, measured on the survey itself (:mod:`redshift1.ldss3.purity`):

    * ``p_real`` -- the probability that the line is real: ``q`` (from its significance, by the
      repeats), and where ``line_density`` (:func:`oii_line_density`) is given, Bayes with the
      wavelength: ``q B / (q B + 1 - q)``, ``B`` the density of the line's wavelength for a real
      line over that of a noise peak (uniform across the band): the [OII] density divided by
      ROLES' P (clipped at 0.1), standing for the density summed over the four lines -- a line
      where the photo-z puts no line is likely noise. The ROLES step leaves it out by default: on
      the paper preset it took real lines off the PDF peak to P ≈ 0.1-0.5 and made Σ P fall 10 %
      short of the lines truly [OII] (issue 12).
    * with ``union_outliers`` (:func:`photoz_outlier_fraction`), Bayes with where the photo-z puts
      the galaxy: a real line (one of the four) needs the galaxy inside one of their windows, a noise
      peak does not, so ``q`` becomes ``q B / (q B + 1 - q)`` with ``B = u_eff / <u_eff>``,
      ``u_eff = (1 - f) u + f <u>``, ``u`` = ``p_union_photoz`` and ``<u>`` its mean over the ROLES
      targets with a good slit; ``f`` is the fraction of photo-z PDFs that miss their galaxy's
      redshift (a PDF that puts nothing in any window still leaves that chance). On the calibrated
      paper preset, lines of galaxies whose PDF lies beyond every window (z_phot ≈ 2) had ROLES' P
      ≈ 0.67 and were 86 % noise (issue 12, item 7).
    * with ``line_mixture``, ROLES' equal weights of the three window groups (:data:`LINE_GROUPS`)
      become the fractions of real detected lines in each, fitted to the survey's photo-z objects
      (:func:`redshift1.ldss3.purity.line_mixture`; ROLES' clamps ``clamps`` applied after): on the
      paper preset ~90 % of the real lines are [OII], so a PDF split between the [OII] and the
      Hβ/[OIII] windows is more likely [OII] than its integrals say (issue 12, items 6-7).
    * ``p_not_neiii`` -- ``1 -`` the [NeIII] fraction for lone lines at 7040-7307 Å (where a
      [NeIII] line whose [OII] lies below the filter passes for [OII]), 1 elsewhere;
    * a public spectroscopic redshift identifies the line itself: P = 1 when the line lies
      within ``spec_tol`` Å of [OII] at that redshift, else 0 (not merely "z in the window").

    Photo-z objects get ``p_oii = p_oii_roles x p_real x p_not_neiii``; multi-line redshifts
    (two or more lines: real and identified) keep theirs. ``p_class`` follows the new P.

    Parameters
    ----------
    poii : astropy.table.Table
        :func:`~redshift1.science.poii.assign_poii` result, modified in place.
    purity_fit : dict
        :func:`~redshift1.ldss3.purity.purity_from_repeats` result.
    neiii : dict
        :func:`~redshift1.ldss3.purity.neiii_fraction` result.
    spec_tol : float, optional
        Match tolerance of a public spectroscopic redshift [Å].
    band : tuple of float, optional
        The filter's band [Å].
    line_density : array_like, optional
        :func:`oii_line_density` of the objects.
    union_outliers : float, optional
        :func:`photoz_outlier_fraction`'s ``fraction``; None leaves the windows' union out.
    line_mixture : bool, optional
        Weigh the windows by the fitted fractions of the lines (needs the ``p_window_<group>`` columns).
    clamps : tuple of float, optional
        ROLES' clamps, applied to the re-weighted P.
    mean_union : float, optional
        ``<u>`` of ``union_outliers``; None computes it from ``poii`` (the ROLES targets with a good
        slit), which must then hold every object, not only the detected ones.

    Returns
    -------
    astropy.table.Table
        ``poii`` itself.
    """
    from ..ldss3.purity import line_purity, neiii_range
    det = np.asarray(poii["status"]) == "detected"
    src = np.asarray(poii["p_source"])
    w = np.asarray(poii["wavelength"], float)
    p = np.asarray(poii["p_oii"], float).copy()
    poii["p_oii_roles"] = p.copy()
    real = np.where(det, line_purity(np.nan_to_num(np.asarray(poii["sigma"], float)), purity_fit), np.nan)
    if line_density is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            bf = np.asarray(line_density, float) / np.clip(p, 0.1, 1.0) * (band[1] - band[0])
            bf = np.where(np.isfinite(bf), bf, 1.0)
            real = np.where(real < 1, real * bf / (real * bf + 1 - real), real)
    union_info = None
    if union_outliers is not None and "p_union_photoz" in poii.colnames:
        u_ = np.asarray(poii["p_union_photoz"], float)
        mean_u = union_mean(poii) if mean_union is None else float(mean_union)
        if np.isfinite(mean_u) and mean_u > 0:
            f = float(np.clip(union_outliers, 0.0, 1.0))
            bu = np.where(np.isfinite(u_), ((1 - f) * u_ + f * mean_u) / mean_u, 1.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                real = np.where(real < 1, real * bu / (real * bu + 1 - real), real)
        union_info = {"outlier_fraction": float(union_outliers), "mean_union": mean_u}
    mix_info = None
    photo = det & (src == "photoz")
    cols = [f"p_window_{g}" for g in LINE_GROUPS]
    if line_mixture and all(c in poii.colnames for c in cols):
        from ..ldss3.purity import line_mixture as fit_mixture
        integ = np.column_stack([np.asarray(poii[c], float) for c in cols])
        fit = photo & np.all(np.isfinite(integ), axis=1) & (integ.sum(axis=1) > 0) & np.isfinite(real)
        widths = np.array([b - a for a, b in LINE_GROUPS.values()])
        weights = fit_mixture(integ[fit], widths, real[fit])
        with np.errstate(invalid="ignore", divide="ignore"):
            pm = integ[:, 0] * weights[0] / widths[0] / (integ @ (weights / widths))
        p = np.where(photo & np.isfinite(pm), clamp_p(np.nan_to_num(pm), *clamps), p)
        mix_info = {"groups": list(LINE_GROUPS), "fractions": [float(w) for w in weights], "n": int(fit.sum())}
    lo, hi = neiii_range(band)
    with np.errstate(invalid="ignore"):
        not_ne = np.where(det & (w >= lo) & (w < hi), 1.0 - float(neiii.get("fraction", 0.0)), 1.0)
    p[photo] = p[photo] * real[photo] * not_ne[photo]
    spec = det & (src == "zspec_public")
    zsp = np.asarray(poii["z_spec_public"], float)
    with np.errstate(invalid="ignore"):
        p[spec] = (np.abs(w[spec] - LINE_REST["OII"] * (1 + zsp[spec])) <= spec_tol).astype(float)
    poii["p_real"] = real
    poii["p_not_neiii"] = np.where(det, not_ne, np.nan)
    poii["p_oii"] = p
    poii["p_class"] = np.where(np.isfinite(p), p_class(np.nan_to_num(p)), poii["p_class"])
    poii.meta["p_calibration"] = {"purity": purity_fit, "neiii": neiii, "spec_tol_aa": spec_tol, "union": union_info,
                                  "wavelength_likelihood": line_density is not None,
                                  "line_mixture": mix_info,
                                  "description": "p_oii = ROLES P x p_real (repeats, windows' union) x p_not_neiii for photo-z "
                                                 "objects; spec-z objects: the line is [OII] at z_spec or not"}
    return poii


def photoz_outlier_fraction(photometry: dict, pdfs: dict, tail: float = 0.0015) -> dict:
    """How often a photo-z PDF misses its galaxy's redshift, from the secure public redshifts.

    The fraction of galaxies with a public spectroscopic redshift (all fields pooled) at which their
    PDF's cumulative lies below ``tail`` or above ``1 - tail`` (beyond 3 sigma two-sided), less
    the ``2 tail`` a correct PDF puts there.

    Parameters
    ----------
    photometry : dict
        ``{field: photometric catalogue}`` (``z_spec_public``, ``pdf_row``).
    pdfs : dict
        ``{field: (zgrid, pdf, ids)}``.
    tail : float, optional
        One-sided tail probability.

    Returns
    -------
    dict
        ``{"fraction", "n", "n_outside"}``; fraction 0 without public redshifts.
    """
    n = n_out = 0
    for field, phot in photometry.items():
        if "z_spec_public" not in phot.colnames:
            continue
        zgrid, pdf, _ = pdfs[field]
        zs = np.asarray(phot["z_spec_public"], float)
        rows = np.asarray(phot["pdf_row"], int)
        ok = np.isfinite(zs) & (rows >= 0) & (rows < np.shape(pdf)[0])
        if not ok.any():
            continue
        z = np.asarray(zgrid, float)
        cdf = np.cumsum(np.asarray(pdf, float)[rows[ok]] * np.gradient(z), axis=1)
        cdf = cdf / np.where(cdf[:, -1:] > 0, cdf[:, -1:], 1.0)
        c = np.array([np.interp(v, z, cc) for v, cc in zip(zs[ok], cdf)])
        n += int(ok.sum())
        n_out += int(np.sum((c < tail) | (c > 1 - tail)))
    frac = max(n_out / n - 2 * tail, 0.0) if n else 0.0
    return {"fraction": float(frac), "n": n, "n_outside": n_out}
