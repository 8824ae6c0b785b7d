"""Execute the numbered notebooks in order: the logic behind ``run_all.py``.

The walk through the compendium is a sequence of notebooks
``notebooks/NN_name.ipynb`` (``NN`` two digits).  This module runs them in
order with papermill, never over the sources: executed copies go to
``<out>/<preset>/notebooks/``, products to ``<out>/<preset>/products/``, figures
to ``<out>/<preset>/figures/``, the walk published as a static site to
``<out>/<preset>/site/`` (:mod:`redshift1.site`) and a machine-readable account
of the run to ``<out>/<preset>/run_summary.json``. Only a successful run of the
``paper`` preset with the default folders updates the committed results in the
top-level ``figures/`` (:func:`publish_paper_results`).

Every notebook has a cell tagged ``parameters``.  Four names in it are a
contract: ``preset``, ``data_dir``, ``products_dir`` and ``figures_dir``.  The
runner passes each of them, as an absolute path where it is a path, to the
notebooks that declare it, and forwards ``-p NAME VALUE`` only to the
notebooks that declare ``NAME`` -- after checking, before anything runs, that
some selected notebook declares it and that the value's type matches the
declared default.

A notebook may say in its metadata (``"redshift1"``) what it needs from the survey
folder: ``{"needs": ["kmos/"]}`` runs only when ``kmos/`` is there (any of the listed
folders will do), and ``{"writes": "data_dir"}`` marks the notebook that writes the mock
survey, which is skipped when the folder already holds real data (anything but a survey
the mock wrote), so that a user's files are never replaced. Each skip is said in one line
and recorded with status ``skipped``.

The work is split into small functions (:func:`discover_notebooks`,
:func:`select_notebooks`, :func:`notebook_parameters`,
:func:`build_parameters`, :func:`execute_notebook`, :func:`render_html`,
:func:`write_summary`) so that caching by content hashes can slot in between
them later.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import MissingInputError, ParameterError, Redshift1Error
from .paths import PRESETS, project_root, resolve

__all__ = [
    "CONTRACT",
    "NotebookParameter",
    "NotebookResult",
    "build_parameters",
    "discover_notebooks",
    "execute_notebook",
    "main",
    "notebook_parameters",
    "parse_value",
    "publish_paper_results",
    "render_html",
    "select_notebooks",
    "write_summary",
]

#: Parameter names every notebook's ``parameters`` cell is expected to declare.
CONTRACT = ("preset", "data_dir", "products_dir", "figures_dir")
#: The contract parameters that are paths (passed as absolute paths).
PATH_PARAMETERS = ("data_dir", "products_dir", "figures_dir")

NOTEBOOK_PATTERN = re.compile(r"^(\d\d)_(.+)\.ipynb$")
DEFAULT_KERNEL = "python3"
FIGURE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg", ".jpeg", ".gif", ".eps", ".webp"}
#: The paper preset's results committed in the top-level ``figures/`` (the README shows them).
PUBLISHED_PRODUCTS = ("paper_vs_compendium.md", "paper_vs_compendium.ecsv")
#: Figures to publish with them: add a name here, to .gitignore's exceptions and to the README at once.
PUBLISHED_FIGURES: tuple[str, ...] = (
    "fig02_kross_figure1.png",
    "fig04_sfr_main_sequence.png",
    "fig05_resolved_ms.png",
    "fig06_metallicity_delta.png",
    "fig10_roles_fig14_oii_lf.png",
    "fig10_roles_fig15_sfrd.png",
    "fig12_paper_vs_compendium.png",
)
#: Kernel arguments: the kernel application's own log (start-up and shutdown bookkeeping,
#: never a cell's output, which reaches the notebook) speaks only of critical problems; its
#: shutdown race with jupyter_client's interrupt otherwise prints "KeyboardInterrupt caught
#: in kernel" through the progress bar.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",)

#: Python types accepted for a declared type name (``int`` is fine for ``float``).
_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "complex": (complex, float, int),
    "list": (list,),
    "tuple": (tuple,),
    "dict": (dict,),
    "set": (set,),
    "bytes": (bytes,),
    "none": (type(None),),
    "nonetype": (type(None),),
}


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class NotebookParameter:
    """One name declared in a notebook's ``parameters`` cell.

    Parameters
    ----------
    name : str
        The variable name.
    type_name : str or None
        The declared type: the annotation if there is one, else the type of the
        default when the default is a Python literal; ``None`` when unknown
        (a ``None`` default or an expression such as ``np.pi``), in which case
        any value is accepted.
    default : str
        The default as written in the notebook (source text).
    help : str
        The trailing ``# comment`` on the parameter's line.
    """

    name: str
    type_name: str | None
    default: str
    help: str = ""

    @property
    def accepted_types(self) -> tuple[type, ...] | None:
        """Python types a value may have, or ``None`` if anything goes.

        Returns
        -------
        tuple of type or None
            ``None`` when the declared type is unknown or not a simple builtin.
        """
        if self.type_name is None:
            return None
        accepted: list[type] = []
        for part in _split_annotation(self.type_name):
            types = _ACCEPTED_TYPES.get(part)
            if types is None:
                return None  # a type we do not model: do not second-guess it
            accepted.extend(types)
        return tuple(dict.fromkeys(accepted)) or None

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has a type compatible with the declared one.

        Parameters
        ----------
        value : object
            A parsed ``-p`` value.

        Returns
        -------
        bool
            ``True`` if the type matches (``int`` is accepted for ``float``,
            but ``bool`` is never accepted for a number).
        """
        accepted = self.accepted_types
        if accepted is None:
            return True
        if isinstance(value, bool):
            return bool in accepted
        return isinstance(value, accepted)


def _split_annotation(annotation: str) -> list[str]:
    """Reduce an annotation to lower-case builtin base names.

    ``"Optional[int]"`` gives ``["int", "none"]``, ``"float | None"`` gives
    ``["float", "none"]`` and ``"list[int]"`` gives ``["list"]``.
    """
    text = annotation.strip().replace("typing.", "")
    match = re.fullmatch(r"Optional\[(.*)\]", text)
    if match:
        return _split_annotation(match.group(1)) + ["none"]
    match = re.fullmatch(r"Union\[(.*)\]", text)
    parts = match.group(1).split(",") if match else text.split("|")
    names = []
    for part in parts:
        base = part.strip().split("[", 1)[0].strip().lower()
        names.append("none" if base in ("none", "nonetype") else base)
    return names


def _type_name_of_default(inferred: str | None, default: str) -> str | None:
    """Declared type of a parameter: annotation first, else the default's type."""
    if inferred and inferred != "None":
        return inferred
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if value is None:
        return None
    return type(value).__name__


def _notebook_kernel(nb: Mapping) -> str | None:
    """The kernel name recorded in a notebook's metadata, if any."""
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    return spec.get("name") or None


def notebook_parameters(path: str | os.PathLike) -> dict[str, NotebookParameter]:
    """Read the parameters a notebook declares in its ``parameters`` cell.

    Parameters
    ----------
    path : path-like
        The source notebook.

    Returns
    -------
    dict of str to NotebookParameter
        In the order of the cell; empty if the notebook has no cell tagged
        ``parameters``.

    Raises
    ------
    DataFormatError
        If the file is not a readable notebook.
    """
    import nbformat
    from papermill.translators import papermill_translators

    from .errors import DataFormatError

    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise DataFormatError(f"{path}: not a readable notebook ({exc})") from exc
    cell = next(
        (c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])),
        None,
    )
    if cell is None:
        return {}
    # Same as papermill.inspect_notebook, but tolerant of a missing kernelspec.
    kernel = _notebook_kernel(nb) or DEFAULT_KERNEL
    language = (
        nb.metadata.get("kernelspec", {}).get("language")
        or nb.metadata.get("language_info", {}).get("name")
        or "python"
    )
    translator = papermill_translators.find_translator(kernel, language)
    params = {}
    for raw in translator.inspect(cell):
        p = raw._asdict()
        params[p["name"]] = NotebookParameter(
            name=p["name"],
            type_name=_type_name_of_default(p.get("inferred_type_name"), p["default"]),
            default=p["default"],
            help=p.get("help") or "",
        )
    return params


def parse_value(text: str) -> Any:
    """Parse a ``-p`` value: a Python literal if possible, else the text.

    Parameters
    ----------
    text : str
        The value as typed on the command line.

    Returns
    -------
    object
        ``"3"`` gives ``3``, ``"[1, 2]"`` a list, ``"'x'"`` the string ``x``,
        ``"quick"`` the string ``quick``.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def build_parameters(
    declared: Mapping[str, Mapping[str, NotebookParameter]],
    contract: Mapping[str, Any],
    overrides: Sequence[tuple[str, str]] = (),
    root: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Work out the parameters to pass to each notebook, checking ``-p`` values.

    Parameters
    ----------
    declared : mapping
        ``{notebook name: {parameter name: NotebookParameter}}`` for the
        selected notebooks, as from :func:`notebook_parameters`.
    contract : mapping
        Values of the contract parameters (``preset`` and the absolute
        ``data_dir``, ``products_dir``, ``figures_dir``).
    overrides : sequence of (str, str)
        ``-p NAME VALUE`` pairs as typed; the last of a repeated name wins.
        A path parameter given with ``-p`` is anchored at ``root``.
    root : Path, optional
        The project root for relative paths (default: ``project_root()``).

    Returns
    -------
    dict of str to dict
        ``{notebook name: {parameter: value}}``, holding only the names each
        notebook declares.

    Raises
    ------
    ParameterError
        If ``-p`` sets ``preset`` (use ``--preset``), names a parameter no
        selected notebook declares, or gives a value of the wrong type.
    """
    root = root or project_root()
    values: dict[str, tuple[str, Any]] = {}
    for name, text in overrides:
        if name == "preset":
            raise ParameterError("-p preset: set the preset with --preset, not -p")
        if not name.isidentifier():
            raise ParameterError(f"-p {name}: not a valid parameter name")
        values[name] = (text, parse_value(text))

    known = sorted({n for params in declared.values() for n in params})
    unknown = [n for n in values if n not in known]
    if unknown:
        raise ParameterError(
            f"-p {', '.join(unknown)}: not declared by any selected notebook "
            f"(declared: {', '.join(known) or 'none'})"
        )

    result: dict[str, dict[str, Any]] = {}
    for nb_name, params in declared.items():
        chosen: dict[str, Any] = {}
        for name, param in params.items():
            if name in values:
                text, value = values[name]
                if name in PATH_PARAMETERS:
                    value = str(resolve(text, root))
                chosen[name] = _checked(nb_name, param, text, value)
            elif name in contract:
                chosen[name] = contract[name]
        result[nb_name] = chosen
    return result


def _checked(nb_name: str, param: NotebookParameter, text: str, value: Any) -> Any:
    """Check a ``-p`` value against one notebook's declaration; return the value to pass."""
    if param.accepts(value):
        names = _split_annotation(param.type_name) if param.type_name else []
        if "float" in names and "int" not in names \
                and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # a float parameter given as 3 becomes 3.0
        return value
    accepted = param.accepted_types or ()
    if str in accepted:
        return text  # e.g. -p field 2020 for a str parameter means the text "2020"
    raise ParameterError(
        f"-p {param.name}: notebook {nb_name} declares {param.name} as "
        f"{param.type_name} (default {param.default}), got {type(value).__name__} {value!r}"
    )


# --------------------------------------------------------------------------- #
# Notebooks
# --------------------------------------------------------------------------- #
def discover_notebooks(notebooks_dir: str | os.PathLike) -> list[Path]:
    """List the numbered notebooks ``NN_name.ipynb`` of a folder, sorted.

    Parameters
    ----------
    notebooks_dir : path-like
        The folder holding the notebooks.

    Returns
    -------
    list of Path
        Sorted by file name (hence by number); other files are ignored.

    Raises
    ------
    MissingInputError
        If the folder does not exist.
    """
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: notebooks folder not found")
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and NOTEBOOK_PATTERN.match(p.name)),
        key=lambda p: p.name,
    )


def _matches(path: Path, selector: str) -> bool:
    """Whether a notebook matches a selector (number prefix or name)."""
    sel = selector.strip()
    if sel.endswith(".ipynb"):
        sel = sel[: -len(".ipynb")]
    number, name = NOTEBOOK_PATTERN.match(path.name).groups()
    if sel.isdigit():
        return int(sel) == int(number)
    return sel in (path.stem, name)


def _resolve_selector(notebooks: Sequence[Path], selector: str) -> list[Path]:
    """Notebooks matching one selector; ParameterError listing the choices if none."""
    found = [p for p in notebooks if _matches(p, selector)]
    if not found:
        available = ", ".join(p.stem for p in notebooks) or "none"
        raise ParameterError(
            f"no notebook matches {selector!r} (available: {available})"
        )
    return found


def select_notebooks(
    notebooks: Sequence[Path],
    only: Iterable[str] | None = None,
    start: str | None = None,
) -> list[Path]:
    """Pick a subset of the notebooks, keeping their order.

    Parameters
    ----------
    notebooks : sequence of Path
        All notebooks, as from :func:`discover_notebooks`.
    only : iterable of str, optional
        Selectors of the notebooks to run: a number (``"3"``, ``"03"``), a
        full stem (``"03_kmos_sizes"``) or the name after the number
        (``"kmos_sizes"``).
    start : str, optional
        Run from the first notebook matching this selector to the end.

    Returns
    -------
    list of Path
        The selected notebooks, in the original order, without duplicates.

    Raises
    ------
    ParameterError
        If a selector matches no notebook (the message lists those available).
    """
    selected = list(notebooks)
    if start is not None:
        first = _resolve_selector(notebooks, start)[0]
        selected = selected[list(notebooks).index(first):]
    if only:
        wanted = {p for sel in only for p in _resolve_selector(notebooks, sel)}
        selected = [p for p in selected if p in wanted]
    return selected


# --------------------------------------------------------------------------- #
# Execution
# --------------------------------------------------------------------------- #
def notebook_needs(path: str | os.PathLike) -> dict:
    """The ``redshift1`` entry of a notebook's metadata (what it needs from the survey).

    Parameters
    ----------
    path : path-like
        The source notebook.

    Returns
    -------
    dict
        E.g. ``{"needs": ["ldss3/"]}`` or ``{"writes": "data_dir"}``; empty if none.
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    entry = nb.metadata.get("redshift1", {})
    return dict(entry) if isinstance(entry, Mapping) else {}


def skip_reason(needs: Mapping, data: Path) -> str | None:
    """Why a notebook should not run on the survey folder ``data`` (``None``: run it).

    Parameters
    ----------
    needs : mapping
        From :func:`notebook_needs`.
    data : Path
        The survey folder of the run.

    Returns
    -------
    str or None
        One line for the user, e.g. ``"no ldss3/ in /data/survey"``.

    Raises
    ------
    MissingInputError
        If a notebook reads the survey and the folder holds neither ``kmos/`` nor ``ldss3/``.
    """
    from .mock.observe import foreign_files, mock_manifest

    if needs.get("writes") == "data_dir":
        if mock_manifest(data) is None and foreign_files(data):
            return (f"{data} holds data the mock did not write (no manifest.json of the mock observatory): "
                    "real data, left as it is and read by the walk")
        return None
    wanted = [str(f) for f in needs.get("needs", [])]
    if not wanted or any((data / f).is_dir() for f in wanted):
        return None
    if data.is_dir() and not any((data / f).is_dir() for f in ("kmos", "ldss3")):
        raise MissingInputError(f"{data}: holds neither kmos/ nor ldss3/, so it is not a survey "
                                "(see docs/data-format.md; a survey may hold one instrument or both)")
    return f"no {' or '.join(wanted)} in {data}"


@dataclass
class NotebookResult:
    """What happened to one notebook of the run.

    Attributes
    ----------
    name : str
        The notebook's stem, ``NN_name``.
    status : str
        ``"ok"``, ``"failed"``, ``"cached"``, ``"skipped"`` or ``"not run"``.
    seconds : float or None
        Wall-clock execution time (``None`` if not run).
    executed : Path or None
        The executed copy (written even when the notebook fails).
    html : Path or None
        The HTML rendering, once written.
    error : dict or None
        For a failure: ``ename``, ``evalue``, ``exec_count``, ``cell_index``,
        ``source`` and ``redshift1`` (whether ``ename`` is a
        :class:`redshift1.Redshift1Error`).
    reason : str
        For a skipped notebook: why (one line).
    """

    name: str
    status: str = "not run"
    seconds: float | None = None
    executed: Path | None = None
    html: Path | None = None
    error: dict | None = field(default=None)
    reason: str = ""


def _redshift1_error_names() -> set[str]:
    """Class names of every known :class:`Redshift1Error` subclass."""
    import importlib

    for module in ("kmos", "ldss3", "science", "mock"):
        try:  # subpackages may define their own subclasses
            importlib.import_module(f"redshift1.{module}")
        except Exception:  # pragma: no cover - only widens the set
            pass
    names, todo = set(), [Redshift1Error]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _replace_atomically(path: Path, write) -> None:
    """Write a text file through :func:`redshift1.io.atomic_path` (temporary sibling, rename)."""
    from .io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        write(fh)


def execute_notebook(
    source: Path,
    executed: Path,
    parameters: Mapping[str, Any],
    cwd: Path,
    kernel: str | None = None,
) -> NotebookResult:
    """Execute one notebook with papermill into ``executed``.

    papermill writes into a hidden temporary file next to ``executed``, which
    is moved into place when execution ends (successfully or not), so the
    executed copy is never half-written.

    Parameters
    ----------
    source : Path
        The source notebook (never written to).
    executed : Path
        Where the executed copy goes.
    parameters : mapping
        Parameters to inject.
    cwd : Path
        Working directory of the kernel.
    kernel : str, optional
        Kernel name; default the notebook's kernelspec, else ``python3``.

    Returns
    -------
    NotebookResult
        ``status`` ``"ok"`` or ``"failed"`` (with ``error`` filled in).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    result = NotebookResult(name=source.stem)
    if kernel is None:
        kernel = _notebook_kernel(nbformat.read(str(source), as_version=4)) or DEFAULT_KERNEL
    executed.parent.mkdir(parents=True, exist_ok=True)
    partial = executed.with_name(f".{executed.stem}.partial.ipynb")
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source),
            str(partial),
            parameters=dict(parameters),
            kernel_name=kernel,
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            **kernel_options(),
        )
        result.status = "ok"
    except PapermillExecutionError as exc:
        result.status = "failed"
        result.error = {
            "ename": exc.ename,
            "evalue": exc.evalue,
            "exec_count": exc.exec_count,
            "cell_index": exc.cell_index,
            "source": exc.source,
            "redshift1": exc.ename in _redshift1_error_names(),
        }
    except Exception as exc:  # kernel death, missing kernel, unreadable notebook...
        result.status = "failed"
        result.error = {
            "ename": type(exc).__name__,
            "evalue": str(exc),
            "exec_count": None,
            "cell_index": None,
            "source": "",
            "redshift1": isinstance(exc, Redshift1Error),
        }
    finally:
        result.seconds = time.perf_counter() - start
        if partial.exists():
            os.replace(partial, executed)
    if executed.exists():
        result.executed = executed
    return result


def kernel_options() -> dict:
    """Options for papermill's engine (nbclient) that keep the kernel quiet and private.

    jupyter_client ≥ 8.10 provisions CurveZMQ keys for kernels whose kernelspec declares
    ``supported_encryption: curve`` (ipykernel's does) when ``transport_encryption`` is
    ``auto``: the kernel then no longer warns "Kernel is running over TCP without
    encryption" on every start. Older versions have no such setting and are left as they are.

    Returns
    -------
    dict
        Keyword arguments for :func:`papermill.execute_notebook`.
    """
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    options: dict[str, Any] = {"extra_arguments": list(KERNEL_ARGUMENTS)}
    if "transport_encryption" in KernelManager.class_trait_names():
        options["config"] = Config({"KernelManager": {"transport_encryption": "auto"}})
    return options


def failure_report(result: NotebookResult) -> str:
    """A few lines saying where and how a notebook failed.

    Parameters
    ----------
    result : NotebookResult
        A failed result.

    Returns
    -------
    str
        Notebook, cell, error name and value, and the executed copy's path.
    """
    err = result.error or {}
    where = (
        f"cell In [{err['exec_count']}] (cell index {err['cell_index']})"
        if err.get("cell_index") is not None
        else "before any cell ran"
    )
    kind = "redshift1 error " if err.get("redshift1") else ""
    lines = [
        f"FAILED: notebook {result.name}, {where}",
        f"  {kind}{err.get('ename')}: {err.get('evalue')}",
    ]
    source = (err.get("source") or "").strip().splitlines()
    if source:
        lines.append("  cell source:")
        lines += [f"    {line}" for line in source[:6]]
        if len(source) > 6:
            lines.append("    ...")
    if result.executed is not None:
        lines.append(f"  executed copy: {result.executed}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Reports
# --------------------------------------------------------------------------- #
def render_html(executed: Path, html_path: Path) -> Path:
    """Render an executed notebook as a page of the site (see :func:`redshift1.site.render_page`).

    Parameters
    ----------
    executed : Path
        The executed notebook.
    html_path : Path
        Where the HTML goes (written atomically).

    Returns
    -------
    Path
        ``html_path``.
    """
    from .site import render_page

    return render_page(executed, html_path)


def find_figures(figures_dir: Path) -> list[Path]:
    """Image files under the figures folder, sorted (hidden files skipped)."""
    if not figures_dir.is_dir():
        return []
    return sorted(
        p for p in figures_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in FIGURE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(figures_dir).parts)
    )


def publish_paper_results(figures_dir: Path, products_dir: Path, published: Path) -> list[Path]:
    """Copy the paper preset's results the README shows into the committed ``figures/``.

    Parameters
    ----------
    figures_dir, products_dir : Path
        The run's figures and products (``build/paper/figures``, ``build/paper/products``).
    published : Path
        The repository's top-level ``figures/``.

    Returns
    -------
    list of Path
        The files written (those the run produced; a missing one is left as committed).
    """
    from .io import atomic_path

    written = []
    for src in [products_dir / n for n in PUBLISHED_PRODUCTS] + [figures_dir / n for n in PUBLISHED_FIGURES]:
        if not src.is_file():
            continue
        dst = published / src.name
        with atomic_path(dst) as tmp:
            Path(tmp).write_bytes(src.read_bytes())
        written.append(dst)
    return written


def write_summary(path: Path, preset: str, results: Sequence[NotebookResult]) -> Path:
    """Write ``run_summary.json`` (atomically).

    Parameters
    ----------
    path : Path
        The JSON file.
    preset : str
        The preset of the run.
    results : sequence of NotebookResult
        The run, in order.

    Returns
    -------
    Path
        ``path``.
    """
    summary = {
        "preset": preset,
        "notebooks": [
            {
                "name": r.name,
                "seconds": None if r.seconds is None else round(r.seconds, 3),
                "status": r.status,
                "executed": None if r.executed is None else str(r.executed),
                "html": None if r.html is None else str(r.html),
                "error": None if r.error is None else
                f"{r.error.get('ename')}: {r.error.get('evalue')}",
                "reason": r.reason or None,
            }
            for r in results
        ],
    }
    _replace_atomically(path, lambda fh: (json.dump(summary, fh, indent=2), fh.write("\n")))
    return path


def summary_table(results: Sequence[NotebookResult]) -> str:
    """A plain-text table: notebook, seconds, status."""
    width = max([len("notebook")] + [len(r.name) for r in results])
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  status", "-" * (width + 20)]
    for r in results:
        secs = f"{r.seconds:8.1f}" if r.seconds is not None else f"{'-':>8}"
        lines.append(f"{r.name:<{width}}  {secs}  {r.status}")
    return "\n".join(lines)


def format_listing(declared: Mapping[Path, Mapping[str, NotebookParameter]], root: Path) -> str:
    """Text for ``--list``: each notebook with its parameters, defaults and help."""
    lines = []
    for path, params in declared.items():
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = str(path)
        lines.append(f"{path.stem}  ({shown})")
        if not params:
            lines.append("    (no cell tagged 'parameters')")
        for p in params.values():
            definition = f"{p.name}: {p.type_name or 'any'} = {p.default}"
            lines.append(f"    {definition:<44}  # {p.help}" if p.help else f"    {definition}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_all.py",
        description="Execute the numbered notebooks NN_name.ipynb in order with papermill. "
        "Relative paths are relative to the project root.",
    )
    parser.add_argument("--preset", choices=PRESETS, default="quick",
                        help="size of the run (default: quick)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="raw survey folder (default: data/<preset>)")
    parser.add_argument("--out", metavar="DIR",
                        help="build folder (default: build/); the run goes to <out>/<preset>/")
    selection = parser.add_mutually_exclusive_group()
    selection.add_argument("--only", nargs="+", metavar="SEL",
                           help="run only these notebooks (number like 03 or name like kmos_sizes)")
    selection.add_argument("--from", dest="start", metavar="SEL",
                           help="run from this notebook to the end")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), dest="parameters",
                        help="forward a parameter to the notebooks declaring it "
                        "(VALUE is a Python literal, else a string); repeatable")
    parser.add_argument("--list", action="store_true",
                        help="list the notebooks with their parameters and exit")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local processes for the per-galaxy and per-mask stages (notebooks declaring 'workers')")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler for those stages, e.g. tcp://host:8786 (needs the dask extra)")
    parser.add_argument("--force", action="store_true",
                        help="rerun every selected notebook, ignoring the cache of unchanged ones")
    parser.add_argument("--kernel", metavar="NAME",
                        help="Jupyter kernel (default: the notebook's kernelspec, else python3)")
    # Hidden hooks for tests and unusual layouts.
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", help=argparse.SUPPRESS)
    return parser


def _sweep_leftovers(folders) -> None:
    """Remove what a killed run can leave: temporary files of atomic writes
    (:func:`redshift1.io.is_atomic_leftover`) and half-executed notebooks
    (``.NN_name.partial.ipynb``). Only names this project writes are matched, so a user's own
    hidden files in a figures or build folder are left alone."""
    from .io import is_atomic_leftover

    for folder in folders:
        for p in Path(folder).rglob(".*"):
            if p.is_file() and not p.is_symlink() and (is_atomic_leftover(p) or _PARTIAL_NOTEBOOK.match(p.name)):
                p.unlink(missing_ok=True)


_PARTIAL_NOTEBOOK = re.compile(r"^\.\d\d_.+\.partial\.ipynb$")


def _upstream_chain(notebooks: Sequence[Path], path: Path, cache: Mapping) -> str:
    """The recorded chain of the notebook just before ``path`` in the whole walk ("" for the first)."""
    i = list(notebooks).index(path)
    return "" if i == 0 else cache.get(notebooks[i - 1].stem, {}).get("chain", "missing")


def _run(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else project_root()
    nb_dir = resolve(args.notebooks, root) if args.notebooks else root / "notebooks"
    notebooks = discover_notebooks(nb_dir)
    if not notebooks:
        raise MissingInputError(f"{nb_dir}: no numbered notebooks NN_name.ipynb")
    selected = select_notebooks(notebooks, only=args.only, start=args.start)
    declared = {path: notebook_parameters(path) for path in selected}
    needs = {path: notebook_needs(path) for path in selected}

    if args.list:
        print(format_listing(declared, root))
        return 0

    preset = args.preset
    run_dir = resolve(args.out or "build", root) / preset
    executed_dir, site_dir = run_dir / "notebooks", run_dir / "site"
    contract = {
        "preset": preset,
        "data_dir": str(resolve(args.data_dir or f"data/{preset}", root)),
        "products_dir": str(run_dir / "products"),
        "figures_dir": str(run_dir / "figures"),
    }
    # --workers / --scheduler reach only the notebooks that declare them
    extra = []
    if args.workers is not None:
        if args.workers < 1:
            raise ParameterError(f"--workers must be a positive integer, got {args.workers}")
        extra.append(["workers", str(args.workers)])
    if args.scheduler:
        extra.append(["scheduler", repr(args.scheduler)])
    declared_names = {n for params in declared.values() for n in params}
    forwarded = list(args.parameters) + [pv for pv in extra if pv[0] in declared_names]
    per_notebook = build_parameters(
        {p.stem: params for p, params in declared.items()}, contract, forwarded, root
    )
    figures_dir = Path(next(
        (v for v in (params.get("figures_dir") for params in per_notebook.values()) if v),
        contract["figures_dir"],
    ))

    if not Path(contract["data_dir"]).exists() and not selected[0].stem.startswith("00"):
        raise MissingInputError(f"{contract['data_dir']}: data directory does not exist "
                                "(run 00_observe first, or point --data-dir at a survey)")
    for folder in (executed_dir, site_dir, Path(contract["products_dir"]), figures_dir):
        folder.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers((executed_dir, Path(contract["products_dir"]), figures_dir))

    from tqdm.auto import tqdm

    from . import cache as cache_mod

    results = [NotebookResult(name=p.stem) for p in selected]
    failed: NotebookResult | None = None
    cache_file = run_dir / "cache.json"
    cache = {} if args.force else cache_mod.load(cache_file)
    code = cache_mod.code_hash()
    old_root = os.environ.get("REDSHIFT1_ROOT")
    os.environ["REDSHIFT1_ROOT"] = str(root)
    try:
        bar = tqdm(selected, desc=f"run_all [{preset}]", unit="nb",
                   file=sys.stderr, disable=not sys.stderr.isatty())
        for i, path in enumerate(bar):
            bar.set_postfix_str(path.stem)
            params = per_notebook[path.stem]
            products, data = Path(contract["products_dir"]), Path(params.get("data_dir", contract["data_dir"]))
            up = _upstream_chain(notebooks, path, cache)
            reason = skip_reason(needs[path], data)
            if reason:
                results[i] = NotebookResult(name=path.stem, status="skipped", seconds=0.0, reason=reason)
                print(f"{path.stem}: skipped — {reason}", flush=True)
                cache[path.stem] = {"skipped": reason, "chain": up}   # the chain passes through
                cache_mod.save(cache_file, cache)
                continue
            key = cache_mod.notebook_key(path, params, code)
            hit = cache.get(path.stem, {})
            executed = executed_dir / path.name
            if (hit.get("key") == key and hit.get("upstream") == up and executed.exists()
                    and hit.get("data_state") == cache_mod.folder_state(data)
                    and cache_mod.outputs_intact(products, hit.get("outputs", {}))):
                results[i] = NotebookResult(name=path.stem, status="cached", seconds=0.0, executed=executed)
                continue
            cache.pop(path.stem, None)
            cache_mod.save(cache_file, cache)
            before = cache_mod.snapshot(products)
            results[i] = execute_notebook(path, executed, params, nb_dir, args.kernel)
            if results[i].status != "ok":
                failed = results[i]
                break
            outputs = cache_mod.written_since(before, cache_mod.snapshot(products))
            data_state = cache_mod.folder_state(data)
            cache[path.stem] = {"key": key, "upstream": up, "outputs": outputs, "data_state": data_state,
                                "chain": cache_mod.chain(up, key, outputs, data_state),
                                "seconds": round(results[i].seconds, 2)}
            cache_mod.save(cache_file, cache)
        bar.close()
    finally:
        if old_root is None:
            os.environ.pop("REDSHIFT1_ROOT", None)
        else:
            os.environ["REDSHIFT1_ROOT"] = old_root

    if failed is None:
        # later notebooks may rewrite a shared product (kross_fits.json gathers 04-06): what a
        # notebook wrote is recorded as the run left it, so an unchanged rerun finds it intact
        final = cache_mod.snapshot(Path(contract["products_dir"]))
        for entry in cache.values():
            entry["outputs"] = {k: final.get(k, v) for k, v in entry.get("outputs", {}).items()}
        cache_mod.save(cache_file, cache)

    index = _publish_site(site_dir, preset, notebooks, results, cache, executed_dir, figures_dir,
                          Path(contract["products_dir"]), Path(contract["data_dir"]), root)
    if failed is None and preset == "paper" and not args.out and not args.data_dir \
            and figures_dir == Path(contract["figures_dir"]):
        for path in publish_paper_results(figures_dir, Path(contract["products_dir"]), root / "figures"):
            print(f"published: {path}")
    write_summary(run_dir / "run_summary.json", preset, results)

    print(summary_table(results))
    print(f"report: {index}")
    if failed is not None:
        print(failure_report(failed), file=sys.stderr)
        return 1
    return 0


def _publish_site(site_dir: Path, preset: str, notebooks: Sequence[Path], results: Sequence[NotebookResult],
                  cache: Mapping, executed_dir: Path, figures_dir: Path, products_dir: Path, data_dir: Path,
                  root: Path) -> Path:
    """Build the run's site: this run's notebooks, and the executed copies earlier runs left of the others."""
    from .site import build_site

    mine = {r.name: r for r in results}
    runs = []
    for path in notebooks:
        r = mine.get(path.stem)
        executed = executed_dir / path.name
        if r is None and not executed.is_file():
            continue
        status = r.status if r is not None else "earlier run"
        seconds = r.seconds if r is not None and r.status != "cached" else cache.get(path.stem, {}).get("seconds")
        runs.append({"name": path.stem, "status": status, "seconds": seconds,
                     "executed": (r.executed if r is not None else executed)})
    try:
        index = build_site(site_dir, preset, runs, figures_dir, products_dir, data_dir, root)
    except Exception as exc:  # a publishing problem must not hide the run's outcome
        print(f"warning: could not build the site in {site_dir}: {exc}", file=sys.stderr)
        return site_dir / "index.html"
    for r in results:
        page = site_dir / f"{r.name}.html"
        r.html = page if r.executed is not None and page.is_file() else None
    return index


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run_all.py``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 if every selected notebook ran (or ``--list``), 1 if a notebook
        failed, 2 on bad input (unknown selector or parameter, wrong type,
        missing notebooks folder) -- reported on one line, before anything runs.
    """
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except Redshift1Error as exc:
        print(f"run_all.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
