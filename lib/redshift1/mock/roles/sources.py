"""What falls into a slit: the emission lines near the KG750 window, the continuum and the
offsets of one galaxy, and the expected matched-filter S/N of a line (truth helper)."""
from __future__ import annotations

import numpy as np
import astropy.units as u

from ... import constants as C
from .. import ldss3 as L
from ..rng import stream

# vacuum rest wavelengths (Å) of the lines the mock puts into spectra
OII_DOUBLET = (3727.09, 3729.88)          # equal components: flux-weighted mean = OII_3727
LINES = {
    "OII_3727": C.OII_3727.to_value(u.AA),
    "NeIII_3869": 3870.16,
    "Hbeta": C.HBETA.to_value(u.AA),
    "OIII_4959": C.OIII_4959.to_value(u.AA),
    "OIII_5007": C.OIII_5007.to_value(u.AA),
    "NII_6548": C.NII_6548.to_value(u.AA),
    "Halpha": C.HALPHA.to_value(u.AA),
    "NII_6583": C.NII_6583.to_value(u.AA),
    "SII_6716": 6718.29,
    "SII_6731": 6732.67,
}

SPECTRUM_RANGE = (6950.0, 8100.0)         # lines rendered if they fall here (filter wings included)


def slit_source(row, seed: int, mask: str, slit_id: int, injected=False) -> L.SlitSource:
    """The galaxy in one slit: its lines falling near the KG750 window, continuum, offsets."""
    rng = stream(seed, "ldss3", mask, "slit", slit_id)
    z = float(row["z_true"])
    waves, fluxes, sigmas, names = [], [], [], []
    for name, rest in LINES.items():
        f = float(row["f_" + name])
        parts = [(OII_DOUBLET[0], 0.5), (OII_DOUBLET[1], 0.5)] if name == "OII_3727" else [(rest, 1.0)]
        for r_, frac in parts:
            lam = r_ * (1 + z)
            if SPECTRUM_RANGE[0] <= lam <= SPECTRUM_RANGE[1] and f > 0:
                waves.append(lam)
                fluxes.append(f * frac)
                sigmas.append(lam * float(row["sigma_kms"]) / C.C_KMS)
                names.append(name)
    y_off = 0.0 if injected else float(np.clip(rng.normal(0, 0.5), -1.5, 1.5))
    x_off = 0.0 if injected else float(np.clip(rng.normal(0, 0.07), -0.3, 0.3))
    src = L.SlitSource(np.array(waves), np.array(fluxes), np.array(sigmas),
                       cont_ab=float(row["m7500"]), cont_beta=0.0, fwhm_int=float(row["fwhm_int"]),
                       y_offset=y_off, x_offset=x_off)
    src.names = names
    return src


def expected_line_snr(flux, lam, sigma_int, dispersion, conds, fwhm_int, x_off, nod_time):
    """Matched-filter S/N of a line in the combined A'-B' frame of one mask (truth helper):
    counts of both nods per exposure over N = sqrt(2 (sky + 2R²) / n_exp) per pixel."""
    n = len(conds)
    sf = np.mean([L.slit_fraction(np.hypot(c.seeing, fwhm_int), x_off) for c in conds])
    tt = np.mean([L.telluric_transmission(lam, c.airmass) for c in conds])
    sky = np.mean([L.sky_electrons(lam + np.array([-2.0, 0, 2.0]) * dispersion, dispersion, nod_time,
                                   c.sky_cont, c.sky_lines).max() for c in conds])
    counts = flux * L.sensitivity(lam) * tt * sf * 2 * nod_time
    noise = np.sqrt(2 * (sky + 2 * L.RDNOISE**2) / n)
    sx = np.hypot(L.RES_FWHM * C.FWHM_TO_SIGMA, sigma_int) / dispersion
    sy = np.mean([np.hypot(c.seeing, fwhm_int) for c in conds]) * C.FWHM_TO_SIGMA / L.PIXSCALE
    return float(counts / (noise * np.sqrt(4 * np.pi * sx * sy))), float(counts / 2)
