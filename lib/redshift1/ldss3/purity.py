"""How likely is a detected line real, and how likely is a lone blue line [NeIII]? (issue 12, item 7)

P([OII]) from the photo-z windows (ROLES §2.5) says which line a *real* line is, among [OII],
Hβ, [OIII] and Hα. Two things it cannot see are measured here on the survey itself:

* :func:`purity_from_repeats` -- the probability that an adopted line is real, as a function of
  its significance: a logistic curve fitted by maximum likelihood to whether the lines of
  objects observed on several masks were reproduced on the other masks (ROLES §2.4.3;
  ``ldss3_repeats.ecsv``), allowing for reproductions by chance (:func:`chance_reproduction`:
  detections on the other masks at shifted wavelengths). :func:`line_purity` evaluates it.
* :func:`neiii_fraction` -- [NeIII]3869 sits 3.8 % redwards of [OII]: a galaxy at z ≈ 0.82-0.89
  has its [OII] below the filter and its [NeIII] inside, at 7040-7307 Å, where it passes for
  [OII] at z ≈ 0.89-0.96 (the photo-z cannot tell 0.04 in z). The fraction of bright [OII]
  lines whose [NeIII] is also detected is the fraction of lone lines in that range that are
  [NeIII] rather than [OII] (the [OII] population continues across the filter edge).
"""
from __future__ import annotations

import numpy as np
from astropy.table import Table
from scipy.optimize import minimize

from .reliability import LINES

__all__ = ["MIN_PURITY_SCALE", "purity_from_repeats", "purity_summary", "line_mixture", "object_line_repeats", "chance_reproduction", "line_purity", "neiii_fraction", "NEIII_OVER_OII", "neiii_range"]

#: Smallest logistic scale of the purity curve [σ]: √3/π = 0.551, the logistic whose standard
#: deviation is 1, the noise of a measured significance about the true one.
MIN_PURITY_SCALE = float(np.sqrt(3.0) / np.pi)

#: rest-wavelength ratio [NeIII]3869 / [OII]3727
NEIII_OVER_OII = LINES["NeIII_3869"] / LINES["OII_3727"]


def neiii_range(band=(7040.0, 8010.0)):
    """Observed wavelengths where a lone [NeIII] line can pass for [OII]: its [OII] below the band.

    Parameters
    ----------
    band : tuple of float, optional
        The filter's band [Å].

    Returns
    -------
    tuple of float
        (lower, upper) observed wavelength [Å].
    """
    return band[0], band[0] * NEIII_OVER_OII


def chance_reproduction(lines: Table, rep: Table, tol: float = 8.0, offsets=(-120, -90, -60, -30, 30, 60, 90, 120),
                        statuses=("adopted", "below_threshold"), band=(7040.0, 8010.0)) -> float:
    """How often an unreal line would be 'reproduced' by chance.

    For every repeat detection, the fraction of wavelength offsets (inside the band) at which
    each other mask of the object has a detection within ``tol``: the rate of coincidences
    with unrelated lines and noise peaks.

    Parameters
    ----------
    lines : astropy.table.Table
        The line catalogue (``object_id``, ``mask``, ``wavelength``, ``status``).
    rep : astropy.table.Table
        The repeat table of objects observed in several masks.
    tol : float, optional
        Match tolerance [Å].
    offsets : sequence of float, optional
        Trial wavelength offsets [Å].
    statuses : sequence of str, optional
        Line statuses that count as detections.
    band : tuple of float, optional
        The filter's band [Å].

    Returns
    -------
    float
        The chance rate (0 without repeats or lines).
    """
    if rep is None or len(rep) == 0 or lines is None or len(lines) == 0:
        return 0.0
    st = np.isin(np.asarray(lines["status"]), statuses)
    obj = np.asarray(lines["object_id"])[st]
    msk = np.asarray(lines["mask"])[st]
    wav = np.asarray(lines["wavelength"], float)[st]
    masks_of = {}
    for o, m in zip(np.asarray(lines["object_id"]), np.asarray(lines["mask"])):
        masks_of.setdefault(o, set()).add(m)
    hits = trials = 0
    for o, m, w, n_other in zip(np.asarray(rep["object_id"]), np.asarray(rep["mask"]),
                                np.asarray(rep["wavelength"], float), np.asarray(rep["n_other"], int)):
        if n_other < 1:
            continue
        others = [om for om in masks_of.get(o, set()) if om != m]
        for d in offsets:
            if not band[0] <= w + d <= band[1]:
                continue
            trials += 1
            found = sum(bool(np.any((obj == o) & (msk == om) & (np.abs(wav - (w + d)) <= tol))) for om in others)
            hits += found >= n_other
    return float(hits / trials) if trials else 0.0


def object_line_repeats(rep: Table, lines: Table) -> Table:
    """The rows of the repeat table that are their object's line on their mask: its most
    significant adopted line there (the line P([OII]) is about, :func:`redshift1.science.poii.assign_poii`).

    A slit's secondary detections and those below the adoption threshold are more often noise
    than the line an object is known by, so a purity fitted to every repeat row under-rates the
    objects' lines (on the calibrated paper preset: 0.66 at 5 sigma, where 5-6 sigma object lines
    were 93-100 % real, issue 12, item 7).

    Parameters
    ----------
    rep : `~astropy.table.Table`
        :func:`redshift1.ldss3.reliability.repeat_matches` (``mask``, ``object_id``, ``sigma``).
    lines : `~astropy.table.Table`
        The line catalogue (``mask``, ``object_id``, ``sigma``, ``status``).

    Returns
    -------
    `~astropy.table.Table`
        The subset of ``rep``.
    """
    if rep is None or len(rep) == 0 or lines is None or len(lines) == 0:
        return rep
    ad = np.asarray(lines["status"]) == "adopted"
    best: dict = {}
    for m, o, sg in zip(np.asarray(lines["mask"])[ad], np.asarray(lines["object_id"])[ad],
                        np.asarray(lines["sigma"], float)[ad]):
        best[(m, o)] = max(best.get((m, o), -np.inf), sg)
    keep = np.array([np.isclose(best.get((m, o), np.nan), sg, rtol=0, atol=1e-6)
                     for m, o, sg in zip(np.asarray(rep["mask"]), np.asarray(rep["object_id"]),
                                         np.asarray(rep["sigma"], float))], bool)
    return rep[keep]


def purity_from_repeats(rep: Table, chance: float = 0.0, statuses_min_sigma: float = 3.0) -> dict:
    """Purity of the lines against their significance, from repeat observations.

    Logistic ``purity(sigma) = 1 / (1 + exp(-(sigma - sigma0) / scale))`` fitted by maximum
    likelihood to ``reproduced`` against ``sigma``: a real line is reproduced, an unreal one
    only by ``chance`` (:func:`chance_reproduction`), so
    ``P(reproduced) = purity + (1 - purity) chance``.

    Parameters
    ----------
    rep : astropy.table.Table
        Repeat table (``sigma``, ``reproduced``).
    chance : float, optional
        Chance reproduction rate.
    statuses_min_sigma : float, optional
        Only detections at least this significant are fitted.

    Returns
    -------
    dict
        ``{"sigma0", "scale", "chance", "n", "n_reproduced", "status", "purity_lo95"}`` (and, when
        fitted, ``scale_at_floor``: the scale stopped at :data:`MIN_PURITY_SCALE`). ``status`` is
        ``fitted``, or, when there is nothing to fit, ``too_few`` (fewer than 5 lines), ``all_reproduced``
        or ``none_reproduced``; then ``sigma0 = -inf`` (every line counts as real: a fallback, said by
        :func:`purity_summary`). ``purity_lo95`` is the one-sided 95 % lower limit on the purity of the
        fitted lines when all were reproduced (``0.05 ** (1 / n)``), else NaN.
    """
    if rep is None or len(rep) == 0:
        return {"sigma0": -np.inf, "scale": 1.0, "chance": chance, "n": 0, "n_reproduced": 0, "status": "too_few",
                "purity_lo95": np.nan}
    s = np.asarray(rep["sigma"], float)
    r = np.asarray(rep["reproduced"], bool)
    ok = np.isfinite(s) & (s >= statuses_min_sigma)
    s, r = s[ok], r[ok]
    if s.size < 5 or r.all() or not r.any():
        status = "too_few" if s.size < 5 else ("all_reproduced" if r.all() else "none_reproduced")
        return {"sigma0": -np.inf, "scale": 1.0, "chance": chance, "n": int(s.size), "n_reproduced": int(r.sum()),
                "status": status, "purity_lo95": float(0.05 ** (1.0 / s.size)) if status == "all_reproduced"
                else np.nan}

    # A measured significance scatters by 1 about the line's true one, so purity against the
    # measured value cannot rise faster than a step blurred by unit noise: the logistic's scale
    # is at least MIN_PURITY_SCALE. Without the floor, repeats that happen to separate cleanly
    # (all unreproduced below some σ, all reproduced above) drive the maximum-likelihood scale
    # to zero and a 4.5σ line to purity 1e-40.
    def scale_of(t1):
        return MIN_PURITY_SCALE + np.exp(t1)

    def nll(th):
        q = 1.0 / (1.0 + np.exp(-(s - th[0]) / scale_of(th[1])))
        q = np.clip(q + (1 - q) * chance, 1e-9, 1 - 1e-9)
        return -np.sum(np.where(r, np.log(q), np.log(1 - q)))
    th = minimize(nll, [float(np.median(s)), np.log(0.5)], method="Nelder-Mead").x
    scale = float(scale_of(th[1]))
    return {"sigma0": float(th[0]), "scale": scale, "chance": float(chance), "n": int(s.size),
            "n_reproduced": int(r.sum()), "status": "fitted", "purity_lo95": np.nan,
            "scale_at_floor": bool(scale < 1.01 * MIN_PURITY_SCALE)}


def purity_summary(fit: dict) -> str:
    """One sentence on a :func:`purity_from_repeats` result, saying when no curve could be fitted.

    Parameters
    ----------
    fit : dict
        :func:`purity_from_repeats` result (older results without ``status`` are read from ``sigma0``).

    Returns
    -------
    str
        E.g. ``"50 % real at 4.20σ (scale 0.50σ; 40 of 52 objects' lines on repeated slits reproduced)"``
        or, with every line reproduced, the lower limit on the purity and that every line counts as real.
    """
    n, k = int(fit.get("n", 0)), int(fit.get("n_reproduced", 0))
    status = fit.get("status") or ("fitted" if np.isfinite(fit.get("sigma0", -np.inf)) else "too_few")
    counts = f"{k} of {n} objects' lines on repeated slits reproduced"
    if status == "fitted":
        floor = (f"; the scale sits at its floor of {MIN_PURITY_SCALE:.2f}σ, the unit noise of a significance: "
                 "the repeats alone would make purity a step") if fit.get("scale_at_floor") else ""
        return f"50 % real at {fit['sigma0']:.2f}σ (scale {fit['scale']:.2f}σ; {counts}{floor})"
    if status == "all_reproduced":
        return (f"no purity curve fitted: all {counts} (purity ≥ {fit.get('purity_lo95', np.nan):.2f} at 95 %); "
                "every line counts as real")
    if status == "none_reproduced":
        return f"no purity curve fitted: none of {n} objects' lines on repeated slits reproduced; every line counts as real"
    return f"no purity curve fitted: only {n} objects' lines on repeated slits (fewer than 5); every line counts as real"


def line_purity(sigma, fit: dict):
    """Probability that a line of significance ``sigma`` is real (see :func:`purity_from_repeats`).

    Parameters
    ----------
    sigma : array_like
        Significances.
    fit : dict
        :func:`purity_from_repeats` result.

    Returns
    -------
    numpy.ndarray
        Purity of each line (1 where ``sigma0`` is -inf).
    """
    sigma = np.asarray(sigma, float)
    if not np.isfinite(fit.get("sigma0", -np.inf)):
        return np.ones(sigma.shape)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-(sigma - fit["sigma0"]) / fit["scale"]))


def neiii_fraction(lines: Table, min_sigma: float = 12.0, tol: float = 6.0, band=(7040.0, 8010.0)) -> dict:
    """Fraction of bright [OII] lines whose [NeIII] is detected too.

    Among adopted lines (>= ``min_sigma``, taken as [OII]) whose [NeIII] would fall inside the
    band, those with a detection in the same slit (adopted or rejected as a multi-line
    companion) within ``tol`` of it.

    Parameters
    ----------
    lines : astropy.table.Table
        The line catalogue.
    min_sigma : float, optional
        Significance of the lines taken as [OII].
    tol : float, optional
        Match tolerance [Å].
    band : tuple of float, optional
        The filter's band [Å].

    Returns
    -------
    dict
        ``{"fraction", "n", "n_with_neiii"}`` (fraction 0 without lines).
    """
    if lines is None or len(lines) == 0:
        return {"fraction": 0.0, "n": 0, "n_with_neiii": 0}
    st = np.asarray(lines["status"])
    w = np.asarray(lines["wavelength"], float)
    sg = np.asarray(lines["sigma"], float)
    key = np.array([f"{m}/{s}" for m, s in zip(np.asarray(lines["mask"]), np.asarray(lines["slit_id"]))])
    cand = np.flatnonzero((st == "adopted") & (sg >= min_sigma) & (w >= neiii_range(band)[1])
                          & (w * NEIII_OVER_OII <= band[1] - tol))
    comp = np.isin(st, ["adopted", "multiline_rejected"])
    k = sum(bool(np.any(comp & (key == key[i]) & (np.abs(w - w[i] * NEIII_OVER_OII) < tol))) for i in cand)
    return {"fraction": float(k / cand.size) if cand.size else 0.0, "n": int(cand.size), "n_with_neiii": int(k)}


def line_mixture(integrals, widths, weights=None, n_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Fractions of real detected lines that are each of the candidate lines, from the photo-z PDFs.

    Expectation-maximisation of the mixture ``P(line k | PDF) ∝ w_k I_k / Δ_k``, ``I_k`` the PDF's
    integral over line ``k``'s redshift window of width ``Δ_k`` (a line's galaxy spread evenly over
    its window): ROLES' P([OII]) takes ``w_k ∝ Δ_k``; here ``w`` are the fractions that make the
    average posterior of the survey's lines equal to ``w`` (each object weighted by the probability
    that its line is real).

    Parameters
    ----------
    integrals : array_like
        ``(n_obj, n_line)`` window integrals of the objects' PDFs (rows with a zero sum are ignored).
    widths : array_like
        ``(n_line,)`` widths of the windows (redshift).
    weights : array_like, optional
        Per object, how much it counts (e.g. the probability that its line is real); default 1.
    n_iter : int, optional
        Most iterations.
    tol : float, optional
        Convergence on the fractions.

    Returns
    -------
    numpy.ndarray
        ``(n_line,)`` fractions summing to 1 (equal without usable objects).
    """
    integ = np.asarray(integrals, float) / np.asarray(widths, float)[None, :]
    wts = np.ones(len(integ)) if weights is None else np.nan_to_num(np.asarray(weights, float))
    ok = np.all(np.isfinite(integ), axis=1) & (integ.sum(axis=1) > 0) & (wts > 0)
    k = integ.shape[1] if integ.ndim == 2 else 1
    frac = np.full(k, 1.0 / k)
    if not ok.any():
        return frac
    integ, wts = integ[ok], wts[ok]
    for _ in range(n_iter):
        post = integ * frac
        post /= post.sum(axis=1, keepdims=True)
        new = (wts[:, None] * post).sum(axis=0) / wts.sum()
        done = np.max(np.abs(new - frac)) < tol
        frac = new
        if done:
            break
    return frac
