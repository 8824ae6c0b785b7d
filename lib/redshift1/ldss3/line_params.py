"""The choices of the ROLES line detection (:class:`DetectParams`, ROLES §2.4), the meaning of the
line catalogue's ``status`` values and its flux unit."""
from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u

__all__ = ["DetectParams", "LINE_STATUS", "FLUX_UNIT"]

#: unit of the line fluxes and flux limits
FLUX_UNIT = u.erg / u.s / u.cm**2

#: meaning of the ``status`` values of the line catalogue
LINE_STATUS = {
    "adopted": "significance >= adopt_sigma, no artefact flag",
    "below_threshold": "raw catalogue only: raw_sigma <= significance < adopt_sigma",
    "edge": "peak on the edge of the extraction box (ROLES §2.4.1)",
    "sky_leak": "sky line leaking in at the slit end, explained by that end's sky-line residual model "
                "(artefact class 1 of ROLES §2.4.2)",
    "broad": "broad 'line' from continuum the side bands do not follow (artefact class 2)",
    "telluric": "residual of a bright continuum in the telluric A band (artefact class 2)",
    "multiline_rejected": "fainter line in a slit whose lines fit no common redshift (ROLES §2.4.3)",
}


@dataclass
class DetectParams:
    """Choices of the line detection (ROLES §2.4); defaults are the paper's.

    Attributes
    ----------
    fwhm_x, fwhm_y : float
        FWHM, pixels, of the detection kernel along the dispersion and along the slit.
    sideband_inner, sideband_outer : int
        Continuum side bands span ``i ± inner ... outer`` pixels along the dispersion.
    remask_sigma : float
        Pixels above this significance are masked in the continuum re-estimate.
    continuum_noise : bool
        Include the continuum's Poisson term in the noise (ROLES eq. 8).
    follow_throughput : bool
        Continuum side bands follow the measured throughput.
    raw_sigma, adopt_sigma : float
        Significance thresholds of the raw and the adopted catalogues.
    connectivity : int
        Pixel connectivity of a detection group (2: 8-connected).
    leak_rows : int
        ``sky_leak``: peak within this many rows of the box edge ...
    leak_sky_factor : float
        ... on sky brighter than this many times the slit's median sky.
    broad_fwhm : float
        Pixels: "lines" wider than this are continuum (``broad``).
    telluric_band : tuple of float
        Observed Å range of the O2 A band head (``telluric`` residuals).
    telluric_contrast : float
        ``telluric``: per-pixel line fainter than the continuum over this.
    box_half : int
        Half-size of the flux box (2: 5 x 5 pixels).
    centre_on_signal : bool
        Centre the box on the filtered signal's peak rather than the significance's.
    centre_search : int
        Pixels around the significance peak searched for that centre.
    wide_half_x : int
        Half-width, columns, of the wide box used for the aperture correction.
    apcorr_min_sigma : float
        Lines at least this significant are "bright" (aperture and slit-loss corrections).
    own_profile : bool
        Correct bright lines' slit/box loss from their own profile, not the mask's median.
    own_profile_sigma : float
        Significance above which ``own_profile`` applies.
    extended_correct : float
        A bright line whose spatial FWHM exceeds its mask's median by more than this many of its
        own FWHM errors gets its own profile's slit/box-loss correction
        (:func:`~redshift1.ldss3.flux_corrections.extended_profile`).
    continuum_profile : bool
        Correct each line's slit/box loss from its galaxy's continuum profile
        (:mod:`~redshift1.ldss3.continuum_profile`) where that is measured; False: the mask's
        correction for every line (the way before).
    continuum_profile_max_err : float
        Largest error of the continuum's FWHM (arcsec) for its profile to be used.
    extended_error : float
        ... by more than this many (and no more than ``extended_correct``): the loss its profile
        implies enters its flux error instead.
    """

    fwhm_x: float = 5.0            # px, kernel FWHM along the dispersion
    fwhm_y: float = 3.5            # px, kernel FWHM along the slit
    sideband_inner: int = 10       # px, continuum side bands i +- inner ... outer
    sideband_outer: int = 50
    remask_sigma: float = 6.0      # pixels above this are masked in the continuum re-estimate
    continuum_noise: bool = True   # Poisson term of the continuum (ROLES eq. 8)
    follow_throughput: bool = True  # continuum side bands follow the measured throughput
    raw_sigma: float = 3.0         # raw catalogue
    adopt_sigma: float = 4.0       # adopted catalogue
    connectivity: int = 2          # 8-connected groups
    leak_rows: int = 1             # sky_leak: within this many rows of the box edge ...
    leak_sky_factor: float = 3.0   # ... on sky brighter than this x the slit's median sky
    broad_fwhm: float = 16.0       # px, 'lines' wider than this are continuum
    telluric_band: tuple = (7582.0, 7620.0)   # Å, head of the O2 A band: continuum residuals here ...
    telluric_contrast: float = 5.0  # ... for 'lines' (per pixel) fainter than the continuum / this
    box_half: int = 2              # 5 x 5 flux box
    centre_on_signal: bool = True  # centre the box on the filtered signal's peak, not the significance's
    centre_search: int = 2         # ... searched within this many pixels of the significance peak
    wide_half_x: int = 10          # columns of the wide box used for the aperture correction
    apcorr_min_sigma: float = 10.0
    own_profile: bool = False      # slit/box-loss correction of bright lines from their own profile
    own_profile_sigma: float = 15.0
    extended_correct: float = 5.0   # FWHM errors: extended galaxies (e.g. Halpha at z ~ 0.1) corrected ...
    extended_error: float = 1.0     # ... or, marginally wider, their profile's loss in the error
    continuum_profile: bool = True  # slit/box loss of each galaxy from its continuum's profile ...
    continuum_profile_max_err: float = 0.1  # ... where its FWHM is known to 0.1" (else the mask's)
