"""A small, independent writer of LDSS3 nod-and-shuffle mask folders, for tests.

Written from ``docs/data-format.md`` (LDSS3) alone -- it shares no code with the project's
mock -- so that the tests can place every line, bad column, charge trap and cosmic ray
exactly where a case needs it. One tier of 400 columns, ``n_slots`` slots of 32 rows
(region A = 16 rows under the slit, region B = region A + 16), vacuum wavelengths
``lambda(x) = 7525 + 2.7 (x - 200)``; frames in electrons with sky (continuum + night-sky
lines at the instrument resolution), Poisson noise and one read of 3.4 e- per pixel.

Everything is in electrons per nod position per exposure; a line of ``counts`` electrons
(per nod, per exposure) is a pixel-integrated 2-D Gaussian (spectral FWHM 11.4 A, spatial
FWHM ``fwhm_y`` px) at nod A (``nod_a_row + dy``) and nod B (6 rows higher).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from scipy.special import erf

NX, TIERWID, SLOT, SHUFFLE, NOD = 400, 400, 32, 16, 6
LAMBDA_REF, X_REF, DISP, SPECRES = 7525.0, 200.0, 2.7, 11.4
RDNOISE, NCYCLES, TCYCLE = 3.4, 20, 60.0
NODTIME = NCYCLES * TCYCLE
SKY_CONT = 25.0                    # e-/px per nod per exposure at the filter's peak
DARK = 0.5                         # e-/px per exposure (dark current of the whole N&S cycle)
NAD_ROW = 5                        # nod-A object row above a_row_lo
# night-sky lines: the published vacuum line list shipped with the package (data, not code);
# strength = line flux in units of (continuum per Å) x Å
SKY_LINE_FILE = Path(__file__).resolve().parents[1] / "lib" / "redshift1" / "data" / "sky_lines_optical.ecsv"


def wave_of(x, dx: float = 0.0):
    """Vacuum wavelength of column ``x`` (exposure shifted by ``dx`` columns)."""
    return LAMBDA_REF + DISP * (np.asarray(x, float) - X_REF - dx)


def column_of(wave):
    """Column of wavelength ``wave`` at zero flexure."""
    return X_REF + (np.asarray(wave, float) - LAMBDA_REF) / DISP


def a_row_lo(slot: int) -> int:
    return 16 + SLOT * slot


def nod_a_row(slot: int) -> int:
    return a_row_lo(slot) + NAD_ROW


def _filter(lam):
    return 1.0 / ((1 + np.exp(-(lam - 7040.0) / 12.0)) * (1 + np.exp((lam - 8010.0) / 12.0)))


def _pix_gauss(edges_lo, centre, sigma):
    """Fraction of a unit Gaussian inside [lo, lo + 1)."""
    s = np.sqrt(2.0) * sigma
    return 0.5 * (erf((edges_lo + 1.0 - centre) / s) - erf((edges_lo - centre) / s))


def sky_spectrum(x, dx: float = 0.0):
    """Sky per pixel (e-, one nod, one exposure) at columns ``x``: continuum + OH lines."""
    lam = wave_of(x, dx)
    sig = SPECRES / 2.3548 / DISP
    out = SKY_CONT * _filter(lam)
    t = Table.read(SKY_LINE_FILE, format="ascii.ecsv")
    for lw, strength in zip(np.asarray(t["wavelength"], float), np.asarray(t["strength"], float)):
        e_line = strength * SKY_CONT / DISP * _filter(lw)          # electrons in the whole line
        out = out + e_line * _pix_gauss(np.asarray(x, float) - 0.5, column_of(lw) + dx, sig)
    return out


@dataclass
class Line:
    """An emission line in slot ``slot`` (electrons per nod per exposure)."""
    slot: int
    wave: float
    counts: float
    dy: float = 0.0
    fwhm_y: float = 3.7


@dataclass
class Continuum:
    """A galaxy continuum in slot ``slot``: ``level`` e-/column (whole profile) per nod per exposure
    at the filter's peak, following the KG750 filter."""
    slot: int
    level: float
    dy: float = 0.0
    fwhm_y: float = 3.7


@dataclass
class Cosmic:
    """Electrons added to pixels ``(y, x)`` (detector coordinates) of exposure ``exp`` (0-based)."""
    exp: int
    pixels: list
    electrons: float = 3000.0


@dataclass
class Survey:
    """What to write (see :func:`write_survey`)."""
    n_slots: int = 6
    n_exp: int = 4
    seed: int = 1
    lines: list = field(default_factory=list)
    continua: list = field(default_factory=list)
    bad_columns: list = field(default_factory=list)    # (x, y_lo, y_hi): bpm = 1, pixels hot
    traps: list = field(default_factory=list)          # (x, y, electrons at the defect, decay rows)
    cosmics: list = field(default_factory=list)
    flexure_dx: tuple = (0.0, 0.3, -0.4, 0.6)          # columns, per exposure
    standard: bool = True
    standard_slot: int | None = None                   # default: the last slot
    mask: str = "mask1"
    hot_level: float = 400.0                           # e- added on bad columns
    leak: float = 0.0                                  # fraction of the sky spilling into the last
                                                       # two region-B rows (a slit-end residual)

    @property
    def shape(self):
        return (SLOT * self.n_slots + 32, NX)


def _header(kind: str, s: Survey, expnum: int, **extra) -> fits.Header:
    h = fits.Header()
    sci = kind == "SCIENCE"
    ncyc, tcyc = (2, 10.0) if kind == "STANDARD" else (NCYCLES, TCYCLE)
    nodtime = 0.0 if kind == "DARK" else ncyc * tcyc
    vals = {"TELESCOP": "Magellan II (Clay)", "INSTRUME": "LDSS3", "OBSTYPE": kind,
            "OBJECT": s.mask if sci else ("N&S dark" if kind == "DARK" else "LTT3864"),
            "MASKNAME": s.mask if kind != "DARK" else "none", "FIELD": "CDFS" if sci else "none",
            "POINTING": "CDFS.1" if sci else "none", "EXPNUM": expnum,
            "DATE-OBS": f"2005-01-0{min(expnum, 9)}T03:00:00", "AIRMASS": 1.1, "EXPTIME": 2 * nodtime,
            "NODTIME": nodtime, "DARKTIME": 2 * ncyc * tcyc + 30, "NCYCLES": ncyc, "TCYCLE": tcyc,
            "NODPIX": NOD, "NODARCS": 1.2, "SHUFFLE": SHUFFLE, "GAIN": 1.0, "RDNOISE": RDNOISE,
            "BUNIT": "electron", "FILTER": "KG750", "GRISM": "MED-RED", "DISPAXIS": 1, "DISPERS": DISP,
            "SPECRES": SPECRES, "PIXSCALE": 0.189, "SLITWID": 0.8, "SLITLEN": 3.0, "AIRORVAC": "vac",
            "PIXORIG": 0, "NTIERS": 1, "TIERWID": TIERWID, "NSLOTROW": s.n_slots}
    vals.update(extra)
    for k, v in vals.items():
        h[k] = v
    return h


def _design(s: Survey) -> Table:
    n = s.n_slots
    lo = np.array([a_row_lo(k) for k in range(n)])
    std = n - 1 if s.standard_slot is None else s.standard_slot
    t = Table()
    t["slit_id"] = np.arange(1, n + 1)
    t["object_id"] = [f"CDFS-{k + 1:05d}" for k in range(n)]
    t["field"] = ["CDFS"] * n
    t["ra"] = 53.1 + 0.001 * np.arange(n)
    t["ra"].unit = "deg"
    t["dec"] = -27.8 + 0.001 * np.arange(n)
    t["dec"].unit = "deg"
    t["K"] = np.full(n, 23.0)
    t["K"].unit = "mag"
    t["tier"] = np.zeros(n, int)
    t["slot_row"] = np.arange(n)
    t["x_lo"] = np.zeros(n, int)
    t["x_hi"] = np.full(n, NX)
    t["x_ref"] = np.full(n, X_REF)
    t["lambda_ref"] = np.full(n, LAMBDA_REF)
    t["dispersion"] = np.full(n, DISP)
    t["a_row_lo"], t["a_row_hi"] = lo, lo + SHUFFLE
    t["b_row_lo"], t["b_row_hi"] = lo + SHUFFLE, lo + 2 * SHUFFLE
    t["slit_center_row"] = lo + 7.5
    t["nod_a_row"] = (lo + NAD_ROW).astype(float)
    t["nod_b_row"] = (lo + NAD_ROW + NOD).astype(float)
    for c in ("x_lo", "x_hi", "x_ref", "a_row_lo", "a_row_hi", "b_row_lo", "b_row_hi", "slit_center_row",
              "nod_a_row", "nod_b_row"):
        t[c].unit = "pix"
    t["lambda_ref"].unit = "Angstrom"
    t["dispersion"].unit = "Angstrom / pix"
    t["is_roles_target"] = np.ones(n, bool)
    t["is_repeat"] = np.zeros(n, bool)
    t["is_filler"] = np.zeros(n, bool)
    t["is_standard_slit"] = np.arange(n) == std
    t.meta.update({"description": "hand-built test mask", "contract": "docs/data-format.md", "mask": s.mask,
                   "field": "CDFS", "pointing": "CDFS.1", "n_exposures": s.n_exp, "wavelength_frame": "vacuum",
                   "nod": NOD, "shuffle": SHUFFLE, "frame_shape": list(s.shape), "n_tiers": 1,
                   "tier_width": TIERWID, "slit_width_arcsec": 0.8, "slit_length_arcsec": 3.0})
    return t


def _trap_image(s: Survey):
    img = np.zeros(s.shape)
    for x, y, q, decay in s.traps:
        r = np.arange(SHUFFLE)
        yy = y + r
        ok = yy < s.shape[0]
        img[yy[ok], x] += q * np.exp(-r[ok] / decay)
    return img


def _defects(s: Survey, rng):
    """Dark current, hot bad columns and charge-trap streaks of one frame (no noise)."""
    img = np.full(s.shape, DARK) + _trap_image(s)
    for x, y0, y1 in s.bad_columns:
        img[y0:y1, x] += s.hot_level
    return img


def _slit_light(s: Survey, dx: float, lines, per_nod_sky: float = 1.0):
    """Sky + object light of every slit, regions A and B, for a flexure ``dx``."""
    img = np.zeros(s.shape)
    x = np.arange(NX)
    sky = sky_spectrum(x, dx) * per_nod_sky
    rows = np.arange(SHUFFLE)
    cover = _slit_cover(rows)
    for k in range(s.n_slots):
        lo = a_row_lo(k)
        img[lo:lo + SHUFFLE] += cover[:, None] * sky[None, :]
        img[lo + SHUFFLE:lo + 2 * SHUFFLE] += cover[:, None] * sky[None, :]
        if s.leak:
            img[lo + 2 * SHUFFLE - 2:lo + 2 * SHUFFLE] += s.leak * sky[None, :]
    sig_x = SPECRES / 2.3548 / DISP
    for cn in s.continua:
        lo = a_row_lo(cn.slot)
        spec = cn.level * _filter(wave_of(x, dx))
        sy = cn.fwhm_y / 2.3548
        pa = _pix_gauss(rows - 0.5, NAD_ROW + cn.dy, sy) * cover
        pb = _pix_gauss(rows - 0.5, NAD_ROW + NOD + cn.dy, sy) * cover
        img[lo:lo + SHUFFLE] += pa[:, None] * spec[None, :]
        img[lo + SHUFFLE:lo + 2 * SHUFFLE] += pb[:, None] * spec[None, :]
    for ln in lines:
        lo = a_row_lo(ln.slot)
        px = _pix_gauss(x - 0.5, column_of(ln.wave) + dx, sig_x)
        sy = ln.fwhm_y / 2.3548
        pa = _pix_gauss(rows - 0.5, NAD_ROW + ln.dy, sy) * cover
        pb = _pix_gauss(rows - 0.5, NAD_ROW + NOD + ln.dy, sy) * cover
        img[lo:lo + SHUFFLE] += ln.counts * pa[:, None] * px[None, :]
        img[lo + SHUFFLE:lo + 2 * SHUFFLE] += ln.counts * pb[:, None] * px[None, :]
    return img


def _slit_cover(rows):
    """Fraction of each region-A row under the slit (3.0" = 15.87 px centred on row 7.5)."""
    half = 3.0 / 0.189 / 2
    lo, hi = 7.5 - half, 7.5 + half
    return np.clip(np.minimum(rows + 0.5, hi) - np.maximum(rows - 0.5, lo), 0.0, 1.0)


def _noisy(rng, expected):
    return (rng.poisson(np.clip(expected, 0, None)) + rng.normal(0.0, RDNOISE, expected.shape)).astype(np.float32)


def write_survey(root, s: Survey) -> Path:
    """Write ``root/ldss3`` (masks/<mask>/design.ecsv + raw/, calib/bpm.fits, calib/darks/,
    optionally calib/standard/) and return the ldss3 folder."""
    rng = np.random.default_rng(s.seed)
    top = Path(root) / "ldss3"
    mdir = top / "masks" / s.mask
    (mdir / "raw").mkdir(parents=True, exist_ok=True)
    (top / "calib" / "darks").mkdir(parents=True, exist_ok=True)
    _design(s).write(mdir / "design.ecsv", format="ascii.ecsv", overwrite=True)
    bpm = np.zeros(s.shape, np.uint8)
    for x, y0, y1 in s.bad_columns:
        bpm[y0:y1, x] = 1
    hb = fits.Header()
    hb["OBSTYPE"], hb["BPMDEF"], hb["PIXORIG"] = "BPM", "1 = bad", 0
    fits.PrimaryHDU(bpm, header=hb).writeto(top / "calib" / "bpm.fits", overwrite=True)
    for d in range(3):
        dark = _noisy(rng, _defects(s, rng))
        fits.PrimaryHDU(dark, header=_header("DARK", s, d + 1)).writeto(
            top / "calib" / "darks" / f"nsdark_{d + 1:03d}.fits", overwrite=True)
    for e in range(s.n_exp):
        dx = s.flexure_dx[e % len(s.flexure_dx)]
        img = _noisy(rng, _defects(s, rng) + _slit_light(s, dx, s.lines))
        for c in s.cosmics:
            if c.exp == e:
                for y, x in c.pixels:
                    img[y, x] += c.electrons
        fits.PrimaryHDU(img, header=_header("SCIENCE", s, e + 1)).writeto(
            mdir / "raw" / f"{s.mask}_{e + 1:03d}.fits", overwrite=True)
    if s.standard:
        _write_standard(top, s, rng)
    (top / "manifest.json").write_text(json.dumps({"generator": "tests/ldss3_frames.py", "masks": [s.mask]}))
    return top


def _write_standard(top: Path, s: Survey, rng):
    sdir = top / "calib" / "standard"
    sdir.mkdir(parents=True, exist_ok=True)
    slot = s.n_slots - 1 if s.standard_slot is None else s.standard_slot
    lam = np.arange(6900.0, 8150.0, 5.0)
    f_lam = 2e-15 * (lam / 7500.0) ** -2            # erg s-1 cm-2 A-1, smooth
    spec = Table({"wavelength": lam, "flux": f_lam})
    spec["wavelength"].unit = "Angstrom"
    spec["flux"].unit = "erg / (s cm2 Angstrom)"
    spec.meta.update({"description": "test standard", "wavelength_frame": "vacuum", "frame": "vacuum"})
    spec.write(sdir / "LTT3864_spectrum.ecsv", format="ascii.ecsv", overwrite=True)
    nodtime = 20.0
    x = np.arange(NX)
    lamx = wave_of(x)
    # e- per column per nod: flux x dispersion x 2e16 x filter x 0.7 (slit) x NODTIME
    star = np.interp(lamx, lam, f_lam) * DISP * 2e16 * 0.85 * _filter(lamx) * 0.7 * nodtime
    img = _defects(s, rng) * 0.05 + _slit_light(s, 0.0, [], per_nod_sky=nodtime / NODTIME)
    rows = np.arange(SHUFFLE)
    lo = a_row_lo(slot)
    sy = 3.7 / 2.3548
    pa = _pix_gauss(rows - 0.5, NAD_ROW, sy) * _slit_cover(rows)
    pb = _pix_gauss(rows - 0.5, NAD_ROW + NOD, sy) * _slit_cover(rows)
    img[lo:lo + SHUFFLE] += pa[:, None] * star[None, :]
    img[lo + SHUFFLE:lo + 2 * SHUFFLE] += pb[:, None] * star[None, :]
    h = _header("STANDARD", s, 1, STDNAME="LTT3864", STDSLIT=slot + 1)
    fits.PrimaryHDU(_noisy(rng, img), header=h).writeto(sdir / "standard_001.fits", overwrite=True)
