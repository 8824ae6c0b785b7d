"""Injection–recovery against the mock truth and the paper-vs-compendium table (notebook 12).

* :mod:`.core` -- matching by id / keys / wavelength, bias and pull-width statistics,
  completeness curves, slope checks (tested on synthetic inputs);
* :mod:`.kross` -- the KMOS/KROSS quantities and truth-sample regressions;
* :mod:`.roles` -- the LDSS3/ROLES quantities (lines, P([OII]), completeness, LF, SFRD);
* :mod:`.kross_paper`, :mod:`.roles_paper` -- the two surveys' rows of the paper table: the
  compendium's and the truth's values and their 95 % intervals;
* :mod:`.intervals` -- Poisson, binomial, bootstrap and posterior intervals, the agreement tests
  and the table's summary line;
* :mod:`.paper` -- every number the two papers report, as published, with the paper's quoted
  uncertainty (the only home of the papers' numbers in the package) and the table builder.

Only notebook 12 (and 00) may read the truth. The pipeline imports nothing from this package but
:mod:`.paper`, whose numbers it shows as comparison columns and reference lines only.
"""
from .core import (Matched, SlopeCheck, asymmetric_pulls, check_slope, completeness_curve, match_ids,
                   match_keys, match_lines, n_sigma, recovery_stats, recovery_table, robust_sigma, slope_table,
                   value_at_fraction)
from .intervals import (Interval, binomial_interval, bootstrap_interval, exact_interval, interval_contains,
                        intervals_overlap, poisson_interval, posterior_interval, scaled_poisson_interval, summary_line)
from .paper import (KROSS_PAPER, KROSS_TABLE2, PAPER_NUMBERS, PAPER_VALUES, ROLES_TABLE2, TABLE_COLUMNS, PaperNumber,
                    build_paper_table, markdown_table, sfrd_key, table_summary, write_paper_table)

__all__ = ["Matched", "SlopeCheck", "asymmetric_pulls", "check_slope", "completeness_curve",
           "match_ids", "match_keys", "match_lines", "n_sigma", "recovery_stats", "recovery_table", "robust_sigma",
           "slope_table", "value_at_fraction", "Interval", "binomial_interval", "bootstrap_interval",
           "exact_interval", "interval_contains", "intervals_overlap", "poisson_interval", "posterior_interval",
           "scaled_poisson_interval", "summary_line", "KROSS_PAPER", "KROSS_TABLE2", "PAPER_NUMBERS", "PAPER_VALUES",
           "ROLES_TABLE2", "TABLE_COLUMNS", "PaperNumber", "build_paper_table", "markdown_table", "sfrd_key",
           "table_summary", "write_paper_table"]
