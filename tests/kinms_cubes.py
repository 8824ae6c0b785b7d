"""KMOS cubes of rotating discs from an independent forward model, KinMS (Davis et al. 2013).

The project's mock cannot be the only judge of its measurements: these cubes come from
KinMS (exponential surface brightness, inclination, arctan rotation curve, dispersion,
PSF), are written in the ESO KMOS layout (empty primary, ``<ARM>.DATA`` / ``<ARM>.NOISE``,
14×14 spaxels of 0.2″, 2048 channels on the YJ grid, vacuum µm) by hand-built headers and
read back through the project's loader. Hα + [NII]6548,6583 share the KinMS line-of-sight
velocity structure; the noise σ rises on the OH lines of the KMOS YJ sky table. Each cube
is generated at test time from a seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d

C_KMS = 299792.458
LAM0_UM, DLAM_UM, NCHAN, NPIX, PIX = 1.0, 1.75292952917516e-4, 2048, 14, 0.2
R_KMOS = 3300.0                                    # YJ resolving power (KMOS manual: ~3000-3500)
REST_UM = {"halpha": 0.656461, "nii6583": 0.658523, "nii6548": 0.654986}   # vacuum
NII_RATIO = 1 / 2.95                               # [NII]6548 / 6583 (atomic physics)
SKY_TABLE = Path(__file__).resolve().parents[1] / "lib" / "redshift1" / "data" / "sky_oh_lines_kmos_yj.ecsv"
#: KinMS field (arcsec) larger than the IFU, so light beyond the 2.8″ field is modelled
FIELD = 9.6
HALF_LIGHT_EXP = 1.6783469900166612                # r½ / r_d of an exponential disc


def wavelengths_um() -> np.ndarray:
    return LAM0_UM + DLAM_UM * np.arange(NCHAN)


def oh_noise_shape(wave_um: np.ndarray) -> np.ndarray:
    """Relative noise σ per channel: 1 between OH lines, rising to ~1+√(strength/4) on them
    (sky photon noise ∝ √sky), each line at the instrument's resolution."""
    t = Table.read(SKY_TABLE, format="ascii.ecsv")
    lines = np.asarray(t["wavelength"], float)
    strength = np.asarray(t["strength"], float)
    sig = wave_um[:, None] / (2.3548 * R_KMOS)
    sky = (strength[None] * np.exp(-0.5 * ((wave_um[:, None] - lines[None]) / sig) ** 2)).sum(axis=1)
    return np.sqrt(1.0 + sky / 4.0)


def kinms_line_cube(rng, r_d, inc, pa, v_max, r_turn, sigma, psf_fwhm, dv=10.0, vrange=1600.0, n_samps=60000):
    """Unit-flux KinMS cube (x, y, v) of an exponential disc over a ``FIELD``″ field, and the
    velocity of each channel (km/s). Its exponential scale height, 0.25 r_d, makes the
    edge-on axis ratio ≈0.2 (measured with a disc-model fit), the q0 the pipeline assumes."""
    from kinms import KinMS

    r = np.arange(0, FIELD, 0.01)
    seed = int(rng.integers(1, 2**24))   # KinMS multiplies it by 100-103
    k = KinMS(FIELD, FIELD, vrange, PIX, dv, [psf_fwhm, psf_fwhm, 0.0], nSamps=n_samps, seed=seed, fixSeed=True)
    cube = k.model_cube(inc=inc, posAng=pa, gasSigma=sigma, sbProf=np.exp(-r / r_d), sbRad=r, velRad=r,
                        velProf=v_max * 2 / np.pi * np.arctan(r / max(r_turn, 1e-3)), intFlux=1.0,
                        diskThick=0.25 * r_d)
    cube = np.asarray(cube, float)
    cube /= cube.sum()
    nv = cube.shape[2]
    v = (np.arange(nv) - nv // 2) * dv
    return cube, v


def galaxy_params(rng, kind: str = "disc") -> dict:
    """Random truth of one galaxy. ``kind``: ``disc`` (0.2-0.7″ scale lengths: r½ 0.35-1.2″,
    the larger overfilling the 2.8″ IFU), ``compact`` (r_d 0.05-0.15″), ``faint`` (a disc
    at S/N ~4-8)."""
    g = dict(z=rng.uniform(0.83, 0.87), inc=float(np.degrees(np.arccos(rng.uniform(0.25, 0.85)))),
             pa=rng.uniform(0, 180), v_max=rng.uniform(120, 250), r_turn=rng.uniform(0.05, 0.2),
             sigma=rng.uniform(30, 70), log_n2=rng.uniform(-0.7, -0.3), psf_fwhm=rng.uniform(0.5, 0.8),
             dx=rng.normal(0, 1.0), dy=rng.normal(0, 1.0), flux_halpha=10 ** rng.uniform(-16.0, -15.5),
             noise=5e-16)
    if kind == "disc":
        g["r_d"] = rng.uniform(0.2, 0.7)
    elif kind == "compact":
        g["r_d"] = rng.uniform(0.05, 0.15)
    elif kind == "faint":
        g["r_d"] = rng.uniform(0.15, 0.4)
        g["flux_halpha"] = 10 ** rng.uniform(-17.0, -16.6)
    else:
        raise ValueError(kind)
    g["kind"] = kind
    g["r_half"] = HALF_LIGHT_EXP * g["r_d"]
    return g


def kinms_kmos_cube(g: dict, rng) -> tuple[np.ndarray, np.ndarray, float]:
    """DATA and NOISE (2048, 14, 14) in erg/s/cm²/µm for the truth ``g``, and the fraction
    of the line flux inside the IFU."""
    unit, v = kinms_line_cube(rng, g["r_d"], g["inc"], g["pa"], g["v_max"], g["r_turn"], g["sigma"], g["psf_fwhm"])
    # instrumental broadening (the fit's intrinsic σ excludes it)
    dv = v[1] - v[0]
    unit = gaussian_filter1d(unit, C_KMS / (2.3548 * R_KMOS) / dv, axis=2, mode="constant")
    nbig = unit.shape[0]
    x0 = nbig // 2 - NPIX // 2 + int(round(g["dx"]))
    y0 = nbig // 2 - NPIX // 2 + int(round(g["dy"]))
    # KinMS returns (x, y, v); KMOS files store (λ, y, x)
    crop = unit[x0:x0 + NPIX, y0:y0 + NPIX, :].transpose(2, 1, 0)
    in_field = float(crop.sum())
    lam = wavelengths_um()
    data = np.zeros((NCHAN, NPIX, NPIX))
    fluxes = {"halpha": g["flux_halpha"], "nii6583": g["flux_halpha"] * 10 ** g["log_n2"]}
    fluxes["nii6548"] = fluxes["nii6583"] * NII_RATIO
    for line, f in fluxes.items():
        centre = REST_UM[line] * (1 + g["z"])
        lam_v = centre * (1 + v / C_KMS)
        dlam_v = centre * dv / C_KMS
        sel = (lam > lam_v[0]) & (lam < lam_v[-1])
        flat = crop.reshape(crop.shape[0], -1)
        dens = np.array([np.interp(lam[sel], lam_v, flat[:, i]) for i in range(flat.shape[1])]).T
        data[sel] += f * dens.reshape(-1, NPIX, NPIX) / dlam_v
    sigma = g["noise"] * oh_noise_shape(lam)[:, None, None] * np.ones((1, NPIX, NPIX))
    data = data + 2e-17 + rng.normal(size=data.shape) * sigma          # a faint flat continuum
    # the ends of the band hold no data in ESO products
    dead = (lam < 1.02) | (lam > 1.35)
    data[dead] = np.nan
    sigma[dead] = np.nan
    return data, sigma, in_field


def write_kmos_fits(path, data, noise, name="KINMS1"):
    """Hand-built ESO KMOS layout: empty primary, ``<ARM>.DATA``, ``<ARM>.NOISE``."""
    prim = fits.Header()
    prim["OBJECT"] = name
    prim["HIERARCH ESO PRO CATG"] = "SCI_RECONSTRUCTED"
    prim["HIERARCH ESO PRO SPEC FRAME"] = "VACUUM"
    prim["HIERARCH ESO INS FILT1 ID"] = "YJ"
    scale = PIX / 3600.0
    hdus = [fits.PrimaryHDU(header=prim)]
    for kind, arr in (("DATA", data), ("NOISE", noise)):
        h = fits.Header()
        for k, val in (("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CTYPE3", "WAVE"), ("CUNIT1", "deg"),
                       ("CUNIT2", "deg"), ("CUNIT3", "um"), ("CRPIX1", 7.5), ("CRPIX2", 7.5), ("CRPIX3", 1.0),
                       ("CRVAL1", 53.1), ("CRVAL2", -27.8), ("CRVAL3", LAM0_UM), ("CD1_1", -scale), ("CD1_2", 0.0),
                       ("CD2_1", 0.0), ("CD2_2", scale), ("CD3_3", DLAM_UM), ("CD1_3", 0.0), ("CD2_3", 0.0),
                       ("CD3_1", 0.0), ("CD3_2", 0.0), ("RADESYS", "FK5"), ("EQUINOX", 2000.0),
                       ("EXTNAME", f"{name}.{kind}"), ("BUNIT", "erg.s**-1.cm**-2.um**-1")):
            h[k] = val
        hdus.append(fits.ImageHDU(np.asarray(arr, np.float32), header=h))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return Path(path)


def make_sample(folder, n: int, seed: int, kinds=("disc", "compact", "faint"), weights=(0.6, 0.2, 0.2)):
    """``n`` seeded KinMS cubes written under ``folder``; returns [(path, truth dict)]."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = kinds[rng.choice(len(kinds), p=np.asarray(weights) / np.sum(weights))]
        g = galaxy_params(rng, kind)
        data, noise, in_field = kinms_kmos_cube(g, rng)
        g["in_field"] = in_field
        g["id"] = f"KINMS{i:03d}"
        path = write_kmos_fits(Path(folder) / f"{g['id']}.fits", data, noise, name=g["id"])
        out.append((path, g))
    return out
