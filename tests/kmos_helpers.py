"""Build in-memory KMOS cubes from the mock instrument for injection-recovery tests."""
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.wcs import WCS

from redshift1 import constants as C
from redshift1.kmos.cube import KMOSCube, cube_wcs_header
from redshift1.mock.kmos import KMOSNoise, PSF, observe_cube, wavelength_grid

WAVE = wavelength_grid()


def galaxy(rng, **over):
    g = dict(z=rng.uniform(0.82, 0.95), flux_halpha=10 ** rng.uniform(-16.4, -15.6), r_half_arcsec=rng.uniform(0.35, 0.9),
             x0=6.5 + rng.normal(0, 0.4), y0=6.5 + rng.normal(0, 0.4), pa=rng.uniform(0, 180),
             inclination=np.degrees(np.arccos(rng.uniform(0.3, 0.95))), v_max=rng.uniform(80, 220),
             r_turn_arcsec=0.1, sigma0=50.0, re_star_arcsec=0.4, sersic_n=1.0, q_star=0.7, k_ab=rng.uniform(20.5, 22.5))
    g["flux_nii6583"] = g["flux_halpha"] * rng.uniform(0.15, 0.4)
    g.update(over)
    return g


def mock_cube(gal, psf=PSF(0.6, 0.06, 20.0), noise=KMOSNoise(), seed=0, name="TEST"):
    data, sigma, extra = observe_cube(gal, psf, noise, np.random.default_rng(seed), WAVE.to_value(u.um))
    h = cube_wcs_header(150.0, 2.0, (7.5, 7.5), C.KMOS_PIXSCALE.value, C.KMOS_LAM0.value, C.KMOS_DLAM.value)
    cube = KMOSCube(data=data.astype(float), noise=sigma.astype(float), wavelength=WAVE, wcs=WCS(h, naxis=2),
                    unit=u.Unit("erg s-1 cm-2 um-1"), unit_known=True, name=name, path=Path(f"{name}.fits"),
                    header=fits.Header())
    return cube, extra
