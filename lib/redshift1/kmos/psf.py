"""The KMOS point-spread function measured on PSF-star cubes (KROSS §2, §3.2).

KROSS measured the spatial PSF "on the two-dimensional images of the acquisition and
science stars, obtained by averaging (with σ-clipping) all the wavelength channels of the
stars' reduced data cubes, by fitting Gaussian profiles", and averaged it per KMOS
spectrograph because the three spectrographs have their own PSF (§3.2). This module does
exactly that:

* :func:`collapse_cube` — σ-clipped mean of every valid channel of each spaxel;
* :func:`fit_psf` — a 2D elliptical Gaussian fitted to the collapsed image, weighted by
  its noise, integrated over each 0.2″ spaxel as the detector does (:class:`SpaxelGaussian2D`:
  the mean of :data:`SUBSAMPLE`² sub-spaxel samples, whose comb leaves Δ²/(12·N²) of the
  box variance to remove). A Gaussian sampled at spaxel centres minus Δ²/12 is only
  approximately that: its FWHM came out 0.02-0.05 % wide, 2-3× the fit's error on a bright
  star. Widths are reported as FWHM along both axes, their geometric
  mean, HWHM = FWHM/2, ellipticity 1 − b/a and the major-axis position angle
  (degrees counter-clockwise from the +x pixel axis, like ``Gaussian2D.theta``);

The survey's stars (measuring each, the per-spectrograph averages, each galaxy's PSF) are in
:mod:`redshift1.kmos.psf_stars`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, asdict
from typing import NamedTuple

import numpy as np
import astropy.units as u
from astropy.modeling import fitting, models
from astropy.stats import sigma_clip
from astropy.utils.exceptions import AstropyUserWarning

from ..constants import SIGMA_TO_FWHM
from .cube import KMOSCube

__all__ = ["Collapsed", "PSFFit", "SpaxelGaussian2D", "collapse_cube", "fit_psf", "pixel_scale_arcsec"]

#: FWHM of a Gaussian in units of its σ: 2 sqrt(2 ln 2)
#: sub-samples per spaxel side of the spaxel-integrated Gaussian model
SUBSAMPLE = 8
#: the part of the spaxel box (variance 1/12 spaxel²) an N×N comb of samples misses, in spaxel²
BOX_VARIANCE = 1.0 / (12.0 * SUBSAMPLE ** 2)
#: minimum peak signal-to-noise of the collapsed image to attempt a fit
MIN_PEAK_SNR = 5.0



class Collapsed(NamedTuple):
    """A wavelength-collapsed cube.

    Attributes
    ----------
    image : numpy.ndarray
        (ny, nx) σ-clipped mean over the channels.
    noise : numpy.ndarray
        Its 1σ noise.
    n_used : numpy.ndarray
        Channels used per spaxel.
    """

    image: np.ndarray
    noise: np.ndarray
    n_used: np.ndarray


@dataclass
class PSFFit:
    """The elliptical-Gaussian PSF measured on one collapsed star image.

    Widths are of the optical PSF (spaxel box removed). ``*_err`` are 1σ from the fit
    covariance scaled by the reduced χ².

    Attributes
    ----------
    fwhm, fwhm_err : float
        Geometric mean of the axes' FWHM [arcsec].
    hwhm, hwhm_err : float
        ``fwhm / 2`` [arcsec].
    r_half, r_half_err : float
        The star's half-light radius [arcsec] from the same curve of growth as the galaxies'
        (:func:`redshift1.kmos.sizes.half_light_radius`, circular, on the fitted centre): the
        optical HWHM as the spaxel-sampled data show it (about 5% larger at KMOS sampling).
        Sizes subtract this one, so that sampling cancels and a point source measures as
        unresolved.
    fwhm_major, fwhm_major_err, fwhm_minor, fwhm_minor_err : float
        FWHM along the major and the minor axis [arcsec].
    ellipticity, ellipticity_err : float
        1 − b/a.
    pa, pa_err : float
        Major axis [deg] counter-clockwise from +x (pixel axes, [0, 180)).
    x0, x0_err, y0, y0_err : float
        Centre, 0-based spaxel coordinates.
    amplitude, background : float
        Peak and constant background of the model (data units).
    chi2_red : float
        Reduced χ² of the fit.
    pixel_scale : float
        Spaxel size [arcsec].
    status : str
        ``"ok"`` or why the fit is not usable.
    model : astropy.modeling.Model or None
        The fitted model (for :meth:`model_image`).
    model_scale : float
        Factor from the model's to the data's units.
    """

    fwhm: float = np.nan
    fwhm_err: float = np.nan
    hwhm: float = np.nan
    hwhm_err: float = np.nan
    r_half: float = np.nan
    r_half_err: float = np.nan
    fwhm_major: float = np.nan
    fwhm_major_err: float = np.nan
    fwhm_minor: float = np.nan
    fwhm_minor_err: float = np.nan
    ellipticity: float = np.nan
    ellipticity_err: float = np.nan
    pa: float = np.nan
    pa_err: float = np.nan
    x0: float = np.nan
    x0_err: float = np.nan
    y0: float = np.nan
    y0_err: float = np.nan
    amplitude: float = np.nan
    background: float = 0.0
    chi2_red: float = np.nan
    pixel_scale: float = np.nan
    status: str = "not fitted"
    model: object = field(default=None, repr=False, compare=False)
    model_scale: float = field(default=1.0, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def model_image(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The fitted model sampled at spaxel centres (data units), or None if not fitted."""
        if self.model is None:
            return None
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        return self.model(xx, yy) * self.model_scale

    def as_dict(self) -> dict:
        """The numbers (without the astropy model)."""
        d = asdict(self)
        d.pop("model")
        d.pop("model_scale")
        return d


class SpaxelGaussian2D(models.Gaussian2D):
    """An elliptical Gaussian integrated over unit spaxels centred on (x, y).

    The parameters are those of `~astropy.modeling.functional_models.Gaussian2D` (widths in
    spaxels, of the optical PSF); the value at a spaxel centre is the mean of the Gaussian
    over :data:`SUBSAMPLE`² points spread evenly over that spaxel. Derivatives are numerical.

    Parameters
    ----------
    amplitude, x_mean, y_mean, x_stddev, y_stddev, theta : float
        As `~astropy.modeling.functional_models.Gaussian2D`'s (centre and σ's in spaxels,
        θ in radians counter-clockwise from +x).
    """

    fit_deriv = None

    @staticmethod
    def evaluate(x, y, amplitude, x_mean, y_mean, x_stddev, y_stddev, theta):
        """The spaxel-averaged Gaussian at spaxel centres ``x, y``."""
        off = (np.arange(SUBSAMPLE) + 0.5) / SUBSAMPLE - 0.5
        total = 0.0
        for dy in off:
            for dx in off:
                total = total + models.Gaussian2D.evaluate(x + dx, y + dy, amplitude, x_mean, y_mean,
                                                           x_stddev, y_stddev, theta)
        return total / SUBSAMPLE ** 2


# --------------------------------------------------------------------------- collapse
def collapse_cube(cube: KMOSCube | tuple, sigma: float = 3.0, maxiters: int = 5,
                  divide_spectrum: bool = True) -> Collapsed:
    """Average all valid wavelength channels of each spaxel with σ-clipping (KROSS §2).

    With ``divide_spectrum`` the star's own spectrum (the sum of every spaxel, normalised to
    its median; channels where it is not positive are dropped) is divided out first. A star's
    f_λ changes by ~×1.7 across YJ: in the core that spread decides what the clip keeps, in
    the wings the noise does (sky-line channels go), so core and wings averaged different
    channels of a sloped spectrum and the image was no longer the PSF (FWHM −0.07 %, 3× the
    fit's error on a bright star). A per-channel factor shared by every spaxel leaves the
    shape alone, so dividing by a noisy sum is harmless. ``False`` is KROSS's plain clip.

    Parameters
    ----------
    cube : KMOSCube or (data, noise)
        Cube with data and 1σ noise of shape (nλ, ny, nx); NaN marks invalid voxels.
    sigma : float
        Clipping threshold (in standard deviations about the median, along λ).
    maxiters : int
        Clipping iterations.
    divide_spectrum : bool
        Divide every spaxel by the star's summed spectrum before clipping (see above).

    Returns
    -------
    Collapsed
        ``image`` = mean of the surviving channels, ``noise`` = sqrt(Σσ²)/n over the same
        channels, ``n_used`` = number of channels kept; spaxels with none are NaN.
    """
    data, noise = (cube.data, cube.noise) if isinstance(cube, KMOSCube) else cube
    data = np.asarray(data, dtype=float)
    noise = np.asarray(noise, dtype=float)
    valid = np.isfinite(data) & np.isfinite(noise) & (noise > 0)
    if divide_spectrum:
        spec = np.where(valid, data, 0.0).sum(axis=(1, 2))
        pos = spec > 0
        if pos.any():
            shape = np.where(pos, spec / np.median(spec[pos]), np.nan)[:, None, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                data, noise = data / shape, noise / shape
            valid &= pos[:, None, None]
    masked = np.ma.masked_array(data, mask=~valid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        clipped = sigma_clip(masked, sigma=sigma, maxiters=maxiters, axis=0, masked=True)
    keep = ~np.ma.getmaskarray(clipped) & valid
    n = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = np.where(keep, data, 0.0).sum(axis=0) / n
        err = np.sqrt((np.where(keep, noise, 0.0) ** 2).sum(axis=0)) / n
    image = np.where(n > 0, image, np.nan)
    err = np.where(n > 0, err, np.nan)
    return Collapsed(image=image, noise=err, n_used=n)


# --------------------------------------------------------------------------- fit
def pixel_scale_arcsec(pixel_scale) -> float:
    """A spaxel scale in arcsec.

    Parameters
    ----------
    pixel_scale : float or `~astropy.units.Quantity`
        Angular size of a spaxel; a bare number is taken to be in arcsec.

    Returns
    -------
    float
    """
    if isinstance(pixel_scale, u.Quantity):
        return float(pixel_scale.to_value(u.arcsec))
    return float(pixel_scale)


def _moments(image: np.ndarray, yy: np.ndarray, xx: np.ndarray):
    """Centroid and second moments of the positive part of ``image`` (first guesses)."""
    w = np.where(np.isfinite(image) & (image > 0), image, 0.0)
    if w.sum() <= 0:
        ny, nx = image.shape
        return (nx - 1) / 2, (ny - 1) / 2, 1.5, 1.2, 0.3
    # keep the core: the wings of a noisy image bias the moments
    w = np.where(w > 0.1 * w.max(), w, 0.0)
    tot = w.sum()
    x0, y0 = (w * xx).sum() / tot, (w * yy).sum() / tot
    cxx = (w * (xx - x0) ** 2).sum() / tot
    cyy = (w * (yy - y0) ** 2).sum() / tot
    cxy = (w * (xx - x0) * (yy - y0)).sum() / tot
    evals, evecs = np.linalg.eigh(np.array([[cxx, cxy], [cxy, cyy]]))
    sa, sb = np.sqrt(np.clip(evals[::-1], 0.25, None))
    theta = float(np.arctan2(evecs[1, 1], evecs[0, 1]))     # major-axis direction
    # the clipped core underestimates σ; never start round or at θ = 0 (no gradient in θ)
    sa, sb = 1.3 * sa, 1.3 * sb
    if sa < 1.1 * sb:
        sa = 1.1 * sb
    if abs(np.sin(theta)) < 0.05:
        theta += 0.3
    return float(x0), float(y0), float(sa), float(sb), theta


def _derived(sx: float, sy: float, theta: float, pix: float) -> np.ndarray:
    """(fwhm, fwhm_major, fwhm_minor, ellipticity, pa) from fitted pixel-centre σ's."""
    vx, vy = sx ** 2 - BOX_VARIANCE, sy ** 2 - BOX_VARIANCE
    ox, oy = np.sqrt(max(vx, 1e-12)), np.sqrt(max(vy, 1e-12))
    fx, fy = SIGMA_TO_FWHM * ox * pix, SIGMA_TO_FWHM * oy * pix
    major, minor = max(fx, fy), min(fx, fy)
    pa = np.degrees(theta) + (0.0 if fx >= fy else 90.0)
    return np.array([np.sqrt(fx * fy), major, minor, 1.0 - minor / major, pa % 180.0])


def _derived_errors(sx, sy, theta, cov3, pix) -> np.ndarray:
    """Linear propagation of the (σx, σy, θ) covariance through :func:`_derived`."""
    p = np.array([sx, sy, theta])
    base = _derived(sx, sy, theta, pix)
    jac = np.zeros((base.size, 3))
    for i in range(3):
        h = 1e-6 * max(abs(p[i]), 1.0)
        dp = np.zeros(3)
        dp[i] = h
        hi, lo = _derived(*(p + dp), pix), _derived(*(p - dp), pix)
        d = hi - lo
        d[4] = (d[4] + 90.0) % 180.0 - 90.0       # PA wraps at 180°
        jac[:, i] = d / (2 * h)
    var = np.einsum("ij,jk,ik->i", jac, cov3, jac)
    return np.sqrt(np.clip(var, 0, None))


def fit_psf(image: np.ndarray, noise: np.ndarray | None = None, pixel_scale=0.2,
            background: bool = False, n_starts: int = 3) -> PSFFit:
    """Fit a 2D elliptical Gaussian to a collapsed star image.

    Parameters
    ----------
    image : ndarray (ny, nx)
        Collapsed star; NaN spaxels are ignored.
    noise : ndarray (ny, nx), optional
        1σ of each spaxel (weights 1/noise); unweighted when omitted.
    pixel_scale : float or Quantity
        Spaxel size (arcsec if a float).
    background : bool
        Fit a constant pedestal as well (for cubes with imperfect sky subtraction).
    n_starts : int
        Number of starting guesses (rotated by 45° steps); the lowest χ² wins.

    Returns
    -------
    PSFFit
        Never raises on bad data: ``status`` says why the fit is not usable.
    """
    pix = pixel_scale_arcsec(pixel_scale)
    image = np.asarray(image, dtype=float)
    out = PSFFit(pixel_scale=pix)
    if image.ndim != 2:
        out.status = f"image is not 2D (shape {image.shape})"
        return out
    good = np.isfinite(image)
    if noise is not None:
        noise = np.asarray(noise, dtype=float)
        good &= np.isfinite(noise) & (noise > 0)
    n_par = 6 + int(background)
    if good.sum() < 3 * n_par:
        out.status = f"too few valid spaxels ({int(good.sum())})"
        return out
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]].astype(float)
    peak = np.nanmax(np.where(good, image, np.nan))
    if noise is not None:
        snr = np.nanmax(np.where(good, image / noise, np.nan))
        if not snr >= MIN_PEAK_SNR:
            out.status = f"no star detected (peak S/N {snr:.1f} < {MIN_PEAK_SNR:g})"
            return out
    elif not peak > 0:
        out.status = "no positive signal"
        return out

    # work in units of the peak: the optimiser is badly scaled for fluxes ~1e-15
    scale = abs(peak) if peak != 0 else 1.0
    x, y, z = xx[good], yy[good], image[good] / scale
    w = scale / noise[good] if noise is not None else None
    mx, my, sa, sb, th = _moments(np.where(good, image, np.nan), yy, xx)
    ny, nx = image.shape
    best, best_chi2, best_cov, last_error = None, np.inf, None, "fit failed"
    for k in range(max(1, n_starts)):
        g = SpaxelGaussian2D(amplitude=1.0, x_mean=mx, y_mean=my, x_stddev=sa, y_stddev=sb,
                              theta=th + k * np.pi / 4,
                              bounds={"amplitude": (0, None), "x_mean": (-1, nx), "y_mean": (-1, ny),
                                      "x_stddev": (0.1, 3 * max(nx, ny)),
                                      "y_stddev": (0.1, 3 * max(nx, ny))})
        model = g + models.Const2D(0.0) if background else g
        fitter = fitting.TRFLSQFitter(calc_uncertainties=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitted = fitter(model, x, y, z, weights=w, maxiter=2000)
            except Exception as exc:  # a degenerate start; try the next
                last_error = f"fit failed ({type(exc).__name__}: {exc})"
                continue
        resid = (fitted(x, y) - z) * (w if w is not None else 1.0)
        chi2 = float(np.sum(resid ** 2))
        if np.isfinite(chi2) and chi2 < best_chi2:
            best, best_chi2, best_cov = fitted, chi2, fitter.fit_info.get("param_cov")
    if best is None:
        out.status = last_error
        return out

    gauss = best[0] if background else best
    names = list(best.param_names)
    sx, sy = abs(float(gauss.x_stddev.value)), abs(float(gauss.y_stddev.value))
    theta = float(gauss.theta.value)
    out.model, out.model_scale = best, scale
    out.amplitude = float(gauss.amplitude.value) * scale
    out.x0, out.y0 = float(gauss.x_mean.value), float(gauss.y_mean.value)
    out.background = float(best[1].amplitude.value) * scale if background else 0.0
    dof = max(z.size - n_par, 1)
    out.chi2_red = best_chi2 / dof
    fw, fmaj, fmin, ell, pa = _derived(sx, sy, theta, pix)
    out.fwhm, out.fwhm_major, out.fwhm_minor, out.ellipticity, out.pa = fw, fmaj, fmin, ell, pa
    out.hwhm = fw / 2.0

    if best_cov is not None and np.all(np.isfinite(best_cov)):
        # astropy treats the weights as absolute; the noise of a σ-clipped mean is only
        # approximately known (clipping trims the noisiest channels' tails), so scale the
        # covariance by the reduced χ² as curve_fit(absolute_sigma=False) does
        cov = np.asarray(best_cov) * out.chi2_red
        idx = {n: i for i, n in enumerate(names)}
        suffix = "_0" if background else ""
        ix = [idx[f"x_stddev{suffix}"], idx[f"y_stddev{suffix}"], idx[f"theta{suffix}"]]
        errs = _derived_errors(sx, sy, theta, cov[np.ix_(ix, ix)], pix)
        out.fwhm_err, out.fwhm_major_err, out.fwhm_minor_err, out.ellipticity_err, out.pa_err = errs
        out.hwhm_err = out.fwhm_err / 2.0
        out.x0_err = float(np.sqrt(cov[idx[f"x_mean{suffix}"], idx[f"x_mean{suffix}"]]))
        out.y0_err = float(np.sqrt(cov[idx[f"y_mean{suffix}"], idx[f"y_mean{suffix}"]]))

    if min(sx, sy) ** 2 <= BOX_VARIANCE:
        out.status = "narrower than a spaxel (σ² ≤ Δ²/12)"
    elif not (0 <= out.x0 <= nx - 1 and 0 <= out.y0 <= ny - 1):
        out.status = f"centre outside the IFU ({out.x0:.1f}, {out.y0:.1f})"
    elif max(sx, sy) > max(nx, ny):
        out.status = "wider than the IFU"
    else:
        out.status = "ok"
    return out
