"""Notebook 12 (validation): injection–recovery against the mock truth and the paper-vs-compendium table.

Each function reads what it needs, calls :mod:`redshift1.validation`, and returns a
:class:`ValidationResult` whose tables (and the Markdown copy of the paper table) the notebook
writes in view with ``result.write(run.products)``:

* :func:`kross_recovery` -- KROSS matched quantities, limit checks, recovery rows;
* :func:`roles_lines` -- the LDSS3 line catalogue against the injected lines;
* :func:`roles_densities` -- P([OII]) calibration and reliability
  (``validation_poii_reliability.ecsv``), completeness, LF and ρ_SFR against the truth;
* :func:`recovery` -- both walks' recovery rows (``validation_recovery.ecsv``);
* :func:`slopes` -- recovered slopes against their references (``validation_slopes.ecsv``);
* :func:`paper_table` -- the paper-vs-compendium table with intervals and verdicts
  (``paper_vs_compendium.ecsv`` and ``paper_vs_compendium.md``).

Only this notebook (and 00) reads the truth.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from astropy.table import Table, vstack

from ..io import atomic_path
from ..validation import core as VC
from ..validation import kross as VK
from ..validation import kross_paper as VKP
from ..validation import paper as VP
from ..validation import roles as VR
from ..validation import roles_density as VRD
from ..validation import roles_paper as VRP
from .result import StepResult

__all__ = ["ValidationResult", "have_kross", "have_roles", "kross_recovery", "roles_lines", "roles_densities", "recovery", "slopes",
           "paper_table", "PAPER_TABLE"]

#: File name (without suffix) of the paper-vs-compendium table among the products
PAPER_TABLE = "paper_vs_compendium"


@dataclass
class ValidationResult(StepResult):
    """A :class:`~redshift1.steps.result.StepResult` that also writes text files (Markdown).

    Parameters
    ----------
    texts : dict of str to str
        Product file name (e.g. ``"paper_vs_compendium.md"``) to its text.
    """

    texts: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name):
        if name in self.texts:
            return self.texts[name]
        return super().__getitem__(name)

    @property
    def product_names(self) -> list[str]:
        return super().product_names + list(self.texts)

    def write(self, products: str | os.PathLike) -> list[Path]:
        """Write the tables, documents and texts into ``products`` (atomically, file by file)."""
        written = super().write(products)
        for name, text in self.texts.items():
            path = Path(products) / name
            with atomic_path(path) as tmp:
                Path(tmp).write_text(text, encoding="utf-8")
            written.append(path)
        return written


def have_kross(*, products, truth) -> bool:
    """Whether the KROSS walk can be validated: a KMOS truth catalogue and notebook 02's spectra.

    Parameters
    ----------
    products, truth : path-like
        The run's products folder and the survey's ``truth/`` folder.

    Returns
    -------
    bool
        True if ``truth/kmos_galaxies.ecsv`` and ``products/kmos_spectra.ecsv`` both exist.
    """
    return (Path(truth) / "kmos_galaxies.ecsv").is_file() and (Path(products) / "kmos_spectra.ecsv").is_file()


def have_roles(*, products, truth) -> bool:
    """Whether the ROLES walk can be validated: an LDSS3 truth catalogue and notebook 08's lines.

    Parameters
    ----------
    products, truth : path-like
        The run's products folder and the survey's ``truth/`` folder.

    Returns
    -------
    bool
        True if ``truth/roles_galaxies.ecsv`` and ``products/ldss3_lines.ecsv`` both exist.
    """
    return (Path(truth) / "roles_galaxies.ecsv").is_file() and (Path(products) / "ldss3_lines.ecsv").is_file()


def kross_recovery(*, products, truth) -> ValidationResult:
    """KROSS injection–recovery: the inputs, matched quantities, limit checks and recovery rows.

    Parameters
    ----------
    products, truth : path-like
        The run's products folder and the survey's ``truth/`` folder.

    Returns
    -------
    ValidationResult
        ``values``: ``inputs`` (:class:`~redshift1.validation.kross.KrossInputs`), ``matched``
        (list of :class:`~redshift1.validation.core.Matched`), ``limits`` (list of dicts),
        ``recovery`` (the KROSS recovery table); ``inputs`` None and nothing matched when
        :func:`have_kross` is False. Writes nothing itself.
    """
    if not have_kross(products=products, truth=truth):
        return ValidationResult(values={"inputs": None, "matched": [], "limits": [],
                                        "recovery": VC.recovery_table([])})
    kin = VK.load_kross(products, truth)
    matched = VK.kross_matched(kin)
    return ValidationResult(values={"inputs": kin, "matched": matched, "limits": VK.kross_limit_checks(kin),
                                    "recovery": VC.recovery_table([m.stats() for m in matched])})


def roles_lines(*, products, truth, data, line_match_tol: float = 10.0) -> ValidationResult:
    """The LDSS3 line catalogue against the injected lines.

    Parameters
    ----------
    products, truth, data : path-like
        The run's products, the survey's ``truth/`` folder and the survey folder (photometry areas).
    line_match_tol : float
        Å within which a detection matches an injected line.

    Returns
    -------
    ValidationResult
        ``values``: ``inputs`` (:class:`~redshift1.validation.roles.RolesInputs`), ``match``,
        ``completeness``, ``false_positives`` (dicts) and ``matched`` (list of Matched); None
        and nothing matched when :func:`have_roles` is False.
    """
    if not have_roles(products=products, truth=truth):
        return ValidationResult(values={"inputs": None, "match": None, "completeness": None,
                                        "false_positives": None, "matched": []})
    rin = VR.load_roles(products, truth, data)
    match = VR.line_matching(rin, line_match_tol)
    return ValidationResult(values={"inputs": rin, "match": match, "completeness": VR.line_completeness(rin, match),
                                    "false_positives": VR.false_positives(rin, match),
                                    "matched": VR.roles_matched(rin, match)})


def roles_densities(*, inputs: VR.RolesInputs | None, line_match_tol: float = 10.0) -> ValidationResult:
    """P([OII]), completeness, LF and ρ_SFR of the ROLES walk against the truth.

    Parameters
    ----------
    inputs : RolesInputs or None
        From :func:`roles_lines` (None: nothing to compare).
    line_match_tol : float
        Å within which an adopted line is [OII] at the true z.

    Returns
    -------
    ValidationResult
        ``tables``: ``validation_poii_reliability.ecsv`` (when ``roles_poii.ecsv`` exists).
        ``values``: ``poii_calibration``, ``poii_fields``, ``completeness_truth``, ``truth_lf``,
        ``lf_truth``, ``truth_sfrd``, ``sfrd_truth`` (tables or None) and ``density_rows``
        (recovery rows of the binned quantities).
    """
    res = ValidationResult(values=dict.fromkeys(("poii_calibration", "poii_fields", "completeness_truth", "truth_lf",
                                                 "lf_truth", "truth_sfrd", "sfrd_truth")))
    v = res.values
    v["density_rows"] = []
    if inputs is None:
        return res
    if inputs.poii is not None:
        v["poii_calibration"], v["poii_fields"] = VR.poii_calibration(inputs, line_match_tol)
        res.tables["validation_poii_reliability.ecsv"] = VR.poii_reliability(inputs, line_match_tol)
    if inputs.completeness is not None:
        v["completeness_truth"] = VR.completeness_vs_truth(inputs)
    if inputs.lf is not None and inputs.sfrd is not None:
        v["truth_lf"] = VRD.truth_lf(inputs)
        v["lf_truth"] = VRD.lf_vs_truth(inputs, v["truth_lf"])
        v["truth_sfrd"] = VRD.truth_sfrd(inputs)
        v["sfrd_truth"] = VRD.sfrd_vs_truth(v["truth_sfrd"])
    v["density_rows"] = VRD.density_recovery_rows(v["lf_truth"], v["sfrd_truth"], v["completeness_truth"])
    return res


def recovery(*, kross_rows: Table, roles_matched: list, density_rows: list, preset: str, seeds: str,
             line_match_tol: float) -> ValidationResult:
    """Both walks' injection–recovery rows as one table (``validation_recovery.ecsv``).

    Parameters
    ----------
    kross_rows : Table
        The KROSS recovery table (:func:`kross_recovery`).
    roles_matched, density_rows : list
        ROLES matched quantities and binned-density rows.
    preset, seeds : str
        Recorded in the metadata.
    line_match_tol : float
        Recorded in the metadata.

    Returns
    -------
    ValidationResult
        ``tables``: ``validation_recovery.ecsv``.
    """
    roles_rows = VC.recovery_table([m.stats() for m in roles_matched] + list(density_rows))
    table = vstack([kross_rows, roles_rows]) if len(roles_rows) else kross_rows.copy()
    table.meta = dict(kross_rows.meta)
    table.meta.update({"preset": preset, "seeds": seeds, "line_match_tol_aa": line_match_tol})
    return ValidationResult(tables={"validation_recovery.ecsv": table})


def slopes(*, kross_inputs=None, roles_inputs=None, truth_lf: Table | None = None, nwalkers: int = 32,
           nsteps: int = 2000, mcmc_seed: int = 42, tolerance: float = 2.0, preset: str = "",
           seeds: str = "") -> ValidationResult:
    """Recovered slopes against the injected relation or the truth-sample regression.

    Parameters
    ----------
    kross_inputs : KrossInputs, optional
        KROSS products and truth (no KROSS slopes without).
    roles_inputs : RolesInputs, optional
        ROLES products and truth; with ``truth_lf`` gives the LF faint-end check.
    truth_lf : Table, optional
        The true LF (:func:`roles_densities`).
    nwalkers, nsteps, mcmc_seed : int
        emcee settings of the truth-sample regressions.
    tolerance : float
        A slope passes within this many σ of its reference.
    preset, seeds : str
        Recorded in the metadata.

    Returns
    -------
    ValidationResult
        ``tables``: ``validation_slopes.ecsv``; ``values``: ``truth_fits`` (for :func:`paper_table`).
    """
    checks, tfits = [], {}
    if kross_inputs is not None:
        tfits = VK.truth_fits(kross_inputs, nwalkers=nwalkers, nsteps=nsteps, seed=mcmc_seed)
        checks += VK.kross_slope_checks(kross_inputs, tfits)
    if roles_inputs is not None and truth_lf is not None:
        checks += VRD.roles_slope_checks(roles_inputs, truth_lf)
    checks = [VC.check_slope(c.name, (c.measured, c.measured_lo, c.measured_hi), c.reference, c.reference_kind,
                             (c.reference_lo, c.reference_hi), c.n_points, c.note, tolerance, c.primary)
              for c in checks]
    table = VC.slope_table(checks)
    table.meta.update({"preset": preset, "seeds": seeds, "tolerance_sigma": tolerance})
    return ValidationResult(tables={"validation_slopes.ecsv": table}, values={"truth_fits": tfits})


def paper_table(*, kross_inputs=None, truth_fits: dict | None = None, roles_inputs=None, line_match=None,
                truth_lf: Table | None = None, truth_sfrd: Table | None = None, preset: str = "", seeds: str = "",
                ms_band_dex: float = 0.3, starburst_delta_min: float = 2.0, bootstrap_seed: int = 0,
                n_boot: int = 1000) -> ValidationResult:
    """The paper-vs-compendium table: values, 95 % intervals, verdicts and notes.

    Parameters
    ----------
    kross_inputs, truth_fits
        KROSS products and truth, and the truth-sample regressions (:func:`slopes`); None skips KROSS.
    roles_inputs, line_match, truth_lf, truth_sfrd
        ROLES products and truth and the matches/truth tables of :func:`roles_lines` and
        :func:`roles_densities`; None skips ROLES.
    preset, seeds : str
        Recorded in the metadata and the Markdown header.
    ms_band_dex, starburst_delta_min : float
        The main-sequence band and starburst threshold (as notebooks 04–06).
    bootstrap_seed, n_boot : int
        Seed and number of resamples of the bootstrap intervals.

    Returns
    -------
    ValidationResult
        ``tables``: ``paper_vs_compendium.ecsv``; ``texts``: ``paper_vs_compendium.md``;
        ``values``: ``table`` (the same table) and ``summary`` (its summary line).
    """
    comp, truth, notes, c_int, t_int = {}, {}, {}, {}, {}
    boot = {"seed": bootstrap_seed, "n_boot": n_boot}
    if kross_inputs is not None:
        tfits = truth_fits or {}
        comp.update(VKP.kross_compendium_values(kross_inputs, ms_band_dex))
        truth.update(VKP.kross_truth_values(kross_inputs, tfits, ms_band_dex, starburst_delta_min))
        notes.update(VKP.KROSS_NOTES)
        c_int.update(VKP.kross_compendium_intervals(kross_inputs, comp, ms_band_dex, starburst_delta_min, **boot))
        t_int.update(VKP.kross_truth_intervals(kross_inputs, tfits, truth, ms_band_dex, starburst_delta_min, **boot))
    if roles_inputs is not None:
        rc = VRP.roles_compendium_values(roles_inputs)
        rt = VRP.roles_truth_values(roles_inputs, line_match, truth_lf, truth_sfrd)
        comp.update(rc)
        truth.update(rt)
        notes.update(VRP.roles_notes())
        c_int.update(VRP.roles_compendium_intervals(roles_inputs, rc, **boot))
        t_int.update(VRP.roles_truth_intervals(roles_inputs, line_match, truth_lf, truth_sfrd, rt, **boot))
    table = VP.build_paper_table(comp, truth, preset=preset, seed=seeds, notes=notes, compendium_intervals=c_int,
                                 truth_intervals=t_int)
    table.meta["bootstrap"] = {"seed": bootstrap_seed, "n_boot": n_boot}
    return ValidationResult(tables={f"{PAPER_TABLE}.ecsv": table}, texts={f"{PAPER_TABLE}.md": VP.markdown_table(table)},
                            values={"table": table, "summary": table.meta["summary"]})
