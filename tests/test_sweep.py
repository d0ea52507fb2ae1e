"""Sweeps as tasks: in-process and on a dask LocalCluster give the same results; a killed worker is survived."""
import dataclasses
import json
import os
import signal
import sys
import time

import numpy as np
import pytest

from hcref.config import RunConfig
from hcref.optim import Adam
from hcref.sweep import run_sweep, task_name
from hcref.training import load_checkpoint, run_steps


@dataclasses.dataclass(frozen=True)
class ToyTask(RunConfig):
    target: float = 1.0
    steps: int = 30
    seed: int = 0
    sleep: float = 0.0


def toy_task(config, *, checkpoint=None):
    """Fit w to a noisy target with Adam: a pure function of its config (seeded)."""
    rng = np.random.default_rng(config.seed)
    saved = load_checkpoint(checkpoint) if checkpoint else None

    def step_fn(p, g, step):
        if config.sleep:
            time.sleep(config.sleep)
        grad = 2 * (p["w"] - config.target) + 0.01 * g.normal(size=3)
        return {"w": grad}, {"loss": float(np.sum((p["w"] - config.target) ** 2))}
    params, hist = run_steps(step_fn, {"w": np.zeros(3)}, Adam(0.05), rng, config.steps,
                             checkpoint=checkpoint, every=5, tag=config.to_json())
    return {"w": params["w"].tolist(), "final_loss": hist[-1]["loss"], "pid": os.getpid(),
            "resumed_at": saved["step"] if saved else 0}


def _strip(results):
    return [{k: v for k, v in r.items() if k not in ("pid", "resumed_at")} for r in results]


def test_in_process_results_are_stored_and_skipped(tmp_path):
    configs = [ToyTask(target=t, seed=s) for t in (1.0, -2.0) for s in (0, 1)]
    first = run_sweep(toy_task, configs, out_dir=str(tmp_path))
    assert len(first) == 4 and first[0] != first[1]
    stored = sorted(os.listdir(tmp_path / "tasks"))
    assert sum(n.endswith(".json") for n in stored) == 4
    again = run_sweep(toy_task, configs, out_dir=str(tmp_path))
    assert [r["pid"] for r in again] == [r["pid"] for r in first]      # read back, not re-run
    data = json.loads((tmp_path / "tasks" / (task_name(toy_task, configs[0]) + ".json")).read_text())
    assert ToyTask.from_dict(data["config"]["fields"]) == configs[0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers"):
        run_sweep(toy_task, [ToyTask()], workers=0)
    with pytest.raises(ValueError, match="same config"):
        run_sweep(toy_task, [ToyTask(), ToyTask()])
    with pytest.raises(ValueError, match="one of them"):
        run_sweep(toy_task, [ToyTask()], workers=1, scheduler="tcp://127.0.0.1:1")


def test_local_cluster_equals_in_process(tmp_path):
    pytest.importorskip("distributed")
    configs = [ToyTask(target=t, seed=s) for t in (1.0, -2.0) for s in (0, 1)]
    here = run_sweep(toy_task, configs)
    there = run_sweep(toy_task, configs, workers=2, out_dir=str(tmp_path))
    assert _strip(there) == _strip(here)
    assert {r["pid"] for r in there}.isdisjoint({os.getpid()})


def test_killed_worker_is_survived(tmp_path):
    """Kill every worker as soon as a task has checkpointed: the tasks resume and the results are unchanged."""
    distributed = pytest.importorskip("distributed")
    import threading
    configs = [ToyTask(target=t, steps=60, sleep=0.02) for t in (1.0, 2.0, 3.0)]
    here = run_sweep(toy_task, configs)
    folder = tmp_path / "tasks"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    killed = []
    try:
        with distributed.Client(cluster) as client:
            pids = list(client.run(os.getpid).values())

            def kill_when_checkpointed():
                deadline = time.time() + 60
                while time.time() < deadline and not killed:
                    ckpts = [f for f in (os.listdir(folder) if folder.exists() else []) if f.endswith(".npz")]
                    if any(not (folder / (f[:-4] + ".json")).exists() for f in ckpts):
                        for pid in pids:
                            os.kill(pid, signal.SIGKILL)
                        killed.append(time.time())
                    time.sleep(0.01)
            killer = threading.Thread(target=kill_when_checkpointed)
            killer.start()
            there = run_sweep(toy_task, configs, scheduler=cluster.scheduler_address, out_dir=str(tmp_path))
            killer.join()
    finally:
        cluster.close()
    assert killed, "no worker was killed mid-task"
    assert any(r["resumed_at"] > 0 for r in there), there      # some task resumed from its checkpoint
    assert _strip(there) == _strip(here)
