"""The walk itself, in stages: plan the run (notebooks, folders, parameters), prepare its
folders, then run each selected notebook in order -- skipped, served from the cache, or
executed -- recording in the cache what each one ran on and wrote."""
from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .. import cache as cache_mod
from .. import paths
from ..errors import MissingInputError
from .execution import NotebookResult, execute_notebook, kernel_options, project_root_in_environment, sweep_leftovers
from .kernel import WalkKernel
from .notebooks import discover_notebooks, notebook_needs, select_notebooks, skip_reason
from .parameters import NotebookParameter, build_parameters, forwarded_options, notebook_parameters

__all__ = ["RunPlan", "Selection", "plan_run", "prepare_folders", "run_notebook", "run_walk", "select_walk"]


@dataclass(frozen=True)
class Selection:
    """The notebooks of the walk and those selected to run, with what each declares.

    Attributes
    ----------
    root : Path
        The project root.
    notebooks_dir : Path
        The source notebooks' folder (the kernels' working directory).
    notebooks : list of Path
        Every notebook of the walk (the cache chains through all of them).
    selected : list of Path
        Those to run, in order.
    declared : dict of Path to dict
        Each selected notebook's parameters (:func:`~.parameters.notebook_parameters`).
    """

    root: Path
    notebooks_dir: Path
    notebooks: list[Path]
    selected: list[Path]
    declared: dict[Path, dict[str, NotebookParameter]]


@dataclass(frozen=True)
class RunPlan:
    """Everything a run needs to know before the first notebook starts.

    Attributes
    ----------
    walk : Selection
        The notebooks.
    preset : str
        The preset.
    layout : redshift1.paths.RunLayout
        The run's folders below ``<build>/<preset>/``.
    data_dir : Path
        The survey folder (absolute).
    figures_dir : Path
        Where the figures go: the layout's, unless ``-p figures_dir`` moved them.
    parameters : dict of str to dict
        What each notebook gets, by stem (:func:`~.parameters.build_parameters`).
    needs : dict of Path to dict
        What each notebook needs from the survey (:func:`~.notebooks.notebook_needs`).
    """

    walk: Selection
    preset: str
    layout: paths.RunLayout
    data_dir: Path
    figures_dir: Path
    parameters: dict[str, dict]
    needs: dict[Path, dict]

    @property
    def products_dir(self) -> Path:
        """The products folder of the run."""
        return self.layout.products


def select_walk(root: Path, notebooks_dir: Path, only: Sequence[str] | None = None,
                start: str | None = None) -> Selection:
    """Find the notebooks of the walk and select those to run.

    Parameters
    ----------
    root : Path
        The project root.
    notebooks_dir : Path
        The folder of the numbered notebooks.
    only, start : optional
        As :func:`~.notebooks.select_notebooks`.

    Returns
    -------
    Selection

    Raises
    ------
    MissingInputError
        If the folder is missing or holds no numbered notebook.
    ParameterError
        If a selector matches no notebook.
    """
    notebooks = discover_notebooks(notebooks_dir)
    if not notebooks:
        raise MissingInputError(f"{notebooks_dir}: no numbered notebooks NN_name.ipynb")
    selected = select_notebooks(notebooks, only=only, start=start)
    declared = {path: notebook_parameters(path) for path in selected}
    return Selection(root, notebooks_dir, notebooks, selected, declared)


def plan_run(walk: Selection, preset: str, build_dir: Path, data_dir: Path,
             overrides: Sequence[Sequence[str]] = (), workers: int | None = None,
             scheduler: str | None = None) -> RunPlan:
    """Work out the folders and every notebook's parameters, checking them before anything runs.

    Parameters
    ----------
    walk : Selection
        The notebooks.
    preset : str
        The preset.
    build_dir, data_dir : Path
        The build folder and the survey folder (absolute).
    overrides : sequence of (str, str)
        ``-p NAME VALUE`` pairs.
    workers, scheduler : optional
        ``--workers`` and ``--scheduler``, for the notebooks that declare them.

    Returns
    -------
    RunPlan

    Raises
    ------
    ParameterError
        For a ``-p`` no selected notebook declares, or of the wrong type, or a bad ``--workers``.
    MissingInputError
        If the survey folder is missing and the walk does not start by writing it (00).
    """
    layout = paths.run_layout(preset, build_dir)
    contract = {"preset": preset, "data_dir": str(data_dir),
                "products_dir": str(layout.products), "figures_dir": str(layout.figures)}
    declared_names = {n for params in walk.declared.values() for n in params}
    forwarded = forwarded_options(overrides, workers, scheduler, declared_names)
    per_notebook = build_parameters({p.stem: params for p, params in walk.declared.items()},
                                    contract, forwarded, walk.root)
    figures_dir = Path(next((v for v in (params.get("figures_dir") for params in per_notebook.values()) if v),
                            contract["figures_dir"]))
    if not data_dir.exists() and not walk.selected[0].stem.startswith("00"):
        raise MissingInputError(f"{data_dir}: data directory does not exist "
                                "(run 00_observe first, or point --data-dir at a survey)")
    needs = {path: notebook_needs(path) for path in walk.selected}
    return RunPlan(walk, preset, layout, data_dir, figures_dir, per_notebook, needs)


def prepare_folders(plan: RunPlan) -> None:
    """Create the run's folders and sweep what a killed run left in them."""
    for folder in (plan.layout.notebooks, plan.layout.site, plan.products_dir, plan.figures_dir):
        folder.mkdir(parents=True, exist_ok=True)
    sweep_leftovers((plan.layout.notebooks, plan.products_dir, plan.figures_dir))


def run_notebook(plan: RunPlan, path: Path, cache: dict, code: str, kernel: str | None = None,
                 walk_kernel: WalkKernel | None = None) -> NotebookResult:
    """Skip, serve from the cache, or execute one notebook, and record it in ``cache``.

    Parameters
    ----------
    plan : RunPlan
        The run.
    path : Path
        The source notebook.
    cache : dict
        The run's cache (:mod:`redshift1.cache`), updated and saved here.
    code : str
        The package's :func:`~redshift1.cache.code_hash`.
    kernel : str, optional
        The Jupyter kernel.
    walk_kernel : WalkKernel, optional
        The walk's shared kernel (default: a kernel of its own).

    Returns
    -------
    NotebookResult
        Status ``"skipped"``, ``"cached"``, ``"ok"`` or ``"failed"``.
    """
    params = plan.parameters[path.stem]
    data = Path(params.get("data_dir", plan.data_dir))
    cache_file, products = plan.layout.cache_file, plan.products_dir
    upstream = cache_mod.upstream_chain(plan.walk.notebooks, path, cache)
    reason = skip_reason(plan.needs[path], data)
    if reason:
        print(f"{path.stem}: skipped — {reason}", flush=True)
        cache[path.stem] = cache_mod.skipped_entry(reason, upstream)
        cache_mod.save(cache_file, cache)
        return NotebookResult(name=path.stem, status="skipped", seconds=0.0, reason=reason)
    key = cache_mod.notebook_key(path, params, code)
    executed = plan.layout.notebooks / path.name
    stale = cache_mod.stale_reason(cache.get(path.stem, {}), key, upstream, executed, data, products)
    if stale is None:
        return NotebookResult(name=path.stem, status="cached", seconds=0.0, executed=executed)
    cache.pop(path.stem, None)   # a run killed now leaves no record: the next run resumes here
    cache_mod.save(cache_file, cache)
    before = cache_mod.snapshot(products)
    result = execute_notebook(path, executed, params, plan.walk.notebooks_dir, kernel, walk_kernel)
    result.reason = f"ran: {stale}"       # why the cache could not serve it (run_summary.json)
    if result.status == "ok":
        outputs = cache_mod.written_since(before, cache_mod.snapshot(products))
        cache[path.stem] = cache_mod.ran_entry(key, upstream, outputs, cache_mod.folder_state(data), result.seconds)
        cache_mod.save(cache_file, cache)
    return result


def run_walk(plan: RunPlan, force: bool = False, kernel: str | None = None,
             fresh_kernels: bool = False) -> tuple[list[NotebookResult], NotebookResult | None, Mapping]:
    """Run the selected notebooks in order, stopping at the first failure.

    Parameters
    ----------
    plan : RunPlan
        The run.
    force : bool
        Ignore the cache: rerun every selected notebook.
    kernel : str, optional
        The Jupyter kernel.
    fresh_kernels : bool
        Start a kernel per notebook instead of one for the walk (:class:`~.kernel.WalkKernel`),
        which every notebook then finds reset to a fresh kernel's state.

    Returns
    -------
    results : list of NotebookResult
        One per selected notebook (``"not run"`` after a failure).
    failed : NotebookResult or None
        The failure, if any.
    cache : dict
        The cache as the run left it.
    """
    from tqdm.auto import tqdm

    results = [NotebookResult(name=p.stem) for p in plan.walk.selected]
    failed: NotebookResult | None = None
    cache = {} if force else cache_mod.load(plan.layout.cache_file)
    code = cache_mod.code_hash()
    with project_root_in_environment(plan.walk.root), ExitStack() as stack:
        walk_kernel = None
        if not fresh_kernels:   # started in the environment above, which the kernel inherits
            options = kernel_options()
            walk_kernel = stack.enter_context(WalkKernel(plan.walk.notebooks_dir, options["extra_arguments"],
                                                         options.get("config")))
        bar = tqdm(plan.walk.selected, desc=f"run_all [{plan.preset}]", unit="nb",
                   file=sys.stderr, disable=not sys.stderr.isatty())
        for i, path in enumerate(bar):
            bar.set_postfix_str(path.stem)
            results[i] = run_notebook(plan, path, cache, code, kernel, walk_kernel)
            if results[i].status == "failed":
                failed = results[i]
                break
        bar.close()
    if failed is None:
        cache_mod.settle_outputs(cache, plan.products_dir)
        cache_mod.save(plan.layout.cache_file, cache)
    return results, failed, cache
