"""Executing one notebook: papermill into a hidden copy moved into place, in a quiet kernel.

Also what a killed run leaves behind (:func:`sweep_leftovers`) and the environment the kernels
inherit (:func:`project_root_in_environment`).
"""
from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from ..errors import Redshift1Error
from .notebooks import DEFAULT_KERNEL, notebook_kernel

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import WalkKernel

__all__ = ["KERNEL_ARGUMENTS", "NotebookResult", "execute_notebook", "kernel_options",
           "project_root_in_environment", "sweep_leftovers"]

#: Kernel arguments: the kernel application's own log (start-up and shutdown bookkeeping,
#: never a cell's output, which reaches the notebook) speaks only of critical problems; its
#: shutdown race with jupyter_client's interrupt otherwise prints "KeyboardInterrupt caught
#: in kernel" through the progress bar.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",)


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
        For a skipped notebook: why (one line); for an executed one, why the cache could not
        serve it (``"ran: ..."``).
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

    for module in ("kmos", "ldss3", "science"):
        try:  # the pipeline's subpackages may define their own subclasses
            importlib.import_module(f"redshift1.{module}")
        except Exception:  # pragma: no cover - only widens the set
            pass
    names, todo = set(), [Redshift1Error]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def execute_notebook(
    source: Path,
    executed: Path,
    parameters: Mapping[str, Any],
    cwd: Path,
    kernel: str | None = None,
    walk_kernel: "WalkKernel | None" = None,
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
    walk_kernel : WalkKernel, optional
        Execute in this kernel, reset first (:class:`~.kernel.WalkKernel`), instead of in a
        kernel of its own; its start (first notebook) and reset count in ``seconds``.

    Returns
    -------
    NotebookResult
        ``status`` ``"ok"`` or ``"failed"`` (with ``error`` filled in).
    """
    import nbformat
    import papermill

    result = NotebookResult(name=source.stem)
    if kernel is None:
        kernel = notebook_kernel(nbformat.read(str(source), as_version=4)) or DEFAULT_KERNEL
    executed.parent.mkdir(parents=True, exist_ok=True)
    partial = executed.with_name(f".{executed.stem}.partial.ipynb")
    start = time.perf_counter()
    try:
        shared = {} if walk_kernel is None else {"km": walk_kernel.prepare(kernel)}
        papermill.execute_notebook(
            str(source),
            str(partial),
            parameters=dict(parameters),
            kernel_name=kernel,
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            **kernel_options(),
            **shared,
        )
        result.status = "ok"
    except Exception as exc:  # a failing cell, kernel death, missing kernel, unreadable notebook...
        result.status = "failed"
        result.error = _error_record(exc)
    finally:
        result.seconds = time.perf_counter() - start
        if walk_kernel is not None:
            walk_kernel.release_clients()
        if partial.exists():
            os.replace(partial, executed)
    if executed.exists():
        result.executed = executed
    return result


def _error_record(exc: Exception) -> dict:
    """Where and how a notebook failed: the failing cell for an error raised in one, else the
    exception (kernel death, missing kernel...) with no cell."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {"ename": exc.ename, "evalue": exc.evalue, "exec_count": exc.exec_count,
                "cell_index": exc.cell_index, "source": exc.source,
                "redshift1": exc.ename in _redshift1_error_names()}
    return {"ename": type(exc).__name__, "evalue": str(exc), "exec_count": None, "cell_index": None,
            "source": "", "redshift1": isinstance(exc, Redshift1Error)}


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


def sweep_leftovers(folders: Iterable[Path]) -> None:
    """Remove what a killed run can leave: temporary files of atomic writes
    (:func:`redshift1.io.is_atomic_leftover`) and half-executed notebooks
    (``.NN_name.partial.ipynb``). Only names this project writes are matched, so a user's own
    hidden files in a figures or build folder are left alone."""
    from ..io import is_atomic_leftover

    for folder in folders:
        for p in Path(folder).rglob(".*"):
            if p.is_file() and not p.is_symlink() and (is_atomic_leftover(p) or _PARTIAL_NOTEBOOK.match(p.name)):
                p.unlink(missing_ok=True)


_PARTIAL_NOTEBOOK = re.compile(r"^\.\d\d_.+\.partial\.ipynb$")


@contextmanager
def project_root_in_environment(root: Path) -> Iterator[None]:
    """Set ``REDSHIFT1_ROOT`` for the kernels (inherited), and make ``PYTHONPATH`` absolute,
    restoring the caller's values after.

    The notebooks resolve relative paths at the project root (:func:`redshift1.paths.project_root`);
    a run with ``--root`` must make them agree with the runner. The kernels start in the
    notebooks' folder, where a relative ``PYTHONPATH`` (``PYTHONPATH=lib``) would point nowhere and
    the kernel would import another installed copy of the package than the runner hashed for
    its cache: its entries are resolved against the runner's working directory.
    """
    saved = {name: os.environ.get(name) for name in ("REDSHIFT1_ROOT", "PYTHONPATH")}
    os.environ["REDSHIFT1_ROOT"] = str(root)
    if saved["PYTHONPATH"]:
        os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(entry).resolve()) if entry else entry
                                                   for entry in saved["PYTHONPATH"].split(os.pathsep))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
