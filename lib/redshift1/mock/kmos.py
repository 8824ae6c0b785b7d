"""The mock KMOS instrument: rotating Hα discs and Sérsic starlight → reconstructed cubes.

A galaxy is modelled on a sub-spaxel grid (``OVERSAMPLE``² sub-pixels per 0.2″
spaxel, padded beyond the 2.8″ IFU so light from outside can scatter in), convolved
with its spectrograph's elliptical Gaussian PSF, binned to spaxels and given noise
that follows the real OH sky spectrum of the YJ band, with systematic sky-subtraction
residuals under the lines (the reason KROSS drops [NII] near sky lines).
Only channels near Hα+[NII] carry line emission, so the line model is computed on a
window of channels; the continuum is an image times a spectrum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import astropy.units as u
from astropy.modeling.models import Sersic2D
from scipy.signal import fftconvolve
from scipy.special import erf

from .. import constants as C
from ..skytables import kmos_sky_shape as sky_shape  # the noise follows the real OH sky

C_KMS = C.C_KMS
OVERSAMPLE = 5
PAD = 3  # spaxels of padding on each side of the 14x14 field


@dataclass(frozen=True)
class KMOSNoise:
    """Noise of a reduced KROSS cube (2.5 h on source), per spaxel and channel.

    ``floor`` is the interline 1σ flux density per spaxel; under the brightest OH
    line the noise rises to ``floor * sqrt(1 + sky_gain)``. ``residual`` scales the
    systematic sky-subtraction residual (in units of the local noise, shared by all
    spaxels of a cube) where the sky exceeds ``residual_threshold`` of its peak.
    """

    floor: float = 0.55e-15         # erg/s/cm2/um per 0.2" spaxel
    sky_gain: float = 300.0
    residual: float = 0.08
    residual_threshold: float = 0.02
    spaxel_scatter: float = 0.05


@dataclass(frozen=True)
class PSF:
    """Elliptical Gaussian PSF: geometric-mean FWHM (arcsec), ellipticity 1-b/a, PA (deg)."""

    fwhm: float
    ellipticity: float
    pa: float

    @property
    def hwhm(self) -> float:
        return self.fwhm / 2.0

    def sigmas(self):
        q = 1.0 - self.ellipticity
        f_major = self.fwhm / np.sqrt(q)
        return f_major / C.SIGMA_TO_FWHM, f_major * q / C.SIGMA_TO_FWHM

    def kernel(self, pixscale: float) -> np.ndarray:
        """Unit-sum kernel image on a grid of ``pixscale`` arcsec."""
        sa, sb = self.sigmas()
        half = int(np.ceil(4 * sa / pixscale))
        y, x = (np.mgrid[-half:half + 1, -half:half + 1] * pixscale)
        t = np.radians(self.pa)
        xr = x * np.cos(t) + y * np.sin(t)
        yr = -x * np.sin(t) + y * np.cos(t)
        k = np.exp(-0.5 * ((xr / sa) ** 2 + (yr / sb) ** 2))
        return k / k.sum()


def wavelength_grid() -> u.Quantity:
    """The YJ channels of an ESO KMOS cube (vacuum µm)."""
    return C.KMOS_LAM0 + np.arange(C.KMOS_NCHAN) * C.KMOS_DLAM


def noise_spectrum(wave_um: np.ndarray, noise: KMOSNoise) -> np.ndarray:
    """1σ per spaxel and channel: interline floor rising under the OH lines."""
    return noise.floor * np.sqrt(1.0 + noise.sky_gain * sky_shape(wave_um))


def _subgrid(n_spaxel: int, pixscale: float):
    """Sub-pixel centre coordinates (arcsec) relative to the IFU's spaxel (0,0) centre."""
    n = (n_spaxel + 2 * PAD) * OVERSAMPLE
    step = pixscale / OVERSAMPLE
    c = (np.arange(n) + 0.5) * step - PAD * pixscale - 0.5 * pixscale
    return np.meshgrid(c, c)  # x, y


def _bin_to_spaxels(img: np.ndarray, n_spaxel: int) -> np.ndarray:
    """Sum OVERSAMPLE² sub-pixels into spaxels and crop the padding (last two axes)."""
    *lead, ny, nx = img.shape
    b = img.reshape(*lead, ny // OVERSAMPLE, OVERSAMPLE, nx // OVERSAMPLE, OVERSAMPLE).sum(axis=(-3, -1))
    return b[..., PAD:PAD + n_spaxel, PAD:PAD + n_spaxel]


def disc_geometry(x, y, x0, y0, pa_deg, inc_deg, q0=0.2):
    """Radius in the disc plane and cos(azimuth) from the major axis, for sky offsets."""
    t = np.radians(pa_deg)
    dx, dy = x - x0, y - y0
    # PA measured from +y (north) towards +x, as in kinematic fits
    xm = dx * np.sin(t) + dy * np.cos(t)      # along the major axis
    ym = -dx * np.cos(t) + dy * np.sin(t)     # along the minor axis
    cos_i = np.cos(np.radians(inc_deg))
    q = np.sqrt(cos_i**2 * (1 - q0**2) + q0**2)
    r = np.hypot(xm, ym / q)
    cos_phi = np.divide(xm, r, out=np.zeros_like(r), where=r > 0)
    return r, cos_phi, q


def rotation_curve(r, v_max, r_turn):
    """Arctangent rotation curve (Courteau 1997), as in the six-parameter disc model."""
    return v_max * (2 / np.pi) * np.arctan(r / r_turn)


def line_cube(gal: dict, psf: PSF, wave_um: np.ndarray, n_spaxel: int = C.KMOS_NSPAXEL,
              pixscale: float = C.KMOS_PIXSCALE.value) -> tuple[np.ndarray, slice, float]:
    """Hα + [NII] emission of a rotating exponential disc, PSF-convolved, on a channel window.

    ``gal`` keys (arcsec, deg, km/s, erg/s/cm2): z, flux_halpha, flux_nii6583, r_half_arcsec,
    x0, y0 (spaxel coordinates of the centre), pa, inclination, v_max, r_turn_arcsec, sigma0.

    Returns the cube in erg/s/cm2/µm per spaxel on channels ``sl`` of ``wave_um``, and
    the noise-free Hα flux that falls inside the IFU after the PSF (erg/s/cm2).
    """
    z = gal["z"]
    lines = [(C.HALPHA.value, gal["flux_halpha"]),
             (C.NII_6583.value, gal["flux_nii6583"]),
             (C.NII_6548.value, gal["flux_nii6583"] / C.NII_RATIO)]
    lo = (C.NII_6548.value * (1 + z)) * (1 - 800 / C_KMS) / 1e4
    hi = (C.NII_6583.value * (1 + z)) * (1 + 800 / C_KMS) / 1e4
    i0, i1 = np.searchsorted(wave_um, [lo, hi])
    i0, i1 = max(i0 - 1, 0), min(i1 + 1, wave_um.size)
    sl = slice(i0, i1)
    dlam = np.median(np.diff(wave_um))
    edges = np.concatenate([wave_um[sl] - dlam / 2, [wave_um[i1 - 1] + dlam / 2]])

    x, y = _subgrid(n_spaxel, pixscale)
    r, cos_phi, q = disc_geometry(x, y, gal["x0"] * pixscale, gal["y0"] * pixscale, gal["pa"], gal["inclination"])
    r_d = gal["r_half_arcsec"] / 1.678
    cell = (pixscale / OVERSAMPLE) ** 2
    surf = np.exp(-r / r_d) / (2 * np.pi * r_d**2 * q) * cell          # fraction of total flux
    if r_d * q < 2 * pixscale / OVERSAMPLE:
        # a disc narrower than the sub-grid is point-sampled too coarsely for the analytic
        # normalisation to hold (the flux could come out anywhere from half to double);
        # such a disc lies wholly inside the padded grid, so normalise it by its sum
        surf /= surf.sum()
    v_los = rotation_curve(r, gal["v_max"], gal["r_turn_arcsec"]) * np.sin(np.radians(gal["inclination"])) * cos_phi

    keep = surf > surf.max() * 1e-5
    s_k, v_k = surf[keep], v_los[keep]
    lit = np.zeros((i1 - i0, s_k.size))                 # the lines on the lit sub-pixels only
    for rest, flux in lines:
        centre = rest * (1 + z) * (1 + v_k / C_KMS) / 1e4
        sig = np.hypot(centre * gal["sigma0"] / C_KMS, centre / C.KMOS_RESOLUTION / C.SIGMA_TO_FWHM)
        cdf = 0.5 * (1 + erf((edges[:, None] - centre[None, :]) / (np.sqrt(2) * sig[None, :])))
        prof = np.diff(cdf, axis=0) / dlam                              # per µm
        lit += flux * prof * s_k[None, :]
    cube_sub = np.zeros((i1 - i0,) + surf.shape)
    cube_sub[:, keep] = lit
    k = psf.kernel(pixscale / OVERSAMPLE)
    conv = fftconvolve(cube_sub, k[None], mode="same", axes=(1, 2))
    # convolution is linear: the Hα light inside the field is the convolved Hα image's sum
    ha_fov = _bin_to_spaxels(fftconvolve(surf * gal["flux_halpha"], k, mode="same"), n_spaxel).sum()
    return _bin_to_spaxels(conv, n_spaxel), sl, float(ha_fov)


def continuum_image(gal: dict, psf: PSF, n_spaxel: int = C.KMOS_NSPAXEL,
                    pixscale: float = C.KMOS_PIXSCALE.value) -> np.ndarray:
    """Unit-total Sérsic stellar light (r_e, n, axis ratio, PA), PSF-convolved, per spaxel."""
    x, y = _subgrid(n_spaxel, pixscale)
    sersic = Sersic2D(amplitude=1.0, r_eff=max(gal["re_star_arcsec"], 0.02), n=gal["sersic_n"],
                      x_0=gal["x0"] * pixscale, y_0=gal["y0"] * pixscale,
                      ellip=1 - gal["q_star"], theta=np.radians(gal["pa"] + 90.0))
    img = sersic(x, y)
    img /= img.sum()
    conv = fftconvolve(img, psf.kernel(pixscale / OVERSAMPLE), mode="same")
    return _bin_to_spaxels(conv, n_spaxel)


def continuum_spectrum(wave_um: np.ndarray, k_ab: float) -> np.ndarray:
    """f_λ [erg/s/cm2/µm] of a flat-f_ν source with this K_AB magnitude."""
    f_nu = 3631e-23 * 10 ** (-0.4 * k_ab)
    return f_nu * 2.99792458e14 / wave_um**2


def observe_cube(gal: dict, psf: PSF, noise: KMOSNoise, rng: np.random.Generator,
                 wave_um: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """A reduced KMOS cube of one galaxy: (data, noise, extra truth).

    Extra truth holds the noise-free Hα flux falling inside the IFU (``flux_halpha_fov``).
    """
    wave_um = wavelength_grid().to_value(u.um) if wave_um is None else wave_um
    n = C.KMOS_NSPAXEL
    model = np.zeros((wave_um.size, n, n), dtype=np.float64)
    lines, sl, flux_fov = line_cube(gal, psf, wave_um)
    model[sl] += lines
    if np.isfinite(gal.get("k_ab", np.nan)):
        model += continuum_spectrum(wave_um, gal["k_ab"])[:, None, None] * continuum_image(gal, psf)[None]
    sigma_l = noise_spectrum(wave_um, noise)
    spax = 1.0 + noise.spaxel_scatter * rng.standard_normal((n, n))
    sigma = sigma_l[:, None, None] * spax[None, :, :]
    data = model + sigma * rng.standard_normal(model.shape)
    sky = sky_shape(wave_um)
    resid = noise.residual * rng.standard_normal(wave_um.size) * (sky > noise.residual_threshold)
    data += (resid * sigma_l)[:, None, None] * rng.uniform(0.7, 1.3, (n, n))[None]
    return data.astype(np.float32), sigma.astype(np.float32), {"flux_halpha_fov": flux_fov}


def observe_star(psf: PSF, k_ab: float, x0: float, y0: float, noise: KMOSNoise,
                 rng: np.random.Generator, wave_um: np.ndarray | None = None):
    """A PSF-star cube: a bright point source with a stellar (flat f_ν) continuum."""
    wave_um = wavelength_grid().to_value(u.um) if wave_um is None else wave_um
    star = {"x0": x0, "y0": y0, "re_star_arcsec": 0.0, "sersic_n": 1.0, "q_star": 1.0, "pa": 0.0}
    img = _point_image(star, psf)
    model = continuum_spectrum(wave_um, k_ab)[:, None, None] * img[None]
    sigma_l = noise_spectrum(wave_um, noise)
    sigma = np.broadcast_to(sigma_l[:, None, None], model.shape)
    data = model + sigma * rng.standard_normal(model.shape)
    return data.astype(np.float32), np.ascontiguousarray(sigma, dtype=np.float32)


def _point_image(src: dict, psf: PSF, n_spaxel: int = C.KMOS_NSPAXEL,
                 pixscale: float = C.KMOS_PIXSCALE.value) -> np.ndarray:
    """The PSF sampled at a sub-spaxel position, integrated over spaxels (unit total)."""
    x, y = _subgrid(n_spaxel, pixscale)
    sa, sb = psf.sigmas()
    t = np.radians(psf.pa)
    dx, dy = x - src["x0"] * pixscale, y - src["y0"] * pixscale
    xr = dx * np.cos(t) + dy * np.sin(t)
    yr = -dx * np.sin(t) + dy * np.cos(t)
    img = np.exp(-0.5 * ((xr / sa) ** 2 + (yr / sb) ** 2)) * (pixscale / OVERSAMPLE) ** 2 / (2 * np.pi * sa * sb)
    return _bin_to_spaxels(img, n_spaxel)
