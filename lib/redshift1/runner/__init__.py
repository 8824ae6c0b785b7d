"""Execute the numbered notebooks in order: the logic behind ``run_all.py``.

The walk through the compendium is a sequence of notebooks ``notebooks/NN_name.ipynb``
(``NN`` two digits). The runner executes them in order with papermill, never over the
sources. Every folder comes from :mod:`redshift1.paths` (:class:`~redshift1.paths.RunLayout`):
executed copies go to ``<out>/<preset>/notebooks/``, products to ``<out>/<preset>/products/``,
figures to ``<out>/<preset>/figures/``, the walk published as a static site to
``<out>/<preset>/site/`` (:mod:`redshift1.site`) and a machine-readable account of the run to
``<out>/<preset>/run_summary.json``. Only a successful run of the ``paper`` preset with the
default folders updates the committed results in the top-level ``figures/``
(:func:`~.report.publish_paper_results`).

A rerun is make-like: a notebook whose cells, parameters, package code, survey and upstream
notebooks are unchanged, and whose outputs are intact, is not executed again
(:func:`redshift1.cache.is_fresh`; ``--force`` reruns everything).

The package follows the run's seams:

* :mod:`.notebooks` -- finding and selecting the notebooks, what each needs from the survey
  (and the skips that follow);
* :mod:`.parameters` -- what each notebook declares in its ``parameters`` cell, and what it is
  passed: the contract (:data:`CONTRACT`) and the checked ``-p NAME VALUE`` values;
* :mod:`.execution` -- one notebook through papermill in a quiet kernel, and the leftovers of
  a killed run;
* :mod:`.walk` -- the stages of a run: plan, prepare the folders, run each notebook through the
  cache;
* :mod:`.report` -- the printed table, ``run_summary.json``, the failure report, the site and
  the published paper results;
* :mod:`.cli` -- the command line (:func:`main`).
"""
from __future__ import annotations

from .cli import build_parser, main, run
from .execution import KERNEL_ARGUMENTS, NotebookResult, execute_notebook, kernel_options, sweep_leftovers
from .notebooks import DEFAULT_KERNEL, NOTEBOOK_PATTERN, discover_notebooks, notebook_needs, select_notebooks, \
    skip_reason
from .parameters import CONTRACT, PATH_PARAMETERS, NotebookParameter, build_parameters, notebook_parameters, \
    parse_value
from .report import FIGURE_SUFFIXES, PUBLISHED_FIGURES, PUBLISHED_PRODUCTS, failure_report, find_figures, \
    format_listing, publish_paper_results, render_html, summary_table, write_summary

__all__ = [
    "CONTRACT",
    "DEFAULT_KERNEL",
    "FIGURE_SUFFIXES",
    "KERNEL_ARGUMENTS",
    "NOTEBOOK_PATTERN",
    "NotebookParameter",
    "NotebookResult",
    "PATH_PARAMETERS",
    "PUBLISHED_FIGURES",
    "PUBLISHED_PRODUCTS",
    "build_parameters",
    "build_parser",
    "discover_notebooks",
    "execute_notebook",
    "failure_report",
    "find_figures",
    "format_listing",
    "kernel_options",
    "main",
    "notebook_needs",
    "notebook_parameters",
    "parse_value",
    "publish_paper_results",
    "render_html",
    "run",
    "select_notebooks",
    "skip_reason",
    "summary_table",
    "sweep_leftovers",
    "write_summary",
]
