"""The mock Magellan/LDSS3 spectrograph in nod-and-shuffle (N&S) mode, as ROLES used it.

What is modelled (ROLES §2.2-2.5; every number is a module constant below):

* **Optics and throughput.** Medium-red grism, 2.7 Å/px, 0.189″/px, 0.8″ x 3″ slits,
  11.4 Å FWHM resolution, band-limiting KG750 filter (half maxima 7040 and 8010 Å).
  The sensitivity ``S(λ)`` [e⁻ s⁻¹ per erg s⁻¹ cm⁻²] is collecting area x system
  efficiency x filter x λ/hc; slit losses (Gaussian image through a 0.8″ slit) and the
  telluric absorption (O2 A band and a weak H2O band) are applied on top.
* **Detector.** A compact frame that holds the same number of slits as the real 4k x 4k
  CCD: ``n_tiers`` tiers of slits along x (each spectrum is short, ~390 px, because of the
  filter) and ``n_rows`` slots along y; every slot is 32 rows: the 16 illuminated rows of
  the slit (region A) and the 16 masked storage rows above it (region B). Frames are in
  electrons (the two amplifiers already stitched, bias removed, gain 1).
* **Nod and shuffle.** 20 cycles of 60 s at nod A and 60 s at nod B; between them the
  telescope nods 1.2″ (6 px along the slit) and the charge is shuffled by 16 rows. A
  packet whose home row is ``h`` integrates the sky image at row ``h`` during nod A and at
  row ``h - 16`` during nod B, so the read-out frame is ``F(h) = I_A(h) + I_B(h - 16)``:
  region A holds sky + object at nod A, region B holds sky + object at nod B.
* **Night sky** from :func:`redshift1.mock.sky.optical_sky_spectrum` (vacuum), continuum
  ``SKY_CONT_E`` e⁻/px per 1200 s at 7500 Å, lines hundreds of e⁻; its continuum and
  line strengths vary a little from exposure to exposure.
* **Objects**: emission lines as pixel-integrated 2D Gaussians (spectral σ from the
  resolution and the intrinsic width, spatial FWHM from seeing and size) and a weak
  continuum; the slit ends block light.
* **Defects and noise**: Poisson noise, one read (3.4 e⁻) per pixel, cosmic rays, bad
  columns, hot and dead pixels (in the bad-pixel mask), a 0.5 % pixel response
  non-uniformity, dark current, and *charge traps*: fixed defects that add charge to the
  packets shuffled across them, i.e. short streaks along the shuffle direction that grow
  with the number of shuffles (visible in N&S darks; **not** in the bad-pixel mask).
* **Instabilities** (recorded only in the truth): flexure shifts of the whole spectral
  image between exposures (sub-pixel to ~1 px in x and y) and a drift of the galaxies
  along the slits (up to ~2 px).

Wavelengths are vacuum Å everywhere. Pixel coordinates are 0-based numpy indices
``data[y, x]``; pixel ``(x, y)`` covers ``[x-0.5, x+0.5) x [y-0.5, y+0.5)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d
from scipy.special import erf, expit

from .. import constants as C
from .rng import stream
from .sky import OPTICAL_CONTINUUM_TABLE, load_table, optical_sky_spectrum

# --------------------------------------------------------------------------- constants
PIXSCALE = C.LDSS3_PIXSCALE.to_value(u.arcsec)          # arcsec / px
DISPERSION = C.LDSS3_DISPERSION.to_value(u.AA)          # Å / px (nominal)
RES_FWHM = C.LDSS3_RESOLUTION_FWHM.to_value(u.AA)       # Å
SHUFFLE = C.LDSS3_SHUFFLE_PX                            # rows
NOD = C.LDSS3_NOD_PX                                    # rows (1.2″)
RDNOISE = C.LDSS3_READ_NOISE                            # e⁻ per read
SLIT_WIDTH = 0.8                                        # arcsec
SLIT_LENGTH = 3.0                                       # arcsec (= 15.9 px)
NOD_ARCSEC = 1.2
SLOT_ROWS = 2 * SHUFFLE                                 # A + B region
TIER_WIDTH = 400                                        # columns per tier of spectra
LAMBDA_REF = 7525.0                                     # Å, reference wavelength of x_ref
FRAME_MARGIN = SHUFFLE                                  # rows below the first / above the last slot
N_CYCLES = 20
T_CYCLE = 60.0                                          # s per nod position per cycle

# throughput
TEL_AREA_CM2 = 2.9e5          # Magellan 6.5 m clear aperture minus the central obstruction
SYSTEM_EFF_PEAK = 0.20        # telescope + LDSS3 + grism + CCD, excluding filter, slit, atmosphere
SYSTEM_EFF_PEAK_WAVE = 7300.0
SYSTEM_EFF_CURVE = 0.4        # eff = peak (1 - c ((λ - λpk)/1000 Å)²)
FILTER_NAME = "KG750"
FILTER_PEAK = 0.92
FILTER_EDGES = C.KG750_WINDOW  # half maxima, Å
FILTER_EDGE_WIDTH = 8.0        # Å, logistic edge scale
HC_ERG_AA = 6.62607015e-27 * 2.99792458e18   # h c in erg Å

# sky and detector
SKY_CONT_E = 25.0             # e⁻ / px per 1200 s in the sky continuum at 7500 Å
DARK_CURRENT = 1.5            # e⁻ / px / hour
PRNU = 0.005                  # rms pixel response non-uniformity
CR_RATE = 1.2                 # cosmic-ray events / cm² / minute of dark time
PIXEL_CM = 15e-4              # 15 µm pixels
TRAPS_PER_MPIX = 16           # charge traps per million pixels
EDGE_BLUR = 0.35              # px, Gaussian blur of the slit ends on the detector

# telluric bands (optical depth at airmass 1 before the instrumental smoothing)
A_BAND = (7594.0, 7630.0)

#: Header keywords every raw frame carries (the loaders check them).
RAW_KEYWORDS = ("INSTRUME", "OBSTYPE", "EXPTIME", "NODTIME", "NCYCLES", "TCYCLE", "GAIN",
                "RDNOISE", "BUNIT", "NODPIX", "NODARCS", "SHUFFLE", "MASKNAME", "FIELD",
                "FILTER", "AIRORVAC", "DATE-OBS", "AIRMASS", "PIXSCALE", "DISPAXIS")


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """Geometry of the compact N&S frame: ``n_tiers`` x ``n_rows`` slots of 400 x 32 px."""

    n_tiers: int
    n_rows: int

    @property
    def nx(self) -> int:
        return self.n_tiers * TIER_WIDTH

    @property
    def ny(self) -> int:
        return self.n_rows * SLOT_ROWS + 2 * FRAME_MARGIN

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def a_row_lo(self, row) -> np.ndarray:
        """First row of the illuminated (A) region of slot ``row``."""
        return FRAME_MARGIN + SLOT_ROWS * np.asarray(row)

    def tier_x_lo(self, tier) -> np.ndarray:
        return TIER_WIDTH * np.asarray(tier)


# --------------------------------------------------------------------------- throughput
def filter_transmission(lam) -> np.ndarray:
    """KG750 transmission: logistic edges at the half-maximum wavelengths 7040 and 8010 Å."""
    lam = np.asarray(lam, float)
    lo, hi = FILTER_EDGES
    return FILTER_PEAK * expit((lam - lo) / FILTER_EDGE_WIDTH) * expit((hi - lam) / FILTER_EDGE_WIDTH)


def system_efficiency(lam) -> np.ndarray:
    x = (np.asarray(lam, float) - SYSTEM_EFF_PEAK_WAVE) / 1000.0
    return SYSTEM_EFF_PEAK * np.clip(1 - SYSTEM_EFF_CURVE * x**2, 0.05, None)


def sensitivity(lam) -> np.ndarray:
    """S(λ): e⁻ s⁻¹ per (erg s⁻¹ cm⁻²) of a line (or e⁻ s⁻¹ Å⁻¹ per erg s⁻¹ cm⁻² Å⁻¹),
    above the atmosphere and without slit losses."""
    lam = np.asarray(lam, float)
    return TEL_AREA_CM2 * system_efficiency(lam) * filter_transmission(lam) * lam / HC_ERG_AA


def _tau_telluric_raw(lam) -> np.ndarray:
    """Optical depth at airmass 1: O2 A band (sharp head at 7594 Å, deep to ~7630 Å,
    weak R-branch tail) and a weak H2O band near 7240 Å; smooth, no rotational lines."""
    lam = np.asarray(lam, float)
    head = expit((lam - A_BAND[0]) / 0.7)
    core = 1.05 * head * expit(-(lam - 7612.0) / 5.0)
    tail = 0.18 * head * np.exp(-np.clip(lam - 7612.0, 0, None) / 30.0)
    water = 0.04 * np.exp(-0.5 * ((lam - 7240.0) / 45.0) ** 2)
    return core + tail + water


@lru_cache(maxsize=1)
def _telluric_grid():
    lam = np.arange(6700.0, 8400.0, 0.25)
    tau = gaussian_filter1d(_tau_telluric_raw(lam), RES_FWHM / C.SIGMA_TO_FWHM / 0.25, mode="nearest")
    return lam, tau


def telluric_tau(lam) -> np.ndarray:
    """Telluric optical depth at airmass 1 as seen at the instrument resolution."""
    g, tau = _telluric_grid()
    return np.interp(np.asarray(lam, float), g, tau)


def telluric_transmission(lam, airmass) -> np.ndarray:
    return np.exp(-float(airmass) * telluric_tau(lam))


def slit_fraction(fwhm_arcsec, x_offset_arcsec=0.0, width_arcsec=SLIT_WIDTH) -> np.ndarray:
    """Fraction of a Gaussian image of this FWHM that passes a slit, object offset
    ``x_offset`` across the slit."""
    s = np.asarray(fwhm_arcsec, float) / C.SIGMA_TO_FWHM * np.sqrt(2)
    x = np.asarray(x_offset_arcsec, float)
    return 0.5 * (erf((width_arcsec / 2 - x) / s) + erf((width_arcsec / 2 + x) / s))


# --------------------------------------------------------------------------- sky
@lru_cache(maxsize=1)
def _sky_grid():
    """Sky continuum and lines (per Å, continuum = 1 at 7500 Å) on a fine vacuum grid."""
    lam = np.arange(6850.0, 8250.0, 0.1)
    total = optical_sky_spectrum(lam * u.AA, RES_FWHM * u.AA)
    ct = load_table(OPTICAL_CONTINUUM_TABLE)
    cont = np.interp(lam, u.Quantity(ct["wavelength"]).to_value(u.AA), np.asarray(ct["level"], float))
    rel = sensitivity(lam) / sensitivity(7500.0)
    return lam, cont * rel, (total - cont) * rel


def sky_electrons(lam, dispersion, nod_time, cont_scale=1.0, line_scale=1.0) -> np.ndarray:
    """Sky electrons per pixel (whole slit row) at wavelengths ``lam`` in ``nod_time`` s."""
    g, c, l = _sky_grid()
    lam = np.asarray(lam, float)
    per_aa = cont_scale * np.interp(lam, g, c) + line_scale * np.interp(lam, g, l)
    return SKY_CONT_E * (nod_time / 1200.0) * (dispersion / DISPERSION) * per_aa


# --------------------------------------------------------------------------- detector
@dataclass
class Detector:
    """Fixed properties of the (mock) CCD: defects, response and charge traps."""

    shape: tuple[int, int]
    bpm: np.ndarray          # uint8, 1 = bad (bad columns, hot, dead pixels)
    response: np.ndarray     # float32 relative QE (PRNU, dead pixels)
    hot_rate: np.ndarray     # float32 e⁻ / s of extra dark current (hot pixels, hot columns)
    traps: Table             # x, y, q (e⁻ per transfer), length (rows)

    def trap_image(self, n_cycles: int) -> np.ndarray:
        """Charge added by the traps in one N&S exposure with ``n_cycles`` cycles.

        A packet whose home row is in ``(y, y + 16]`` crosses the trap twice per cycle
        (shuffle down for nod B and back up); the released charge decays over ``length``
        rows away from the trap.
        """
        img = np.zeros(self.shape, np.float64)
        n_transfer = 2 * n_cycles
        k = np.arange(1, SHUFFLE + 1)
        for t in self.traps:
            rows = int(t["y"]) + k
            ok = rows < self.shape[0]
            img[rows[ok], int(t["x"])] += n_transfer * t["q"] * np.exp(-(k[ok] - 1) / t["length"])
        return img


def make_detector(seed: int, layout: Layout) -> Detector:
    """Defects of the CCD for this survey seed (same for every mask and exposure)."""
    rng = stream(seed, "ldss3", "detector", layout.nx, layout.ny)
    ny, nx = layout.shape
    bpm = np.zeros((ny, nx), np.uint8)
    response = (1 + PRNU * rng.standard_normal((ny, nx))).astype(np.float32)
    hot = np.zeros((ny, nx), np.float32)
    npix = nx * ny
    # bad columns: hot (from a defect to the top of the column) or dead (low response)
    n_cols = max(2, int(round(npix / 1.0e6 * 2.5)))
    cols = rng.choice(nx, n_cols, replace=False)
    for i, x in enumerate(cols):
        y0 = int(rng.integers(0, ny // 2))
        if i % 2 == 0:
            hot[y0:, x] += rng.uniform(0.05, 0.5)     # e⁻/s: 100-1200 e⁻ per exposure
        else:
            response[y0:, x] *= rng.uniform(0.0, 0.2)
        bpm[y0:, x] = 1
    # hot pixels and dead pixels
    n_hot = int(npix * 8e-5) + 2
    hy, hx = rng.integers(0, ny, n_hot), rng.integers(0, nx, n_hot)
    hot[hy, hx] += 10 ** rng.uniform(-1.3, 1.0, n_hot).astype(np.float32)
    bpm[hy, hx] = 1
    n_dead = int(npix * 2e-5) + 1
    dy, dx = rng.integers(0, ny, n_dead), rng.integers(0, nx, n_dead)
    response[dy, dx] = 0.02
    bpm[dy, dx] = 1
    # charge traps (not in the bpm: the pipeline finds them in the N&S darks)
    n_traps = max(3, int(round(npix / 1e6 * TRAPS_PER_MPIX)))
    q = 10 ** rng.uniform(-0.3, 1.3, n_traps)              # e⁻ per transfer: ~20-800 e⁻ per frame
    q[: min(2, n_traps)] = rng.uniform(8.0, 15.0, min(2, n_traps))  # always a few obvious ones
    traps = Table({
        "x": rng.integers(2, nx - 2, n_traps),
        "y": rng.integers(FRAME_MARGIN, ny - FRAME_MARGIN - SHUFFLE, n_traps),
        "q": np.round(q, 3),
        "length": np.round(rng.uniform(3.0, 40.0, n_traps), 2),
    })
    traps["q"].unit = u.electron
    traps["length"].unit = u.pix
    return Detector((ny, nx), bpm, response, hot, traps)


# --------------------------------------------------------------------------- objects
@dataclass
class SlitSource:
    """What falls into one slit: emission lines and a continuum, at the slit-level offsets."""

    line_wave: np.ndarray                 # observed vacuum Å
    line_flux: np.ndarray                 # erg/s/cm²
    line_sigma: np.ndarray                # intrinsic σ, observed Å
    cont_ab: float = np.nan               # AB magnitude of the continuum at 7500 Å
    cont_beta: float = 0.0                # f_ν ∝ (λ/7500)^β
    cont_table: tuple | None = None       # (λ, f_λ) for a star, instead of cont_ab
    fwhm_int: float = 0.0                 # intrinsic FWHM [arcsec] (Gaussian-equivalent)
    y_offset: float = 0.0                 # px along the slit, from the nominal nod positions
    x_offset: float = 0.0                 # arcsec across the slit (shifts the spectrum)

    def f_lambda(self, lam) -> np.ndarray:
        lam = np.asarray(lam, float)
        if self.cont_table is not None:
            return np.interp(lam, self.cont_table[0], self.cont_table[1])
        if not np.isfinite(self.cont_ab):
            return np.zeros_like(lam)
        fnu = 10 ** (-0.4 * (self.cont_ab + 48.6)) * (lam / 7500.0) ** self.cont_beta
        return fnu * 2.99792458e18 / lam**2


@dataclass(frozen=True)
class Conditions:
    """Per-exposure state (truth only, except the airmass which goes into the header)."""

    flex_dx: float = 0.0     # px, shift of the whole spectral image along x
    flex_dy: float = 0.0     # px, shift along y (slits move on the detector)
    drift_dy: float = 0.0    # px, extra shift of the objects along the slits
    seeing: float = 0.68     # arcsec FWHM
    airmass: float = 1.2
    sky_cont: float = 1.0    # sky continuum scale
    sky_lines: float = 1.0   # sky line scale


def _pixel_gauss(centres_edges_lo, centres_edges_hi, mu, sigma):
    s = np.sqrt(2.0) * sigma
    return 0.5 * (erf((centres_edges_hi - mu) / s) - erf((centres_edges_lo - mu) / s))


def _box_pixel_fraction(h, lo, hi, blur):
    """Fraction of pixel row ``h`` (covering h±0.5) inside [lo, hi], edges blurred by ``blur``."""
    def prim(y, a):  # ∫ Φ((y - a)/blur) dy
        t = (y - a) / blur
        return (y - a) * 0.5 * (1 + erf(t / np.sqrt(2))) + blur * np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)
    h = np.asarray(h, float)
    return (prim(h + 0.5, lo) - prim(h - 0.5, lo)) - (prim(h + 0.5, hi) - prim(h - 0.5, hi))


def slit_wavelengths(x, slit, dx=0.0) -> np.ndarray:
    """λ(x) = lambda_ref + dispersion (x - x_ref - dx): vacuum Å at column ``x``."""
    return slit["lambda_ref"] + slit["dispersion"] * (np.asarray(x, float) - slit["x_ref"] - dx)


def render_illumination(layout: Layout, slits, sources, cond: Conditions, nod_time: float):
    """Expected electrons (no noise) of the sky and the objects, per nod position.

    Returns ``sky`` (identical for both nods), ``obj_a`` and ``obj_b`` as float64 images on
    *physical* detector rows (before the charge shuffle is accounted for).
    """
    sky = np.zeros(layout.shape)
    obj_a = np.zeros(layout.shape)
    obj_b = np.zeros(layout.shape)
    half = SLIT_LENGTH / PIXSCALE / 2
    sig_res = RES_FWHM / C.SIGMA_TO_FWHM
    for slit, src in zip(slits, sources):
        x_lo, x_hi = int(slit["x_lo"]), int(slit["x_hi"])
        xs = np.arange(x_lo, x_hi)
        lam = slit_wavelengths(xs, slit, cond.flex_dx)
        a_lo = int(slit["a_row_lo"])
        centre = a_lo + (SHUFFLE - 1) / 2 + cond.flex_dy
        r_lo, r_hi = max(a_lo - 4, 0), min(a_lo + SHUFFLE + 4, layout.ny)
        rows = np.arange(r_lo, r_hi)
        cover = _box_pixel_fraction(rows, centre - half, centre + half, EDGE_BLUR)
        sky_x = sky_electrons(lam, slit["dispersion"], nod_time, cond.sky_cont, cond.sky_lines)
        sky[r_lo:r_hi, x_lo:x_hi] += cover[:, None] * sky_x[None, :]
        if src is None:
            continue
        fwhm = np.hypot(cond.seeing, src.fwhm_int)
        sfrac = float(slit_fraction(fwhm, src.x_offset))
        sig_y = fwhm / C.SIGMA_TO_FWHM / PIXSCALE
        x_shift = src.x_offset / PIXSCALE           # across-slit offset moves the spectrum
        # continuum (smooth: no spectral convolution needed)
        lam_obj = slit_wavelengths(xs - x_shift, slit, cond.flex_dx)
        cont = src.f_lambda(lam_obj) * slit["dispersion"] * sensitivity(lam_obj) \
            * telluric_transmission(lam_obj, cond.airmass) * sfrac * nod_time
        spec = cont.copy()
        for lw, lf, ls in zip(src.line_wave, src.line_flux, src.line_sigma):
            xc = slit["x_ref"] + cond.flex_dx + x_shift + (lw - slit["lambda_ref"]) / slit["dispersion"]
            if xc < x_lo - 20 or xc > x_hi + 20:
                continue
            n_e = lf * sensitivity(lw) * telluric_transmission(lw, cond.airmass) * sfrac * nod_time
            sx = np.hypot(sig_res, ls) / slit["dispersion"]
            spec += n_e * _pixel_gauss(xs - 0.5, xs + 0.5, xc, sx)
        for nod_row, img in ((-NOD / 2, obj_a), (NOD / 2, obj_b)):
            yc = centre + nod_row + src.y_offset + cond.drift_dy
            prof = _pixel_gauss(rows - 0.5, rows + 0.5, yc, sig_y) * np.clip(cover, 0, 1)
            img[r_lo:r_hi, x_lo:x_hi] += prof[:, None] * spec[None, :]
    return sky, obj_a, obj_b


def shuffle_readout(img_a, img_b) -> np.ndarray:
    """N&S read-out: the packet with home row h saw row h at nod A and row h-16 at nod B."""
    out = img_a.copy()
    out[SHUFFLE:] += img_b[:-SHUFFLE]
    return out


def cosmic_rays(rng, shape, dark_time) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosmic-ray hits: pixel rows, columns and electrons (tracks of 1-15 px)."""
    ny, nx = shape
    area = ny * nx * PIXEL_CM**2
    n = rng.poisson(CR_RATE * area * dark_time / 60.0)
    ys, xs, es = [], [], []
    for _ in range(n):
        length = min(1 + rng.exponential(2.0), 15)
        ang = rng.uniform(0, np.pi)
        y0, x0 = rng.uniform(0, ny), rng.uniform(0, nx)
        npt = max(1, int(np.ceil(length)) * 2)
        t = np.linspace(0, length, npt)
        yy = np.clip((y0 + t * np.sin(ang)).astype(int), 0, ny - 1)
        xx = np.clip((x0 + t * np.cos(ang)).astype(int), 0, nx - 1)
        key = np.unique(yy * nx + xx)
        e_tot = 10 ** rng.normal(3.2, 0.35)
        ys.append(key // nx)
        xs.append(key % nx)
        es.append(np.full(key.size, e_tot / key.size) * rng.uniform(0.6, 1.4, key.size))
    if not ys:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(ys), np.concatenate(xs), np.concatenate(es)


def expose(detector: Detector, expected_light: np.ndarray, dark_time: float, n_cycles: int, rng,
           noise: bool = True):
    """Electrons read out: light x response + dark + hot pixels + traps, Poisson, cosmic
    rays, read noise. Returns the float32 frame and the cosmic-ray pixel list."""
    expect = expected_light * detector.response
    expect += DARK_CURRENT * dark_time / 3600.0 + detector.hot_rate * dark_time
    expect += detector.trap_image(n_cycles)
    if not noise:
        return expect.astype(np.float32), (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    frame = rng.poisson(np.clip(expect, 0, None)).astype(np.float64)
    cr = cosmic_rays(rng, frame.shape, dark_time)
    np.add.at(frame, (cr[0], cr[1]), cr[2])
    frame += rng.normal(0.0, RDNOISE, frame.shape)
    return frame.astype(np.float32), cr


# --------------------------------------------------------------------------- headers
def base_header(obstype: str, *, maskname: str, field: str, pointing: str, date_obs: str,
                airmass: float, n_cycles: int, t_cycle: float, ra=None, dec=None, expnum=0,
                layout: Layout | None = None) -> fits.Header:
    h = fits.Header()
    h["TELESCOP"] = ("Magellan II (Clay)", "mock observatory")
    h["INSTRUME"] = ("LDSS3", "mock instrument (redshift1.mock.ldss3)")
    h["OBSTYPE"] = (obstype, "SCIENCE, DARK or STANDARD")
    h["OBJECT"] = (maskname if obstype != "DARK" else "N&S dark")
    h["MASKNAME"] = (maskname, "slit mask (see masks/<MASKNAME>/design.ecsv)")
    h["FIELD"] = (field, "ROLES field")
    h["POINTING"] = (pointing, "ROLES pointing (Table 1)")
    if ra is not None:
        h["RA"] = (round(float(ra), 6), "[deg] pointing centre, ICRS")
        h["DEC"] = (round(float(dec), 6), "[deg] pointing centre, ICRS")
    h["EXPNUM"] = (int(expnum), "exposure number within the mask sequence")
    h["DATE-OBS"] = (date_obs, "UTC start of the exposure")
    h["AIRMASS"] = (round(float(airmass), 3), "mean airmass")
    nod_time = n_cycles * t_cycle if obstype != "DARK" else 0.0
    h["EXPTIME"] = (2 * nod_time, "[s] total shutter-open time (both nods)")
    h["NODTIME"] = (nod_time, "[s] shutter-open time per nod position")
    h["DARKTIME"] = (2 * n_cycles * t_cycle, "[s] time from erase to read-out")
    h["NCYCLES"] = (n_cycles, "nod-and-shuffle cycles")
    h["TCYCLE"] = (t_cycle, "[s] exposure per nod position per cycle")
    h["NODPIX"] = (NOD, "[pix] nod A->B along the slit (+y)")
    h["NODARCS"] = (NOD_ARCSEC, "[arcsec] nod A->B")
    h["SHUFFLE"] = (SHUFFLE, "[pix] shuffle; B region = A region + SHUFFLE")
    h["GAIN"] = (1.0, "[e-/ADU] frames are in electrons")
    h["RDNOISE"] = (RDNOISE, "[e-] read noise per pixel per read-out")
    h["BUNIT"] = ("electron", "pixel values")
    h["FILTER"] = (FILTER_NAME, "band-limiting filter (7040-8010 A)")
    h["GRISM"] = ("MED-RED", "300 l/mm medium red grism")
    h["DISPAXIS"] = (1, "dispersion along x, wavelength increasing")
    h["DISPERS"] = (DISPERSION, "[Angstrom/pix] nominal dispersion")
    h["SPECRES"] = (RES_FWHM, "[Angstrom] resolution FWHM")
    h["PIXSCALE"] = (PIXSCALE, "[arcsec/pix] spatial scale")
    h["SLITWID"] = (SLIT_WIDTH, "[arcsec] slit width")
    h["SLITLEN"] = (SLIT_LENGTH, "[arcsec] slit length")
    h["AIRORVAC"] = ("vac", "wavelengths are vacuum")
    h["PIXORIG"] = (0, "pixel indices in design tables are 0-based")
    if layout is not None:
        h["NTIERS"] = (layout.n_tiers, "tiers of spectra along x")
        h["TIERWID"] = (TIER_WIDTH, "[pix] columns per tier")
        h["NSLOTROW"] = (layout.n_rows, "slot rows (A+B = 32 rows each) per tier")
    return h


def frame_hdul(data: np.ndarray, header: fits.Header) -> fits.HDUList:
    return fits.HDUList([fits.PrimaryHDU(data=data.astype(np.float32), header=header)])


# --------------------------------------------------------------------------- standard star
def standard_spectrum() -> Table:
    """The flux standard's spectrum above the atmosphere (smooth model of an F star with
    V = 12.17, in the role of LTT 3864), f_λ on a 2 Å vacuum grid."""
    lam = np.arange(6600.0, 8402.0, 2.0)
    teff = 6500.0
    hc_k = 1.438777e8  # h c / k in Å K
    b = 1.0 / (lam**5 * np.expm1(hc_k / (lam * teff)))
    b5500 = 1.0 / (5500.0**5 * np.expm1(hc_k / (5500.0 * teff)))
    f5500 = 3.63e-9 * 10 ** (-0.4 * 12.17)      # erg/s/cm²/Å at V
    flux = f5500 * b / b5500
    t = Table({"wavelength": lam * u.AA, "flux": flux * u.erg / u.s / u.cm**2 / u.AA})
    t.meta["description"] = ("Flux standard spectrum above the atmosphere (no telluric absorption); "
                             "a smooth model SED standing in for LTT 3864")
    t.meta["star"] = "LTT3864"
    t.meta["frame"] = "vacuum"
    return t
