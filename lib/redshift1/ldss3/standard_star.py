"""The sensitivity from the flux standard (ROLES §2.5.1).

:func:`standard_sensitivity` reduces the flux standard's N&S frame like the science, and
divides its counts in the same 5-row box by the known spectrum: the sensitivity
``R(lambda)`` [e- s^-1 per erg s^-1 cm^-2] including slit losses. A smooth curve is
interpolated across the telluric O2 A band; the ratio observed/smooth in the band is the
A-band transmission at the star's airmass, scaled to each mask's airmass as
``T^(X / X_star)`` (:meth:`Sensitivity.response_at`). Without a standard the walk runs
uncalibrated (:mod:`redshift1.steps.ldss3_detect`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import astropy.units as u
from astropy.table import Table
from scipy.ndimage import median_filter

from .. import constants as C
from ..errors import DataFormatError
from . import survey_files as lio
from .exposure import off_frame_slits, register_exposure
from .fluxes import profile_fwhm
from .nodshuffle import geometry_from_header
from .reduce import survey_root

__all__ = ["Sensitivity", "standard_sensitivity", "telluric_for_airmass", "A_BAND"]

#: wavelength range (vacuum Å) of the telluric O2 A band treated by the standard-star ratio
A_BAND = (7582.0, 7700.0)


@dataclass
class Sensitivity:
    """Flux calibration from the standard star.

    Attributes
    ----------
    wave : numpy.ndarray
        Vacuum wavelength, Å.
    response : numpy.ndarray
        e-/s per erg/s/cm² as observed (telluric absorption included, at the star's airmass).
    smooth : numpy.ndarray
        The same, interpolated over the telluric A band.
    telluric : numpy.ndarray
        ``response / smooth`` inside the A band, 1 outside.
    airmass : float
        The star's airmass.
    star : str
        The standard's name (``STDNAME``).
    slit_id : int
        The slit the star was observed in.
    mask : str
        The mask it was observed with.
    box_rows : int
        Rows of the extraction box.
    box_fraction : float
        Star counts in the box over those in the whole slit.
    fwhm : float
        The star's FWHM along the slit, arcsec (NaN if not measured).
    box5 : float
        Star counts in the 5-row box over the fitted total of its ``A' - B'`` profile.
    slit_width : float
        Slit width, arcsec.
    pixscale : float
        Arcsec per pixel.
    """

    wave: np.ndarray          # Å, vacuum
    response: np.ndarray      # e-/s per erg/s/cm2 (observed, telluric included, star airmass)
    smooth: np.ndarray        # same, A band interpolated over
    telluric: np.ndarray      # observed / smooth inside the A band, 1 outside
    airmass: float
    star: str
    slit_id: int
    mask: str
    box_rows: int
    box_fraction: float       # star counts in the 5-row box / in the whole slit
    fwhm: float = np.nan      # arcsec, the star's FWHM along the slit
    box5: float = np.nan      # star counts in the 5-row box / fitted total of its A'-B' profile
    slit_width: float = 0.8   # arcsec
    pixscale: float = 0.189   # arcsec / px

    def response_at(self, wave, airmass: float):
        """Sensitivity at ``wave`` for an observation at ``airmass`` (A band scaled as T^(X/X_star))."""
        sm = np.interp(wave, self.wave, self.smooth, left=np.nan, right=np.nan)
        t = telluric_for_airmass(np.interp(wave, self.wave, self.telluric, left=1.0, right=1.0),
                                 self.airmass, airmass)
        return sm * t

    def table(self) -> Table:
        t = Table({"wavelength": self.wave * u.AA,
                   "response": self.response * u.electron / u.s / (u.erg / u.s / u.cm**2),
                   "response_smooth": self.smooth * u.electron / u.s / (u.erg / u.s / u.cm**2),
                   "telluric": self.telluric})
        t.meta.update({"description": "LDSS3 sensitivity from the flux standard (5-row box, slit losses included); "
                                      "telluric = A-band transmission at the star's airmass",
                       "wavelength_frame": "vacuum", "star": self.star, "mask": self.mask,
                       "slit_id": self.slit_id, "airmass": self.airmass, "box_rows": self.box_rows,
                       "box_fraction": self.box_fraction, "fwhm_arcsec": self.fwhm, "box5_fraction": self.box5})
        return t


def telluric_for_airmass(t_star, airmass_star: float, airmass: float):
    """Scale a telluric transmission measured at ``airmass_star`` to ``airmass`` (Beer's law).

    Parameters
    ----------
    t_star : array-like
        Transmission at the star's airmass (clipped to 1e-3...1).
    airmass_star, airmass : float
        The star's airmass and the target one.

    Returns
    -------
    ndarray
        ``t_star ** (airmass / airmass_star)``.
    """
    t = np.clip(np.asarray(t_star, float), 1e-3, 1.0)
    return t ** (float(airmass) / float(airmass_star))


def standard_sensitivity(root, bad_pixels, half_y: int = 2, smooth_px: int = 9) -> Sensitivity:
    """Reduce the flux-standard frame(s) and derive :class:`Sensitivity` (see the module docstring).

    Parameters
    ----------
    root : path-like
        The survey (its ``calib/standard`` folder and the standard's mask design).
    bad_pixels : ndarray of bool
        Bad pixels and charge traps.
    half_y : int
        Half height of the extraction box (rows), as for the galaxies.
    smooth_px : int
        Running-median width of the smooth response (pixels).

    Returns
    -------
    Sensitivity

    Raises
    ------
    MissingInputError
        A file of the standard is absent (the walk then runs uncalibrated).
    DataFormatError
        A file of the standard breaks the data contract.
    """
    root = survey_root(root)
    frames, spectrum = lio.read_standard(root)
    f0 = frames[0]
    mask = str(f0.header["MASKNAME"]).strip()
    slit_id = int(f0.header["STDSLIT"])
    design = lio.read_design(root / "masks" / mask)
    geom = geometry_from_header(f0.header, f0.path)
    design = design[~off_frame_slits(design, geom.shape)]     # off-frame slits hold no light
    sel = np.flatnonzero(np.asarray(design["slit_id"]) == slit_id)
    if sel.size != 1:
        raise DataFormatError(f"{f0.path}: STDSLIT={slit_id} is not a slit of {root / 'masks' / mask / 'design.ecsv'} "
                              f"on the {geom.shape[0]} x {geom.shape[1]} frame")
    i = int(sel[0])
    fwhm = lio.header_number(f0.header, "SPECRES", C.LDSS3_RESOLUTION_FWHM.to_value(u.AA))
    slit_len = lio.slit_length_px(f0.header, design)
    lam_star = np.asarray(u.Quantity(spectrum["wavelength"]).to_value(u.AA)) if spectrum["wavelength"].unit \
        else np.asarray(spectrum["wavelength"], float)
    f_star = np.asarray(spectrum["flux"], float)
    counts, waves = [], []
    box_frac, fwhms, box5 = [], [], []
    for f in frames:
        data = f.data
        if data.shape != np.shape(bad_pixels):
            raise DataFormatError(f"{f.path}: frame shape {data.shape} differs from the bad-pixel mask")
        reg = register_exposure(data, bad_pixels, design, geom.shuffle, fwhm, slit_len)
        d, bad = reg["diff"], reg["bad"]
        s = design[i]
        a_lo, x_lo, x_hi = int(s["a_row_lo"]), int(s["x_lo"]), int(s["x_hi"])
        nrow = geom.shuffle - geom.nod
        A = d[a_lo:a_lo + nrow, x_lo:x_hi]
        B = d[a_lo + geom.nod:a_lo + geom.nod + nrow, x_lo:x_hi]
        E = A - B                                          # A' - B' (both nods, positive)
        Eb = bad[a_lo:a_lo + nrow, x_lo:x_hi] | bad[a_lo + geom.nod:a_lo + geom.nod + nrow, x_lo:x_hi]
        E = np.where(Eb, np.nan, E)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            prof = np.nanmedian(E, axis=1)
        # the rows the science boxes keep (the outermost valid row at each end is dropped)
        rr = np.arange(1, nrow - 1)
        fw_, amp_, mu_ = profile_fwhm(prof[rr], rows=rr, nod=geom.nod, full=True)
        fwhms.append(fw_ * lio.header_number(f.header, "PIXSCALE", C.LDSS3_PIXSCALE.to_value(u.arcsec)))
        r0 = int(np.nanargmax(prof))
        rc = int(np.clip(r0, half_y, nrow - 1 - half_y))
        box5.append(float(np.nansum(prof[rc - half_y:rc + half_y + 1]) / amp_) if amp_ > 0 else np.nan)
        r0 = int(np.clip(r0, half_y, nrow - 1 - half_y))
        rows = slice(r0 - half_y, r0 + half_y + 1)
        # fill bad pixels of the box by interpolation along x (the star is smooth)
        box = E[rows]
        for j in range(box.shape[0]):
            bj = ~np.isfinite(box[j])
            if bj.any() and (~bj).sum() > 2:
                box[j, bj] = np.interp(np.flatnonzero(bj), np.flatnonzero(~bj), box[j, ~bj])
        c = np.nansum(box, axis=0) / 2.0                   # per nod
        tot = np.nansum(np.where(np.isfinite(E), E, 0.0)[1:nrow - 1], axis=0) / 2.0
        box_frac.append(float(np.nanmedian(c[np.isfinite(c) & (tot > 0)] / tot[np.isfinite(c) & (tot > 0)])))
        x = np.arange(x_lo, x_hi, dtype=float)
        lam = float(s["lambda_ref"]) + float(s["dispersion"]) * (x - float(s["x_ref"]) - reg["dx_remainder"][i])
        counts.append(c / float(f.header["NODTIME"]))
        waves.append(lam)
    lam = waves[0]
    rate = np.nanmean(np.stack([np.interp(lam, w, c) for w, c in zip(waves, counts)]), axis=0)
    disp = float(design["dispersion"][i])
    fl = np.interp(lam, lam_star, f_star, left=np.nan, right=np.nan)
    resp = rate / (fl * disp)
    airmass = float(np.mean([float(f.header["AIRMASS"]) for f in frames]))
    # smooth response: running median outside the A band, straight line across it
    ok = np.isfinite(resp)
    sm = resp.copy()
    sm[ok] = median_filter(resp[ok], size=smooth_px, mode="nearest")
    band = (lam >= A_BAND[0]) & (lam <= A_BAND[1])
    side = ok & ~band & (lam > A_BAND[0] - 60) & (lam < A_BAND[1] + 60)
    if side.sum() > 4 and band.any():
        p = np.polyfit(lam[side], sm[side], 2)
        sm[band] = np.polyval(p, lam[band])
    tell = np.ones_like(resp)
    with np.errstate(invalid="ignore", divide="ignore"):
        tell[band] = np.clip(median_filter(np.nan_to_num(resp), size=3)[band] / sm[band], 1e-3, 1.0)
    return Sensitivity(lam, resp, sm, tell, airmass, str(f0.header["STDNAME"]).strip(), slit_id, mask,
                       2 * half_y + 1, float(np.median(box_frac)), float(np.nanmedian(fwhms)),
                       float(np.nanmedian(box5)),
                       lio.header_number(f0.header, "SLITWID", 0.8),
                       lio.header_number(f0.header, "PIXSCALE", C.LDSS3_PIXSCALE.to_value(u.arcsec)))
