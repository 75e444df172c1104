"""Passes over the partitions of a Dask DataFrame: map a NumPy function, reduce the results.

A *pass* reads every partition once (from its source, e.g. Parquet: nothing is persisted, so
the table never has to fit in memory), applies a function that returns a small dictionary of
NumPy arrays (sums, cross products, minima, maxima) and reduces them: keys starting with
``min_`` / ``max_`` by minimum / maximum, every other key by summation. Passes run on the
``dask.distributed`` client in use (given by address with ``scheduler=``, or the default
client) or, without one, on Dask's local threaded scheduler; a tqdm bar counts the partitions
when the output is a terminal.

>>> import numpy as np
>>> reduce_results([{"n": 2, "min_x": np.array([1.0])}, {"n": 3, "min_x": np.array([0.5])}])
{'n': 5, 'min_x': array([0.5])}
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..._progress import progress, show_progress
from ...exceptions import DataValidationError

__all__ = [
    "is_dask_frame",
    "require_dask",
    "dask_scheduler",
    "partitions_of",
    "run_pass",
    "reduce_results",
    "read_dask_table",
]


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a ``dask.dataframe.DataFrame`` (without importing Dask otherwise).

    >>> import pandas as pd
    >>> is_dask_frame(pd.DataFrame({"a": [1]}))
    False
    """
    module = type(data).__module__ or ""
    return module.startswith("dask") and hasattr(data, "npartitions") and hasattr(data, "columns")


def require_dask() -> Any:
    """Import ``dask`` or say how to install it."""
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Dask engine needs dask: pip install 'deepcause[dask]' "
            "(dask[dataframe,distributed] and pyarrow)"
        ) from exc
    return dask


def _current_client() -> Any:
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return default_client()
    except ValueError:  # no client: Dask's local scheduler
        return None


@contextlib.contextmanager
def dask_scheduler(scheduler: Any = None) -> Iterator[Any]:
    """Use ``scheduler`` for the passes inside the block.

    ``None`` keeps the default client (or Dask's local scheduler when there is none); a string
    is the address of a ``dask.distributed`` scheduler (``"tcp://host:8786"``) to connect to
    for the duration of the block; a ``distributed.Client`` is used as it is.

    Examples
    --------
    >>> with dask_scheduler(None) as client:  # no client: Dask's local scheduler
    ...     print(client)
    None
    """
    if scheduler is None:
        yield _current_client()
        return
    if isinstance(scheduler, str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "scheduler= needs dask.distributed: pip install 'deepcause[dask]'"
            ) from exc
        with Client(scheduler, set_as_default=True) as client:
            yield client
        return
    if not hasattr(scheduler, "compute"):
        raise DataValidationError(
            f"scheduler must be None, an address such as 'tcp://host:8786' or a "
            f"distributed.Client, got {type(scheduler).__name__}"
        )
    with scheduler.as_current():
        yield scheduler


def partitions_of(frame: Any, columns: Sequence[str]) -> list[Any]:
    """One delayed pandas DataFrame per partition, restricted to ``columns``."""
    return list(frame[list(columns)].to_delayed(optimize_graph=True))


def reduce_results(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Combine partition results: minimum for ``min_*`` keys, maximum for ``max_*``, else sum."""
    total: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if key not in total:
                total[key] = value
            elif key.startswith("min_"):
                total[key] = np.minimum(total[key], value)
            elif key.startswith("max_"):
                total[key] = np.maximum(total[key], value)
            else:
                total[key] = total[key] + value
    return total


def _local_callback(desc: str) -> Any:
    """A Dask local-scheduler callback drawing a tqdm bar over the tasks of a pass."""
    from dask.callbacks import Callback
    from tqdm.auto import tqdm

    class _Bar(Callback):
        def _start(self, dsk: Any) -> None:
            self.bar = tqdm(total=len(dsk), desc=desc, leave=False)

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            self.bar.update(1)

        def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
            self.bar.close()

    return _Bar()


def run_pass(
    parts: Sequence[Any],
    func: Callable[..., dict[str, Any]],
    *args: Any,
    desc: str = "pass",
    reduce: bool = True,
) -> Any:
    """Apply ``func(partition, index, *args)`` to every partition; reduce or list the results.

    ``args`` are shipped to the workers once per pass (small arrays: coefficients, means).
    """
    dask = require_dask()
    tasks = [dask.delayed(func, pure=False)(part, i, *args) for i, part in enumerate(parts)]
    client = _current_client()
    if client is None:
        with dask.config.set(scheduler="threads"), contextlib.ExitStack() as stack:
            if show_progress():
                with contextlib.suppress(ImportError):
                    stack.enter_context(_local_callback(desc))
            results = list(dask.compute(*tasks))
    else:
        from distributed import as_completed

        futures = client.compute(tasks)
        order = {future.key: i for i, future in enumerate(futures)}
        results = [None] * len(futures)
        for future in progress(as_completed(futures), desc=desc, total=len(futures)):
            results[order[future.key]] = future.result()
            future.release()
    # reduced in partition order, so that the sums do not depend on the completion order
    return reduce_results(results) if reduce else results


def read_dask_table(path: str, sep: str | None = None) -> Any:
    """A Dask DataFrame from Parquet (``.parquet`` files, a directory or a glob) or CSV files.

    >>> read_dask_table("no/such/*.csv")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: no file matches 'no/such/*.csv'; give a Parquet or CSV file, directory or glob
    """
    import glob
    import os

    matches = sorted(glob.glob(path)) or ([path] if os.path.exists(path) else [])
    if not matches:
        raise DataValidationError(
            f"no file matches {path!r}; give a Parquet or CSV file, directory or glob"
        )
    require_dask()
    import dask.dataframe as dd

    first = matches[0]
    if os.path.isdir(first) or first.endswith((".parquet", ".pq")):
        return dd.read_parquet(matches if len(matches) > 1 else first)
    return dd.read_csv(matches, sep=sep or ",")
