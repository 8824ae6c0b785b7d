"""Photometric redshifts of the mock catalogues: point estimates, PDFs on :data:`ZGRID`
(with catastrophic outliers and double peaks), window probabilities and SED masses."""
from __future__ import annotations

import numpy as np
from astropy.table import Table

from ...cosmology import ROLES_COSMO
from .fields import OII_WINDOW, ZGRID, FieldSpec


def draw_photoz(t: Table, spec: FieldSpec, rng):
    """Photo-z point estimates and PDFs on :data:`ZGRID` (one row per galaxy)."""
    z = np.asarray(t["z_true"], float)
    k = np.asarray(t["K"], float)
    n = len(t)
    s1 = spec.photz_sigma0 * (1 + 0.6 * np.clip((k - 22.0) / 2.0, 0, 1.25))   # σ/(1+z)
    sig = s1 * (1 + z)
    kind = np.zeros(n, int)                               # 0 normal, 1 catastrophic, 2 double
    u_ = rng.random(n)
    kind[u_ < spec.f_catastrophic] = 1
    kind[(u_ >= spec.f_catastrophic) & (u_ < spec.f_catastrophic + spec.f_double)] = 2
    z_good = np.clip(z + sig * rng.standard_normal(n), 0.01, 3.95)
    z_cat = rng.uniform(0.05, 3.5, n)
    alias = np.clip((1 + z_good) * 10 ** (rng.choice([-1, 1], n) * rng.uniform(0.12, 0.3, n)) - 1, 0.01, 3.95)
    w2 = rng.uniform(0.15, 0.5, n)
    truth_secondary = rng.random(n) < 0.35
    main = np.where(kind == 1, z_cat, np.where((kind == 2) & truth_secondary, alias, z_good))
    second = np.where(truth_secondary, z_good, alias)
    pdf = np.exp(-0.5 * ((ZGRID[None, :] - main[:, None]) / sig[:, None]) ** 2)
    pdf /= pdf.sum(1, keepdims=True)
    dbl = kind == 2
    if dbl.any():
        p2 = np.exp(-0.5 * ((ZGRID[None, :] - second[dbl, None]) / (1.2 * sig[dbl, None])) ** 2)
        p2 /= p2.sum(1, keepdims=True)
        pdf[dbl] = (1 - w2[dbl, None]) * pdf[dbl] + w2[dbl, None] * p2
    broad = np.exp(-0.5 * ((ZGRID[None, :] - main[:, None]) / (0.3 * (1 + main[:, None]))) ** 2)
    broad /= broad.sum(1, keepdims=True)
    pdf = 0.99 * pdf + 0.01 * broad
    dz = ZGRID[1] - ZGRID[0]
    pdf = (pdf / (pdf.sum(1, keepdims=True) * dz)).astype(np.float32)
    cdf = np.cumsum(pdf, 1) * dz
    lo = ZGRID[np.argmax(cdf >= 0.16, 1)]
    hi = ZGRID[np.argmax(cdf >= 0.84, 1)]
    return main, lo, hi, pdf, kind


def window_probability(pdf, window=OII_WINDOW):
    """Integral of each PDF row over the redshift ``window`` (default: the [OII] window)."""
    dz = ZGRID[1] - ZGRID[0]
    sel = (ZGRID >= window[0]) & (ZGRID <= window[1])
    return pdf[:, sel].sum(1) * dz


def sed_mass(t: Table, z_phot, rng, err=0.1):
    """SED-fit stellar mass at the photometric redshift (mass scales as d_L²)."""
    z = np.asarray(t["z_true"], float)
    zp = np.clip(np.asarray(z_phot, float), 0.02, None)
    dl = ROLES_COSMO.luminosity_distance(z).value
    dlp = ROLES_COSMO.luminosity_distance(zp).value
    return np.asarray(t["logm_true"]) + 2 * np.log10(dlp / dl) + rng.normal(0, err, len(t))
