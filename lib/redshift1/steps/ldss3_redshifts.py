"""Notebook 09 (which line is it?): P([OII]) of every observed object and the spectroscopic
completeness per K bin (ROLES §2.5, §3.3).

The algorithms are in :mod:`redshift1.science.poii` (P([OII]), its calibration, the
completeness) and :mod:`redshift1.science.roles`; this step runs them on notebook 08's
products and the survey's photometry.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..errors import MissingInputError
from ..ldss3.doubt import completeness_doubts, poii_doubts
from ..ldss3.purity import chance_reproduction, neiii_fraction, object_line_repeats, purity_from_repeats
from ..science.poii import assign_poii
from ..science.poii_calibration import calibrate_p, oii_line_density, photoz_outlier_fraction
from ..science.roles import completeness_per_field, load_fields, p_class_counts
from .result import StepResult

__all__ = ["line_identities", "read_product", "PRODUCTS"]

#: the products of notebook 09
PRODUCTS = ("roles_poii.ecsv", "roles_completeness.ecsv")


def read_product(path: Path, notebook: str) -> Table:
    """An earlier notebook's product table, or a one-line error naming it and the notebook to run.

    Parameters
    ----------
    path : `~pathlib.Path`
        The product file.
    notebook : str
        The notebook that writes it (e.g. ``"08_ldss3_detect"``).

    Returns
    -------
    `~astropy.table.Table`
    """
    if not Path(path).is_file():
        raise MissingInputError(f"{path}: missing; run {notebook} first")
    return Table.read(path)


def line_identities(*, data_dir, products_dir, clamp_lo: float = 0.1, clamp_hi: float = 0.9,
                    k_range=(22.5, 24.0), k_step: float = 0.25, use_zspec: bool = False,
                    calibrate: bool = True, wavelength_likelihood: bool = False,
                    union_likelihood: bool = True, line_mixture: bool = True) -> StepResult:
    """P([OII]) of every observed object, counts per P class, and the completeness per K bin.

    Parameters
    ----------
    data_dir : path-like
        Survey folder holding ``ldss3/photometry``.
    products_dir : path-like
        Products folder holding notebook 08's ``ldss3_slit_summary.ecsv``, ``ldss3_lines.ecsv``,
        ``ldss3_multiline.ecsv`` (and ``ldss3_repeats.ecsv``).
    clamp_lo, clamp_hi : float
        P([OII]) below ``clamp_lo`` is set to 0, above ``clamp_hi`` to 1 (ROLES: 0.1, 0.9).
    k_range : tuple of float
        K limits of the ROLES selection (AB).
    k_step : float
        Width of the completeness bins in K (mag).
    use_zspec : bool
        Completeness with delta functions at public spectroscopic redshifts.
    calibrate : bool
        Multiply ROLES' P by the probability that the line is real and not [NeIII]
        (:func:`redshift1.science.poii_calibration.calibrate_p`); False gives the paper's P.
    wavelength_likelihood : bool
        Also weigh the realness of a line by how well its wavelength fits the photo-z PDF
        (``line_density`` of :func:`~redshift1.science.poii_calibration.calibrate_p`). Off by default: the
        PDFs are too narrow to be likelihoods of the line's redshift (catastrophic and wider
        photo-z errors), so real lines away from the PDF peak lost most of their P and the
        calibrated P came out under-confident (issue 12, items 6-7).
    union_likelihood : bool
        Also weigh the realness of a line by the photo-z probability that the galaxy lies in any of
        the four line windows, allowing for the fraction of PDFs that miss their galaxy's redshift
        (measured on the public spectroscopic redshifts, :func:`~redshift1.science.poii_calibration.photoz_outlier_fraction`).
    line_mixture : bool
        Weigh the line windows by the fractions of the survey's real lines in each, fitted to the
        photo-z objects (:func:`~redshift1.ldss3.purity.line_mixture`), instead of ROLES' equal weights.

    Returns
    -------
    StepResult
        Tables ``roles_poii.ecsv`` and ``roles_completeness.ecsv`` (with ``doubt`` columns);
        values ``counts`` (per field and P class), ``photometry``, ``pdfs`` and
        ``flux_calibrated`` (False when notebook 08 ran without a flux standard).
    """
    products = Path(products_dir)
    slits = read_product(products / "ldss3_slit_summary.ecsv", "08_ldss3_detect")
    lines = read_product(products / "ldss3_lines.ecsv", "08_ldss3_detect")
    ml = read_product(products / "ldss3_multiline.ecsv", "08_ldss3_detect")
    fields = sorted(set(np.asarray(slits["field"]).tolist()))
    phot, pdfs = load_fields(data_dir, fields)
    poii = assign_poii(slits, lines, ml, phot, pdfs, clamp_lo, clamp_hi)
    if calibrate:      # issue 12: P([OII]) that matches the fraction truly [OII]
        rep_path = products / "ldss3_repeats.ecsv"
        rep = Table.read(rep_path) if rep_path.is_file() else None
        # the purity of objects' lines, from the repeats of objects' lines; chance from every detection
        purity = purity_from_repeats(object_line_repeats(rep, lines), chance_reproduction(lines, rep))
        outliers = photoz_outlier_fraction(phot, pdfs) if union_likelihood else None
        calibrate_p(poii, purity, neiii_fraction(lines),
                    line_density=oii_line_density(poii, phot, pdfs) if wavelength_likelihood else None,
                    union_outliers=outliers["fraction"] if outliers else None, line_mixture=line_mixture,
                    clamps=(clamp_lo, clamp_hi))
        if outliers:
            poii.meta["p_calibration"]["union"].update(outliers)
    comp = completeness_per_field(slits, phot, pdfs, k_range, k_step, use_zspec)
    counts = p_class_counts(poii)
    poii["doubt"] = poii_doubts(poii, lines, clamp_lo, clamp_hi)       # issue 17: doubt visible
    comp["doubt"] = completeness_doubts(comp)
    calibrated = bool(lines.meta.get("flux_calibrated", True))
    if not calibrated:
        poii.meta.update({"flux_calibrated": False, "missing_standard": lines.meta.get("missing_standard", "")})
    return StepResult(tables={"roles_poii.ecsv": poii, "roles_completeness.ecsv": comp},
                      values={"counts": counts, "photometry": phot, "pdfs": pdfs, "flux_calibrated": calibrated})
