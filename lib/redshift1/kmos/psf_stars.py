"""The survey's PSF stars (KROSS §2, §3.2): each star measured with :mod:`redshift1.kmos.psf`,
and what later notebooks need of them.

* :func:`measure_psf_stars` — one row per star of ``kmos/psf_stars.ecsv``; a star that
  cannot be measured is kept with ``status`` saying why;
* :func:`psf_per_spectrograph`, :func:`psf_for`, :func:`attach_psf` — the average PSF per
  spectrograph and each galaxy's PSF by (pointing, spectrograph), falling back to the
  spectrograph average when the pointing's star failed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError
from ..progress import progress_bar
from .cube import read_kmos_cube
from .catalogue import PSF_STARS, read_psf_stars
from .psf import Collapsed, PSFFit, collapse_cube, fit_psf, pixel_scale_arcsec
__all__ = ["measure_psf_star", "psf_half_light_radius", "measure_psf_stars", "psf_flags", "psf_per_spectrograph",
           "psf_for", "attach_psf"]

_MEASURED = ("fwhm", "hwhm", "r_half", "fwhm_major", "fwhm_minor", "ellipticity", "pa", "x0", "y0")
_UNITS = {"fwhm": u.arcsec, "hwhm": u.arcsec, "r_half": u.arcsec, "fwhm_major": u.arcsec, "fwhm_minor": u.arcsec,
          "pa": u.deg, "x0": u.pix, "y0": u.pix}


def measure_psf_star(path: str | Path, clip_sigma: float = 3.0, background: bool = False) -> tuple[PSFFit, Collapsed | None]:
    """Read one PSF-star cube, collapse it and fit it; never raises on a bad cube.

    Parameters
    ----------
    path : str or pathlib.Path
        The star's cube.
    clip_sigma : float, optional
        σ-clipping threshold of the collapse over wavelength.
    background : bool, optional
        Fit a constant background with the Gaussian.

    Returns
    -------
    fit : PSFFit
        The fit (``status`` says why when it is not usable).
    collapsed : Collapsed or None
        The collapsed image; None when the cube is unreadable or empty.
    """
    try:
        cube = read_kmos_cube(path)
    except (MissingInputError, DataFormatError) as exc:
        return PSFFit(status=f"unreadable cube: {exc}"), None
    if not cube.valid.any():
        return PSFFit(pixel_scale=pixel_scale_arcsec(cube.pixel_scale), status="no valid voxels"), None
    col = collapse_cube(cube, sigma=clip_sigma)
    fit = fit_psf(col.image, col.noise, cube.pixel_scale, background=background)
    if fit.ok:
        fit.r_half, fit.r_half_err = psf_half_light_radius(col.image - fit.background, col.noise, fit)
    return fit, col


def psf_half_light_radius(image, noise, fit: PSFFit) -> tuple[float, float]:
    """Curve-of-growth half-light radius of a star image and its error, measured as the galaxies'
    sizes are (circular apertures on the fitted centre).

    Parameters
    ----------
    image, noise : numpy.ndarray
        Background-subtracted collapsed star image and its 1σ noise.
    fit : PSFFit
        The star's fit (centre and pixel scale).

    Returns
    -------
    r_half, r_half_err : float
        [arcsec].
    """
    from .sizes import half_light_radius

    sm = half_light_radius(image, noise, (fit.x0, fit.y0))
    return float(sm.r_half * fit.pixel_scale), float(sm.r_half_err * fit.pixel_scale)


def _read_star_list(kmos_dir: Path, stars) -> Table:
    if stars is None:
        stars = kmos_dir / "psf_stars.ecsv"
    if isinstance(stars, (str, Path)):
        p = Path(stars)
        if not p.is_file():
            raise MissingInputError(f"{p}: no PSF-star list (expected kmos/psf_stars.ecsv)")
        return read_psf_stars(p)
    missing = [c for c in PSF_STARS.required if c not in stars.colnames]
    if missing:
        raise DataFormatError(f"PSF-star list lacks columns {missing}")
    return stars


def measure_psf_stars(kmos_dir: str | Path, stars: Table | str | Path | None = None,
                      clip_sigma: float = 3.0, background: bool = False,
                      progress: bool | None = None) -> Table:
    """Measure every PSF star of a KMOS survey.

    Parameters
    ----------
    kmos_dir : path
        The survey's ``kmos/`` folder (cube paths in the list are relative to it).
    stars : Table or path, optional
        The PSF-star list (default ``<kmos_dir>/psf_stars.ecsv``): ``pointing``,
        ``spectrograph``, ``ifu``, ``cube`` and optionally ``origin``.
    clip_sigma : float
        σ-clipping threshold of the wavelength collapse.
    background : bool
        Fit a constant pedestal with the Gaussian.
    progress : bool, optional
        Force the progress bar on/off (default: only on a terminal).

    Returns
    -------
    Table
        One row per star, in the list's order: pointing, spectrograph, ifu, origin, cube,
        fwhm, hwhm, r_half, fwhm_major, fwhm_minor, ellipticity, pa, x0, y0 (each with ``_err``),
        chi2_red, n_channels (median channels kept per spaxel) and ``status`` — ``"ok"``
        or the reason the star could not be measured (such rows are kept, values NaN).
    """
    kmos_dir = Path(kmos_dir)
    stars = _read_star_list(kmos_dir, stars)
    rows = []
    disable = None if progress is None else not progress
    for star in progress_bar(stars, desc="PSF stars", disable=disable):
        fit, col = measure_psf_star(kmos_dir / str(star["cube"]), clip_sigma=clip_sigma, background=background)
        d = fit.as_dict()
        row = {"pointing": str(star["pointing"]), "spectrograph": int(star["spectrograph"]),
               "ifu": int(star["ifu"]),
               "origin": str(star["origin"]) if "origin" in stars.colnames else "",
               "cube": str(star["cube"])}
        if fit.ok or np.isfinite(fit.fwhm):
            for name in _MEASURED:
                row[name], row[f"{name}_err"] = d[name], d[f"{name}_err"]
        else:
            for name in _MEASURED:
                row[name], row[f"{name}_err"] = np.nan, np.nan
        row["chi2_red"] = d["chi2_red"]
        row["n_channels"] = int(np.median(col.n_used)) if col is not None else 0
        row["status"] = fit.status
        rows.append(row)
    names = ["pointing", "spectrograph", "ifu", "origin", "cube"]
    for name in _MEASURED:
        names += [name, f"{name}_err"]
    names += ["chi2_red", "n_channels", "status"]
    if rows:
        t = Table(rows=[[r[n] for n in names] for r in rows], names=names)
    else:
        t = Table(names=names, dtype=[str, int, int, str, str] + [float] * (2 * len(_MEASURED)) + [float, int, str])
    for name, unit in _UNITS.items():
        t[name].unit = t[f"{name}_err"].unit = unit
    width = max([64] + [len(str(v)) for v in t["status"]])
    t["status"] = np.asarray(t["status"]).astype(f"U{width}")   # room to flag a star later
    t["flags"] = psf_flags(t)
    t.meta["description"] = ("KMOS PSF per star: σ-clipped wavelength collapse, 2D elliptical Gaussian fit; "
                             "widths of the optical PSF (spaxel box removed), fwhm = geometric mean of the axes, "
                             "hwhm = fwhm/2, r_half = curve-of-growth half-light radius of the sampled star "
                             "(as the galaxies' sizes are measured), "
                             "ellipticity = 1 - b/a, pa = major axis counter-clockwise from +x "
                             "(pixel axes); errors 1 sigma from the fit covariance; status 'ok' or why not")
    t.meta["clip_sigma"] = float(clip_sigma)
    t.meta["fit_background"] = bool(background)
    return t


def psf_flags(table: Table) -> np.ndarray:
    """The ``flags`` of each star.

    ``not_measured`` (status not ok) or ``psf_fit_at_bound`` (a fit whose covariance is
    undefined, as when a width or the centre sits on its bound).

    Parameters
    ----------
    table : astropy.table.Table
        The PSF-star table (``status`` and the ``*_err`` columns).

    Returns
    -------
    astropy.table.Column
        The flags column (:func:`redshift1.flags.flags_column`).
    """
    from ..flags import flags_column

    rows = []
    for r in table:
        if str(r["status"]) != "ok":
            rows.append(["not_measured"])
        elif not all(np.isfinite(float(r[c])) for c in ("fwhm_err", "ellipticity_err", "x0_err", "y0_err")):
            rows.append(["psf_fit_at_bound"])
        else:
            rows.append([])
    return flags_column(rows)


# --------------------------------------------------------------------------- summaries
def _ok(table: Table) -> Table:
    return table[np.asarray(table["status"]) == "ok"]


def psf_per_spectrograph(table: Table) -> Table:
    """Average PSF of each spectrograph over pointings (KROSS §3.2), from the ``ok`` stars.

    Parameters
    ----------
    table : astropy.table.Table
        The PSF-star table (``spectrograph``, ``status``, widths, ``pa``).

    Returns
    -------
    astropy.table.Table
        spectrograph, n_ok, n_failed and mean / std / min / max of fwhm, hwhm, r_half and
        ellipticity, plus the circular mean of pa (axial, period 180°).
    """
    rows = []
    spec_all = np.asarray(table["spectrograph"])
    good = _ok(table)
    for spec in sorted(set(spec_all.tolist())):
        g = good[np.asarray(good["spectrograph"]) == spec]
        row = {"spectrograph": int(spec), "n_ok": len(g), "n_failed": int((spec_all == spec).sum()) - len(g)}
        for name in ("fwhm", "hwhm", "r_half", "ellipticity"):
            v = np.asarray(g[name], dtype=float) if name in g.colnames else np.full(len(g), np.nan)
            has = v.size > 0
            row[f"{name}_mean"] = float(v.mean()) if has else np.nan
            row[f"{name}_std"] = float(v.std(ddof=1)) if v.size > 1 else np.nan
            row[f"{name}_min"] = float(v.min()) if has else np.nan
            row[f"{name}_max"] = float(v.max()) if has else np.nan
        pa = np.radians(np.asarray(g["pa"], dtype=float) * 2.0)
        row["pa_mean"] = float(np.degrees(np.arctan2(np.sin(pa).mean(), np.cos(pa).mean())) / 2 % 180) if pa.size else np.nan
        rows.append(row)
    names = list(rows[0]) if rows else ["spectrograph", "n_ok", "n_failed"]
    t = Table(rows=[[r[n] for n in names] for r in rows], names=names) if rows else Table(names=names, dtype=[int] * 3)
    for c in t.colnames:
        if c.startswith(("fwhm", "hwhm", "r_half")):
            t[c].unit = u.arcsec
        elif c.startswith("pa"):
            t[c].unit = u.deg
    t.meta["description"] = "KMOS PSF per spectrograph: statistics over the pointings' stars with status ok"
    return t


def psf_for(table: Table, pointing: str, spectrograph: int, per_spectrograph: Table | None = None) -> dict:
    """The PSF that applies to a galaxy in (pointing, spectrograph).

    The pointing's own star if it was measured (``source = "star"``), else the average of
    that spectrograph over all pointings (``source = "spectrograph mean"``); NaN with
    ``source = "none"`` when neither exists.

    Parameters
    ----------
    table : astropy.table.Table
        The PSF-star table.
    pointing : str
        The galaxy's pointing.
    spectrograph : int
        The galaxy's spectrograph (1-3).
    per_spectrograph : astropy.table.Table, optional
        :func:`psf_per_spectrograph` of ``table`` if already computed.

    Returns
    -------
    dict
        ``fwhm, hwhm, r_half`` [arcsec], ``ellipticity``, ``pa`` [deg] and ``source``.
    """
    sel = (np.asarray(table["pointing"]).astype(str) == str(pointing)) & \
          (np.asarray(table["spectrograph"]) == int(spectrograph)) & (np.asarray(table["status"]) == "ok")
    if sel.any():
        r = table[np.flatnonzero(sel)[0]]
        return {"fwhm": float(r["fwhm"]), "hwhm": float(r["hwhm"]), "r_half": _get(r, "r_half"),
                "ellipticity": float(r["ellipticity"]), "pa": float(r["pa"]), "source": "star"}
    per = psf_per_spectrograph(table) if per_spectrograph is None else per_spectrograph
    m = np.asarray(per["spectrograph"]) == int(spectrograph)
    if m.any() and np.isfinite(per["fwhm_mean"][m][0]):
        r = per[np.flatnonzero(m)[0]]
        return {"fwhm": float(r["fwhm_mean"]), "hwhm": float(r["hwhm_mean"]), "r_half": _get(r, "r_half_mean"),
                "ellipticity": float(r["ellipticity_mean"]), "pa": float(r["pa_mean"]), "source": "spectrograph mean"}
    return {"fwhm": np.nan, "hwhm": np.nan, "r_half": np.nan, "ellipticity": np.nan, "pa": np.nan, "source": "none"}


def _get(row, name) -> float:
    """A float column of a row, NaN if the table predates it."""
    return float(row[name]) if name in row.colnames else np.nan


def attach_psf(targets: Table, table: Table) -> Table:
    """Copy of ``targets`` with each row's PSF.

    Adds psf_fwhm, psf_hwhm, psf_r_half, psf_ellipticity, psf_pa, psf_source looked up by each
    row's (pointing, spectrograph) with :func:`psf_for`.

    Parameters
    ----------
    targets : astropy.table.Table
        Target catalogue (``pointing``, ``spectrograph``).
    table : astropy.table.Table
        The PSF-star table.

    Returns
    -------
    astropy.table.Table
        The copy with the six ``psf_*`` columns.
    """
    per = psf_per_spectrograph(table)
    out = targets.copy(copy_data=True)
    found = [psf_for(table, p, s, per) for p, s in zip(out["pointing"], out["spectrograph"])]
    for key, unit in (("fwhm", u.arcsec), ("hwhm", u.arcsec), ("r_half", u.arcsec), ("ellipticity", None),
                      ("pa", u.deg)):
        out[f"psf_{key}"] = np.array([f[key] for f in found], dtype=float)
        if unit is not None:
            out[f"psf_{key}"].unit = unit
    out["psf_source"] = [f["source"] for f in found]
    return out
