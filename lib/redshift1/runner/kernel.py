"""One Jupyter kernel for the whole walk, its state reset between notebooks.

A kernel start and the imports of the scientific stack cost a few CPU-seconds per notebook:
on the quick preset they were most of the walk. :class:`WalkKernel` starts the kernel once,
on the first notebook that executes (a walk served from the cache starts none), and before
each notebook puts it back to the state of a fresh kernel as far as a notebook can see it:
an empty namespace (``%reset -f``), execution counts from 1, the working directory, the
environment, ``sys.path`` and the warning filters of the fresh kernel, every warning shown
again (the "shown once" registries are forgotten), no open figure. What it cannot undo --
modules stay imported, so module-level state set by a notebook would persist -- the
package does not rely on: its module-level caches are pure functions of their arguments.
``run_all.py --fresh-kernels`` starts a kernel per notebook instead.
"""
from __future__ import annotations

from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

__all__ = ["RESET_CODE", "WalkKernel"]

#: Run in the kernel (silently, outside the history) before each notebook. It runs in its own
#: globals, so it adds no name to the notebook's namespace; the fresh kernel's state is kept
#: on the shell object at the first call, made before any notebook.
RESET_CODE = r'''
import gc, os, sys, warnings
from IPython import get_ipython
shell = get_ipython()
shell.run_line_magic("reset", "-f")
fresh = shell.__dict__.setdefault("redshift1_fresh_kernel", {
    "filters": list(warnings.filters), "path": list(sys.path), "environ": dict(os.environ)})
warnings.resetwarnings()                     # also invalidates every module's "already shown" registry
warnings.filters[:] = fresh["filters"]
sys.path[:] = fresh["path"]
if dict(os.environ) != fresh["environ"]:
    os.environ.clear()
    os.environ.update(fresh["environ"])
os.chdir(cwd)
if "matplotlib.pyplot" in sys.modules:
    sys.modules["matplotlib.pyplot"].close("all")
gc.collect()
shell.execution_count = 1
'''


def _ignore(msg) -> None:
    """Output hook that drops the reset's messages (it prints nothing when it works)."""


class _ClientsKernelManager(AsyncKernelManager):
    """A kernel manager that remembers the clients it hands out, so that each notebook's client
    (nbclient makes one per notebook and leaves it open when it does not own the kernel) can be
    closed after the notebook."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.handed_out = []

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        self.handed_out.append(kc)
        return kc


class WalkKernel:
    """The walk's kernel: started on first use, reset before every notebook.

    Parameters
    ----------
    cwd : Path
        The kernel's working directory (the notebooks' folder), restored before each notebook.
    arguments : sequence of str
        Kernel command-line arguments (e.g. :data:`~.execution.KERNEL_ARGUMENTS`).
    config : traitlets.config.Config, optional
        Configuration of the kernel manager (see :func:`~.execution.kernel_options`).
    startup_timeout : float
        Seconds to wait for the kernel to answer after a start.

    Attributes
    ----------
    starts : int
        Kernels started so far (one for a walk, unless a notebook asks for another kernel or a
        kernel died).
    """

    def __init__(self, cwd: Path, arguments=(), config=None, startup_timeout: float = 60.0):
        self.cwd = Path(cwd)
        self.arguments = [*arguments, "--HistoryManager.hist_file=:memory:"]   # as nbclient does
        self.config = config
        self.startup_timeout = startup_timeout
        self.name: str | None = None
        self.starts = 0
        self._km: _ClientsKernelManager | None = None
        self._kc = None

    def __enter__(self) -> "WalkKernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def prepare(self, name: str) -> AsyncKernelManager:
        """A kernel named ``name`` in the state of a fresh one, started if needed.

        Parameters
        ----------
        name : str
            The kernel name the notebook asks for; a different name than the running kernel's
            replaces it.

        Returns
        -------
        jupyter_client.manager.AsyncKernelManager
            To pass to papermill as ``km``.

        Raises
        ------
        RuntimeError
            If the kernel does not answer, or the reset fails in it.
        """
        from jupyter_core.utils import run_sync

        self.release_clients()
        if self._km is None or self.name != name or not run_sync(self._km.is_alive)():
            self.close()
            self._start(name)
        reply = self._kc.execute_interactive(
            f"exec(compile({RESET_CODE!r}, '<walk kernel reset>', 'exec'), "
            f"{{'__builtins__': __builtins__, 'cwd': {str(self.cwd)!r}}})",
            silent=True, store_history=False, timeout=self.startup_timeout, output_hook=_ignore)
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise RuntimeError(f"resetting the walk's kernel failed: {content.get('ename')}: {content.get('evalue')}")
        return self._km

    def _start(self, name: str) -> None:
        from jupyter_core.utils import run_sync

        kwargs = {"kernel_name": name}
        if self.config is not None:
            kwargs["config"] = self.config
        km = _ClientsKernelManager(**kwargs)
        run_sync(km.start_kernel)(extra_arguments=list(self.arguments), cwd=str(self.cwd))
        self._km, self.name = km, name
        self.starts += 1
        # the runner's own client, blocking: an asyncio client would be tied to the event loop
        # that papermill's client then runs its own sockets on
        kc = km.blocking_client()
        kc.start_channels()
        kc.wait_for_ready(timeout=self.startup_timeout)
        self._kc = kc

    def release_clients(self) -> None:
        """Close the clients handed to notebooks so far."""
        if self._km is not None:
            while self._km.handed_out:
                self._km.handed_out.pop().stop_channels()

    def close(self) -> None:
        """Shut the kernel down (if one runs)."""
        from jupyter_core.utils import run_sync

        if self._km is None:
            return
        self.release_clients()
        if self._kc is not None:
            self._kc.stop_channels()
        km, self._km, self._kc, self.name = self._km, None, None, None
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=False)
        finally:
            run_sync(km.cleanup_resources)()
