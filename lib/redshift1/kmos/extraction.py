"""Which spaxels the integrated spectrum sums, and the aperture correction back to the IFU.

Summing every valid spaxel of the 2.8″ IFU adds the noise of ~190 spaxels to a line that a
few dozen hold: on a seeing-limited disc the S/N peaks in an aperture of 0.4-0.8″ radius.
The optimal extraction (``extraction="optimal"``) fits the Hα narrow-band map with
PSF-convolved exponential discs (:func:`redshift1.kmos.disc_model.disc_model_trials`),
averages them weighted by their likelihood (the discs the map allows, not only the best
one), and scales a circle's flux (around the PSF-matched light centre) by the model's ratio
of light in the field to light in the circle; the spread of that ratio over the allowed
discs is its error. The *model*, not the noisy map, decides which circle: the one whose
scaled flux has the smallest error (the circle's noise, the ratio's spread and a fixed
fraction of its log for the model's mismatch with a real galaxy), while the line's
significance is judged in the circle where the model's S/N peaks. With the best disc alone,
a faint map's noise moved the disc, the aperture and the correction together (paper preset:
fluxes at S/N < 8 scattered 1.6 times their errors; with the average, 1.24 times); with the
S/N peak as the flux circle, faint extended discs kept a few spaxels and a correction for a
compact disc (fluxes ×0.3-0.7 at S/N 3-5).

The result estimates what the whole-field sum measures (KROSS's integrated
spectrum, ``extraction="paper"``) at a higher S/N; notebook 03's size model then takes it
to the total beyond the field, as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from .disc_model import DiscTrials, convolve_and_bin, disc_frame, disc_model_trials

EXTRACTIONS = ("optimal", "paper")

#: trial disc scale lengths [spaxel] of the extraction's model. Stopping at 0.2 spaxel gave a point
#: source a disc too wide (correction +1.5 %); reaching 0.02 failed the KinMS discs' total-Hα test
#: (median ×1.039 against 3 %); 0.1 (the size model's floor) passes it, point sources within 0.6 %
EXTRACTION_SCALES = np.geomspace(0.1, 12.0, 35)


@dataclass(frozen=True)
class Extraction:
    """The spaxels summed (``mask``) and the factor taking their flux to the field's.

    Attributes
    ----------
    mask : numpy.ndarray
        (ny, nx) bool, the spaxels summed.
    correction : float
        Model light in the field / model light in the mask.
    radius : float
        Aperture radius [spaxel] (inf: the whole field).
    centre : tuple of float
        (x, y) aperture centre, 0-based spaxels.
    description : str
        One sentence saying what was summed (for the notebook and the tables).
    fallback : bool
        True when every valid spaxel was taken because no disc model could be fitted.
    correction_err : float
        1σ of ln(correction) over the discs the map allows (0 for the whole field).
    detection_mask : numpy.ndarray or None
        (ny, nx) bool, the circle where the model's flux over the map's noise peaks: the
        line's significance is judged there (None: ``mask``).
    detection_correction : float
        Model light in the field / model light in ``detection_mask`` (scales the detection
        circle's errors to the field's units).
    """

    mask: np.ndarray
    correction: float          # model light in the field / model light in the mask
    radius: float              # spaxels (inf: the whole field)
    centre: tuple[float, float]
    description: str
    fallback: bool = False
    correction_err: float = 0.0
    detection_mask: np.ndarray | None = None
    detection_correction: float = 1.0


def exponential_disc_image(shape, centre, r_d, q, pa_deg, psf_sigma, oversample: int = 5, pad: int = 6,
                           psf_ellipticity: float = 0.0, psf_pa: float = 0.0) -> np.ndarray:
    """A PSF-convolved exponential disc of unit total flux, binned to the spaxels of ``shape``.

    Light falling beyond the field is lost, so the image sums to the fraction in the field.

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of the field.
    centre : tuple of float
        Disc centre (x, y), 0-based spaxels.
    r_d : float
        Scale length [spaxel].
    q : float
        Projected axis ratio (at least 0.05 is used).
    pa_deg : float
        Major-axis angle [deg], counter-clockwise from +x.
    psf_sigma : float
        σ of the Gaussian PSF [spaxel].
    oversample : int, optional
        Sub-pixels per spaxel of the model grid.
    pad : int, optional
        Margin of the model grid beyond the field [spaxel].
    psf_ellipticity, psf_pa : float, optional
        The PSF's 1 − b/a and major axis (degrees counter-clockwise from +x); 0: round.

    Returns
    -------
    numpy.ndarray
        (ny, nx) image.
    """
    ny, nx = shape
    u, v = disc_frame(shape, centre, pa_deg, oversample, pad)
    sb = np.exp(-np.hypot(u, v / max(q, 0.05)) / max(r_d, 1e-3))
    sb /= sb.sum()
    if psf_ellipticity > 0:
        return convolve_and_bin(sb, shape, pad, oversample, psf_sigma, psf_ellipticity, psf_pa)
    conv = gaussian_filter(sb, psf_sigma * oversample, mode="constant")
    return conv.reshape(ny + 2 * pad, oversample, nx + 2 * pad, oversample).sum(axis=(1, 3))[pad:-pad, pad:-pad]


def light_major_axis(image, snr, snr_min: float = 2.0) -> float:
    """Major-axis angle of the significant positive light, from its second moments.

    Parameters
    ----------
    image : numpy.ndarray
        2D map.
    snr : numpy.ndarray
        S/N of each spaxel.
    snr_min : float, optional
        Spaxels above this S/N (and positive) count.

    Returns
    -------
    float
        Angle [deg], counter-clockwise from +x; 0 when fewer than 5 spaxels are significant.
    """
    use = np.isfinite(image) & np.isfinite(snr) & (snr > snr_min) & (image > 0)
    if use.sum() < 5:
        return 0.0
    y, x = np.nonzero(use)
    w = image[use]
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    cxx, cyy = np.average((x - xm) ** 2, weights=w), np.average((y - ym) ** 2, weights=w)
    cxy = np.average((x - xm) * (y - ym), weights=w)
    return float(np.degrees(0.5 * np.arctan2(2 * cxy, cxx - cyy)))


def optimal_extraction(nb, nb_err, valid2d, centre, psf_sigma: float, r_min: float = 1.5,
                       r_step: float = 0.5, psf_ellipticity: float = 0.0, psf_pa: float = 0.0,
                       model_error: float = 0.2) -> Extraction:
    """The circular aperture whose flux, scaled to the field, has the smallest error.

    PSF-convolved exponential discs are fitted to the Hα map ``nb``
    (:func:`~redshift1.kmos.disc_model.disc_model_trials`) and averaged with their likelihood
    weights (:func:`likelihood_weights`). For each circle around ``centre`` the field's flux
    is the circle's flux times the model's factor (light in the field / light in the
    circle); its fractional error adds the circle's noise over the model's flux in it, the
    weighted spread of the factor over the discs the map allows, and ``model_error`` × its
    natural log (the disc model is not the galaxy). The circle with the smallest error is
    summed; the circle with the highest model S/N (``detection_mask``) is where the line's
    significance is judged, which the flux's error no longer measures. Counting the factor's uncertainty matters at low S/N: where the map cannot tell
    a compact from an extended disc, the pure S/N peak chose a few spaxels and a factor of
    1.4-1.9 for discs that hold 3-4 times their light (paper preset, Hα S/N 3-5); the
    error-optimal circle grows until the factor no longer depends on the disc.

    Parameters
    ----------
    nb, nb_err : numpy.ndarray
        Hα narrow-band map and its 1σ error.
    valid2d : numpy.ndarray
        (ny, nx) bool, spaxels with data.
    centre : tuple of float
        (x, y) aperture centre, 0-based spaxels.
    psf_sigma : float
        σ of the Gaussian PSF [spaxel].
    r_min : float, optional
        Smallest radius tried [spaxel].
    r_step : float, optional
        Step of the radii tried [spaxel].
    psf_ellipticity, psf_pa : float, optional
        The PSF's 1 − b/a and major axis (degrees counter-clockwise from +x, notebook 01's
        star). A round model of an elliptical PSF is too wide for a compact source: its
        correction came out 1.5-4 % large for PSF ellipticities of 0.1-0.2.
    model_error : float, optional
        Uncertainty of the factor as a fraction of its natural log (the model's mismatch
        with a real galaxy); it enters the choice of the circle, not ``correction_err``.

    Returns
    -------
    Extraction
        The aperture; every valid spaxel (``fallback=True``) when the map holds no positive model.
    """
    whole = Extraction(valid2d.copy(), 1.0, np.inf, centre, f"every valid spaxel of the IFU ({int(valid2d.sum())} "
                       "spaxels)", fallback=True)
    err = np.where(valid2d, nb_err, np.nan)
    theta = light_major_axis(nb, nb / err)
    trials = disc_model_trials(np.where(valid2d, nb, np.nan), err, centre, theta, psf_sigma,
                               scales=EXTRACTION_SCALES, axis_ratios=np.arange(0.3, 1.01, 0.1),
                               psf_ellipticity=psf_ellipticity, psf_pa=psf_pa)
    weights = likelihood_weights(trials) if trials is not None else None
    if weights is None:
        return whole
    # the discs' light in the map's units: the noise term compares it with the map's noise
    model = np.tensordot(weights * np.nan_to_num(trials.flux), trials.models, axes=([0, 1], [0, 1]))
    var = np.where(valid2d & np.isfinite(err), err, 0.0) ** 2
    y, x = np.indices(valid2d.shape)
    dist = np.hypot(x - centre[0], y - centre[1])
    in_field = trials.models[..., valid2d].sum(axis=-1)
    best = (np.inf, None, None, 0.0)
    detect = (-np.inf, None)
    for r in np.arange(r_min, max(valid2d.shape), r_step):
        m = valid2d & (dist <= r)
        if m.sum() < 3:
            continue
        flux = model[m].sum()
        if not flux > 0:
            continue
        snr = flux / np.sqrt(var[m].sum())
        if snr > detect[0]:
            detect = (snr, m)
        corr_err = _correction_spread(in_field, trials.models[..., m].sum(axis=-1), weights)
        ln_corr = np.log(model[valid2d].sum() / flux)
        rel = np.sqrt(var[m].sum() / flux ** 2 + corr_err ** 2 + (model_error * ln_corr) ** 2)
        if rel < best[0]:
            best = (rel, r, m, corr_err)
    if best[1] is None:
        return whole
    _, r, m, corr_err = best
    corr = _light_ratio(model, valid2d, m)
    if m.sum() == valid2d.sum():
        return Extraction(m, 1.0, np.inf, centre, whole.description, detection_mask=detect[1],
                          detection_correction=_light_ratio(model, valid2d, detect[1]))
    desc = (f"error-optimal circular aperture of radius {r:g} spaxels around the Hα light ({int(m.sum())} spaxels; "
            f"flux ×{corr:.3f} ± {corr_err:.1%} to the field by the disc models)")
    return Extraction(m, corr, float(r), centre, desc, correction_err=corr_err, detection_mask=detect[1],
                      detection_correction=_light_ratio(model, valid2d, detect[1]))


def _light_ratio(model: np.ndarray, field: np.ndarray, mask: np.ndarray | None) -> float:
    """Model light in ``field`` over that in ``mask`` (1 without a mask)."""
    if mask is None:
        return 1.0
    inside = float(model[mask].sum())
    return float(model[field].sum()) / inside if inside > 0 else 1.0


def _correction_spread(in_field: np.ndarray, in_aperture: np.ndarray, weights: np.ndarray) -> float:
    """Weighted 1σ of ln(light in the field / light in the aperture) over the trial discs."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_c = np.log(in_field / in_aperture)
    use = (weights > 0) & np.isfinite(ln_c)
    if not use.any():
        return 0.0
    mean = np.average(ln_c[use], weights=weights[use])
    return float(np.sqrt(np.average((ln_c[use] - mean) ** 2, weights=weights[use])))


def likelihood_weights(trials: DiscTrials) -> np.ndarray | None:
    """Normalised weights exp(−Δχ²/2) of the trial discs with a positive flux (the flux profiled
    out; χ² scaled by the best fit's reduced χ² where that exceeds 1, so that a map whose noise
    is under-stated does not pin the disc).

    Parameters
    ----------
    trials : DiscTrials
        The fitted trial discs (:func:`~redshift1.kmos.disc_model.disc_model_trials`).

    Returns
    -------
    numpy.ndarray or None
        (nq, ns) weights summing to 1; None where no disc has a finite χ² and a positive flux.
    """
    with np.errstate(invalid="ignore"):
        chi2 = np.where(np.isfinite(trials.chi2) & (trials.flux > 0), trials.chi2, np.inf)
    best = float(chi2.min())
    if not np.isfinite(best):
        return None
    scale = max(1.0, best / max(trials.n_pixels - 3, 1))
    w = np.exp(-0.5 * (chi2 - best) / scale)
    return w / w.sum()
