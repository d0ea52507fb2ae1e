"""Sweeps as independent tasks: in-process, or on dask.distributed across processes and machines.

A sweep is a list of run configs (:class:`hcref.config.RunConfig`) and one *task function*, a pure
function of its config::

    def fig1_task(config, *, checkpoint=None) -> dict:     # module-level, importable by the workers
        result = train(data, config, checkpoint=checkpoint)
        return {"H": ..., "coi": ...}                      # a small JSON-able dict

    results = run_sweep(fig1_task, [base.replace(L_tilde=t) for t in (2, 4, 8)],
                        out_dir="out/05", workers=2)        # or scheduler="tcp://host:8786"

* Without ``workers`` or ``scheduler`` the tasks run here, one after the other, exactly as a plain loop.
* With ``workers=N`` a ``LocalCluster`` of N single-threaded worker processes runs them; with
  ``scheduler=ADDRESS`` an existing dask.distributed scheduler does (a SLURM cluster via
  dask-jobqueue, Kubernetes, a few workstations). Either way the results are the same numbers, in
  the order of ``configs``.
* With ``out_dir`` every finished task's result is stored as ``out_dir/tasks/<name>.json`` and a
  re-run skips it; an unfinished task resumes from its checkpoint ``out_dir/tasks/<name>.npz``
  (the task function passes it to :func:`hcref.training.run_steps`). All workers must see
  ``out_dir`` (a shared file system on a cluster). A worker killed mid-task costs at most one
  checkpoint interval: dask re-runs the task elsewhere and it resumes.
* One progress bar counts tasks done over the total, with the elapsed time; the scheduler's
  dashboard link is printed when it has one.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Callable, Sequence

from .config import RunConfig, run_identity
from .training import progress

__all__ = ["run_sweep", "task_name", "DataTask"]


def task_name(task_fn: Callable, config) -> str:
    """A file-system-safe, stable name of one task: the function and the identity of its config."""
    fn = f"{task_fn.__module__}.{task_fn.__qualname__}".replace("<", "").replace(">", "")
    return f"{fn.rsplit('.', 1)[-1]}-{run_identity(config, part=fn)}"


def _run_one(task_fn, config, checkpoint, blas_threads):
    """Run one task with a bounded BLAS thread count (in a worker or here)."""
    limiter = None
    if blas_threads:
        try:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415
            limiter = threadpool_limits(limits=blas_threads, user_api="blas")
        except ImportError:  # pragma: no cover
            limiter = None
    try:
        result = task_fn(config, checkpoint=checkpoint)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    if not isinstance(result, dict):
        raise TypeError(f"task_fn: {task_fn.__name__} must return a dict, got {type(result).__name__}")
    return result


def _store(path: str, name: str, config, result: dict) -> None:
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=folder)
    with os.fdopen(fd, "w") as fh:
        json.dump({"config": json.loads(config.to_json()) if isinstance(config, RunConfig) else config,
                   "result": result}, fh)
    os.replace(tmp, path)


def _load(path: str):
    try:
        with open(path) as fh:
            return json.load(fh)["result"]
    except (OSError, ValueError, KeyError, TypeError):
        return None          # unreadable: the task runs again and overwrites it


def run_sweep(task_fn: Callable, configs: Sequence, *, out_dir: str | None = None, workers: int | None = None,
              scheduler: str | None = None, desc: str = "sweep", blas_threads: int | None = 1) -> list[dict]:
    """Run ``task_fn(config, checkpoint=...)`` for every config; results in the order of ``configs``.

    Parameters
    ----------
    task_fn : callable, a module-level function ``(config, *, checkpoint) -> dict`` (JSON-able values)
    configs : sequence of RunConfig (distinct)
    out_dir : str, optional; where finished results and task checkpoints are kept (must be shared by all workers)
    workers : int, optional; run on a new LocalCluster of this many single-threaded worker processes
    scheduler : str, optional; address of an existing dask.distributed scheduler
    blas_threads : int or None; BLAS threads per task (1 by default: tasks run side by side)
    """
    if not callable(task_fn):
        raise TypeError(f"task_fn: expected a callable, got {type(task_fn).__name__}")
    configs = list(configs)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    if workers is not None and scheduler is not None:
        raise ValueError("workers, scheduler: give one of them (a new local cluster, or an existing scheduler)")
    names = [task_name(task_fn, c) for c in configs]
    if len(set(names)) != len(names):
        raise ValueError("configs: two tasks have the same config; a sweep's configs must differ")
    results: list = [None] * len(configs)
    paths = [None] * len(configs)
    if out_dir is not None:
        folder = os.path.join(out_dir, "tasks")
        os.makedirs(folder, exist_ok=True)
        paths = [os.path.join(folder, n) for n in names]
        for i, p in enumerate(paths):
            results[i] = _load(p + ".json")
    todo = [i for i, r in enumerate(results) if r is None]
    bar = progress(total=len(configs), initial=len(configs) - len(todo), desc=desc, unit="task")

    def finish(i, result):
        results[i] = result
        if paths[i] is not None:
            _store(paths[i] + ".json", names[i], configs[i], result)
        bar.update(1)

    try:
        if workers is None and scheduler is None:
            for i in todo:
                ck = None if paths[i] is None else paths[i] + ".npz"
                finish(i, _run_one(task_fn, configs[i], ck, blas_threads))
        elif todo:
            _run_distributed(task_fn, configs, paths, todo, finish, workers, scheduler, blas_threads, bar)
    finally:
        bar.close()
    return results


def _run_distributed(task_fn, configs, paths, todo, finish, workers, scheduler, blas_threads, bar):
    try:
        from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ImportError("sweeps on workers need dask.distributed: pip install 'dask[distributed]'") from exc
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        link = getattr(client, "dashboard_link", None)
        if scheduler is not None and link:
            bar.write(f"dask dashboard: {link}")
        futures = {}
        for i in todo:
            ck = None if paths[i] is None else paths[i] + ".npz"
            fut = client.submit(_run_one, task_fn, configs[i], ck, blas_threads, pure=False)
            futures[fut] = i
        for fut in as_completed(list(futures)):
            finish(futures[fut], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class DataTask:
    """A sweep task that trains on loaded data: ``task_fn(load_data(**config.data), config, checkpoint=...)``.

    The loader's keyword arguments are the config's field ``data`` (a dict), so a task's identity (its
    stored result's name, its checkpoint's tag) covers which data it uses, and a worker loads the data
    itself instead of receiving arrays. The loader is passed in (library packages never load data):
    e.g. ``DataTask(train_task, hcref.data.digits)`` with ``config.data == {"seed": 0}``. Both functions
    must be module-level, so that dask workers import them by reference; the task's name includes both.
    """

    def __init__(self, task_fn: Callable, load_data: Callable):
        for name, fn in (("task_fn", task_fn), ("load_data", load_data)):
            if not callable(fn):
                raise TypeError(f"{name}: expected a module-level function, got {type(fn).__name__}")
        self.task_fn, self.load_data = task_fn, load_data
        self.__module__ = getattr(task_fn, "__module__", __name__)
        self.__qualname__ = self.__name__ = (f"{getattr(task_fn, '__name__', 'task')}_on_"
                                             f"{getattr(load_data, '__name__', 'data')}")

    def __call__(self, config, *, checkpoint: str | None = None) -> dict:
        data_args = getattr(config, "data", None)
        if not isinstance(data_args, dict):
            raise TypeError(f"config: {type(config).__name__} needs a dict field 'data' (the loader's keyword "
                            f"arguments), got {type(data_args).__name__}")
        return self.task_fn(self.load_data(**data_args), config, checkpoint=checkpoint)
