"""Injection–recovery against the mock truth and the paper-vs-compendium table (notebook 12).

* :mod:`.core` -- matching by id / keys / wavelength, bias and pull-width statistics,
  completeness curves, slope checks (tested on synthetic inputs);
* :mod:`.kross` -- the KMOS/KROSS quantities, truth-sample regressions, the KROSS numbers;
* :mod:`.roles` -- the LDSS3/ROLES quantities (lines, P([OII]), completeness, LF, SFRD);
* :mod:`.paper` -- every number the two papers report, as published (the only copy of the papers'
  numbers in the validation code) and the table builder.

Only notebook 12 (and 00) may read the truth; nothing in the pipeline imports this package.
"""
from .core import (Matched, SlopeCheck, asymmetric_pulls, check_slope, completeness_curve, match_ids,
                   match_keys, match_lines, n_sigma, recovery_stats, recovery_table, robust_sigma, slope_table,
                   value_at_fraction)
from .paper import (PAPER_NUMBERS, PAPER_VALUES, PaperNumber, build_paper_table, markdown_table, sfrd_key,
                    write_paper_table)

__all__ = ["Matched", "SlopeCheck", "asymmetric_pulls", "check_slope", "completeness_curve",
           "match_ids", "match_keys", "match_lines", "n_sigma", "recovery_stats", "recovery_table", "robust_sigma",
           "slope_table", "value_at_fraction", "PAPER_NUMBERS", "PAPER_VALUES", "PaperNumber", "build_paper_table",
           "markdown_table", "sfrd_key", "write_paper_table"]
