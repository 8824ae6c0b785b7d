"""Map a per-object stage over objects: serially, over local processes, or on a Dask cluster.

``map_objects(fn, items, workers=N)`` runs ``fn`` on local processes; with
``scheduler="tcp://host:8786"`` (or a ``dask.distributed.Client``) on a Dask cluster, which
needs the optional extra ``pip install -e ".[dask]"``. Results come back in input order,
so a table built from them is identical however it was computed. ``fn`` must be a
module-level function (picklable) and each item must carry everything it needs.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Callable, Iterable

from threadpoolctl import threadpool_limits

from .errors import ParameterError
from .progress import progress_bar


def map_objects(fn: Callable, items: Iterable, workers: int = 1, scheduler=None, desc: str = "",
                progress: bool | None = None) -> list:
    """``[fn(item) for item in items]``, possibly in parallel; order preserved."""
    items = list(items)
    if scheduler:
        return _dask_map(partial(_one_blas_thread, fn), items, scheduler, desc, progress)
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, got {workers!r}")
    disable = None if progress is None else not progress
    if workers == 1 or len(items) < 2:
        return [fn(x) for x in progress_bar(items, desc=desc, disable=disable)]
    chunk = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(progress_bar(pool.map(partial(_one_blas_thread, fn), items, chunksize=chunk), desc=desc, disable=disable, total=len(items)))


def _one_blas_thread(fn: Callable, item):
    """``fn(item)`` with BLAS on one thread: the workers already fill the cores, and OpenBLAS
    threads of several processes spinning on two cores made the disc-model matrix products 17x
    slower (notebook 02 on the paper preset: 82 s -> 450 s with two workers)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(item)


def _dask_map(fn, items, scheduler, desc, progress):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise ParameterError("a Dask scheduler was given but dask.distributed is not installed "
                             "(pip install -e \".[dask]\")") from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(fn, items, pure=False)
        for _ in progress_bar(as_completed(futures), desc=desc, total=len(futures),
                              disable=None if progress is None else not progress):
            pass
        return client.gather(futures)
    finally:
        if own:
            client.close()
