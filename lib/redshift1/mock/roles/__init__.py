"""The mock ROLES survey (Gilbank et al. 2010): fields, K-selected photometry with photo-z
PDFs, targets, slit masks, the LDSS3 nod-and-shuffle observations and their truth.

Public entry point: :func:`observe_roles` (called by the mock orchestrator) with one of
:data:`ROLES_PRESETS`. The data contract of everything written under ``out_dir`` is
``docs/data-format.md, section LDSS3``; the truth goes to ``truth_dir`` only.

The population
--------------
Galaxies are drawn per field from a Schechter stellar-mass function times the comoving
volume (0.02 < z < 4), with the FIRES field adding the z = 0.831 cluster MS 1054-03.
Star formation follows the :class:`~redshift1.mock.population.Relations` main sequence
(with its scatter and below-sequence population) plus a mass-dependent quenched
fraction; dust from ``draw_av``. The observed K magnitude comes from a mass-to-light
relation (``K = 23.25`` at log M* = 9, z = 1 in CDFS; FIRES galaxies are redder, so at a
given K they are 0.2 dex more massive, ROLES §3.1) with the Glazebrook et al. (1995)
k-correction. Line fluxes: [OII] from the SFR through ROLES eq. 9 inverted
(:func:`~redshift1.mock.population.oii_flux`), modified by the galaxy's own dust relative
to the A(Hα) = 1 mag the conversion assumes (dwarfs are brighter in [OII] than eq. 9
predicts, massive galaxies fainter -- the trend the G10 correction undoes); Hα, Hβ,
[OIII] from :func:`~redshift1.mock.population.interloper_line_fluxes`, [NII] from the
metallicity, plus [NeIII], [SII]. Photometric redshifts are Gaussian with
σ = 0.04-0.1 (1+z) depending on field and K, with catastrophic outliers and double peaks.

The numbers above are the defaults (``tiny``, ``quick``); every distribution is a parameter of
the preset's :class:`~.calibration.RolesCalibration`, and the ``paper`` preset's are tuned to
ROLES II (:data:`~.calibration.PAPER_CALIBRATION`, ``docs/mock-calibration.md``).

The package
-----------
One module per stage, in the order a survey is made:

* :mod:`.calibration` -- the universe's distributions per preset (the paper preset's tuned to ROLES II);
* :mod:`.fields` -- fields, pointings, ROLES Table 1 masks, the presets;
* :mod:`.galaxies` -- the galaxy population and its line fluxes;
* :mod:`.photoz` -- photometric redshifts and their PDFs;
* :mod:`.masks` -- target selection and slit-mask designs;
* :mod:`.conditions` -- observing conditions per exposure;
* :mod:`.sources` -- what each slit holds (lines, continuum, offsets);
* :mod:`.comparison` -- the higher-mass comparison sample;
* :mod:`.survey` -- the survey in memory (:class:`~.survey.Survey`);
* :mod:`.rendering` -- raw frames, darks, standard star, bad-pixel mask;
* :mod:`.catalogues` -- photometric catalogue, photo-z PDF file, galaxy truth table;
* :mod:`.truth` -- everything written to the truth folder;
* :mod:`.entry` -- :func:`observe_roles`.
"""

from __future__ import annotations

from .calibration import DEFAULT_CALIBRATION, PAPER_CALIBRATION, RolesCalibration
from .fields import (CONTRACT_VERSION, FIELDS, K_CATALOGUE_LIMIT, K_RANGE, OII_WINDOW, PAPER_MASKS,
                     ROLES_PRESETS, ZGRID, FieldSpec, RolesPreset, pointing_field, pointing_of)
from .galaxies import (K0_AT_1E9_Z1, K_SCATTER, MF, ML_SLOPE, OII_MODEL, OII_SCATTER, add_line_fluxes,
                       draw_field_population, galaxy_size_arcsec, k_error, k_magnitude, oii_flux_observed,
                       quenched_fraction, schechter)
from .photoz import draw_photoz, sed_mass, window_probability
from .masks import MIN_PHOTOZ_WEIGHT, PRIORITY, TIER_HALF, build_design_table, design_masks, target_priority
from .conditions import date_obs, draw_conditions
from .sources import LINES, OII_DOUBLET, SPECTRUM_RANGE, expected_line_snr, slit_source
from .comparison import draw_comparison
from .survey import INJECTED_OII_FLUX, Survey, build_survey, catalogue_row_lookup, mask_sources
from .rendering import STANDARD_CYCLES, STANDARD_TCYCLE, render_mask, write_bpm, write_darks, write_standard
from .catalogues import PHOT_COLUMNS, TRUTH_GAL_COLUMNS, pdf_hdul, photometry_table, truth_galaxy_table
from .truth import PUBLIC_COUNTS, survey_counts, write_truth
from .entry import observe_roles

__all__ = [
    "DEFAULT_CALIBRATION", "PAPER_CALIBRATION", "RolesCalibration",
    "CONTRACT_VERSION", "FIELDS", "K_CATALOGUE_LIMIT", "K_RANGE", "OII_WINDOW", "PAPER_MASKS", "ROLES_PRESETS",
    "ZGRID", "FieldSpec", "RolesPreset", "pointing_field", "pointing_of",
    "K0_AT_1E9_Z1", "K_SCATTER", "MF", "ML_SLOPE", "OII_MODEL", "OII_SCATTER", "add_line_fluxes",
    "draw_field_population", "galaxy_size_arcsec", "k_error", "k_magnitude", "oii_flux_observed",
    "quenched_fraction", "schechter",
    "draw_photoz", "sed_mass", "window_probability",
    "MIN_PHOTOZ_WEIGHT", "PRIORITY", "TIER_HALF", "build_design_table", "design_masks", "target_priority",
    "date_obs", "draw_conditions",
    "LINES", "OII_DOUBLET", "SPECTRUM_RANGE", "expected_line_snr", "slit_source",
    "draw_comparison",
    "INJECTED_OII_FLUX", "Survey", "build_survey", "catalogue_row_lookup", "mask_sources",
    "STANDARD_CYCLES", "STANDARD_TCYCLE", "render_mask", "write_bpm", "write_darks", "write_standard",
    "PHOT_COLUMNS", "TRUTH_GAL_COLUMNS", "pdf_hdul", "photometry_table", "truth_galaxy_table",
    "PUBLIC_COUNTS", "survey_counts", "write_truth",
    "observe_roles",
]
