"""Rest wavelengths and instrument facts shared by the mock and the pipeline.

KMOS products are calibrated in **vacuum** wavelengths, so KROSS uses vacuum rest
wavelengths (the paper quotes air values; the difference is 2.8e-4 in z). LDSS3
wavelengths in this compendium are vacuum too (the sky model used to build the
mock sky is vacuum); the data contract states the frame of every axis.
"""
import astropy.constants as const
import astropy.units as u
import numpy as np

#: Speed of light [km/s] (astropy.constants.c; exact by definition).
C_KMS = const.c.to_value(u.km / u.s)

#: FWHM / σ of a Gaussian, 2 sqrt(2 ln 2) = 2.35482; its inverse converts a FWHM to σ.
SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))
FWHM_TO_SIGMA = 1.0 / SIGMA_TO_FWHM

#: σ / MAD of a Gaussian, 1 / Φ⁻¹(3/4) = 1.4826 (the factor inside ``astropy.stats.mad_std``); only
#: for a median absolute deviation about a fixed centre, where ``mad_std`` (about the median) does not apply.
MAD_TO_SIGMA = 1.482602218505602

#: Standard error of a median / (σ / √n) for a Gaussian sample, √(π/2) = 1.2533 (asymptotic).
MEDIAN_ERROR_FACTOR = float(np.sqrt(np.pi / 2.0))

# Vacuum rest wavelengths (NIST / SDSS line list).
HALPHA = 6564.61 * u.AA
NII_6548 = 6549.86 * u.AA
NII_6583 = 6585.27 * u.AA
OII_3727 = 3728.48 * u.AA   # flux-weighted mean of the 3727.09/3729.88 doublet
OII_DOUBLET = (3727.09, 3729.88) * u.AA
NEIII_3869 = 3870.16 * u.AA
HBETA = 4862.68 * u.AA
OIII_5007 = 5008.24 * u.AA
OIII_4959 = 4960.30 * u.AA
SII_6716 = 6718.29 * u.AA
SII_6731 = 6732.67 * u.AA

#: [NII]6583 / [NII]6548 flux ratio fixed by atomic physics.
NII_RATIO = 3.0

# --- KMOS (KROSS) ------------------------------------------------------------
KMOS_PIXSCALE = 0.2 * u.arcsec
KMOS_NSPAXEL = 14
KMOS_NCHAN = 2048
KMOS_LAM0 = 1.0 * u.um
KMOS_DLAM = 1.75292952917516e-4 * u.um     # as in the ESO pipeline's YJ cubes
KMOS_RESOLUTION = 3300.0
KMOS_IFUS_PER_SPECTROGRAPH = 8
KMOS_N_IFU = 24

# --- LDSS3 (ROLES) -------------------------------------------------------------
LDSS3_PIXSCALE = 0.189 * u.arcsec
LDSS3_DISPERSION = 2.7 * u.AA          # per pixel, average
LDSS3_RESOLUTION_FWHM = 11.4 * u.AA
LDSS3_SHUFFLE_PX = 16
LDSS3_NOD_PX = 6
LDSS3_READ_NOISE = 3.4                 # electrons
KG750_WINDOW = (7040.0, 8010.0)        # Angstrom, band-limiting filter

#: Redshift windows in which KG750 sees a strong line (ROLES §2.1).
ROLES_WINDOWS = {
    "OII": (0.889, 1.149),
    "HbOIII": (0.406, 0.648),
    "Ha": (0.073, 0.220),
}
