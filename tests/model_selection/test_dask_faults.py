"""`fairkit compare --scheduler` under cluster faults: a killed worker, a lost scheduler, no
workers left, a frozen worker (issue 16, item 4).

Each test injects the fault into a real cluster of worker processes while the run is under
way, and checks the outcome: the same report as a fault-free run, or one line and exit 2.
"""

import io
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("dask.distributed")

from fairkit import _cli_compare  # noqa: E402
from fairkit.cli import main  # noqa: E402

pytestmark = pytest.mark.slow

# a handful of methods with their default grids: about 60 tasks, a few seconds on two workers
METHODS = "baseline,reweighing,correlation_remover,threshold_optimizer,prejudice_remover"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # two groups with different selection rates (as in tests/test_cli_compare.py)
    rng = np.random.default_rng(0)
    grp = np.array(["a"] * 300 + ["b"] * 250)
    x1 = rng.normal(size=len(grp)) + np.where(grp == "b", 0.8, 0.0)
    x2 = rng.normal(size=len(grp))
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.7, size=len(grp)) > 0.4).astype(int)
    df = pd.DataFrame({"x1": x1, "x2": x2, "grp": grp, "y": y}).sample(frac=1, random_state=1)
    path = tmp_path_factory.mktemp("dask_faults") / "small.csv"
    df.to_csv(path, index=False)
    return path


def argv(path, out, scheduler, *extra):
    return ["compare", "--dataset", str(path), "--target", "y", "--prot-attr", "grp",
            "--methods", METHODS, "--cv", "3", "--n-jobs", "2", "--quiet",
            "--output", str(out), "--scheduler", scheduler, *extra]


def run(args, capsys):
    status = main(args, out=io.StringIO())
    return status, capsys.readouterr().err


def table(folder):
    frame = pd.read_csv(folder / "fairkit-compare.csv")
    return frame.drop(columns=[c for c in frame.columns if c.startswith("fit_time")])


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as watcher:
            yield cluster, watcher


def kill_when_busy(watcher, sig, seen):
    """Send ``sig`` to the first worker process the scheduler reports tasks running on."""
    pids = watcher.run(os.getpid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = [addr for addr, keys in watcher.processing().items() if keys]
        if busy:
            seen["addr"], seen["pid"] = busy[0], pids[busy[0]]
            seen["tasks"] = len(watcher.processing()[busy[0]])
            os.kill(seen["pid"], sig)
            return
        time.sleep(0.02)


def test_killed_worker_gives_the_fault_free_report(data, tmp_path, cluster, capsys):
    cluster, watcher = cluster
    address = cluster.scheduler_address
    status, err = run(argv(data, tmp_path / "clean", address), capsys)
    assert status == 0, err
    seen = {}
    killer = threading.Thread(target=kill_when_busy, args=(watcher, signal.SIGKILL, seen))
    killer.start()
    status, err = run(argv(data, tmp_path / "faulty", address), capsys)
    killer.join()
    assert status == 0, err
    # the kill landed while that worker was running part of the search (the nanny restarts
    # the process: a new pid at the same place)
    assert seen["tasks"] >= 1
    with pytest.raises(ProcessLookupError):
        os.kill(seen["pid"], 0)
    clean, faulty = table(tmp_path / "clean"), table(tmp_path / "faulty")
    assert len(clean) == 7  # the five methods, two with a grid of two
    pd.testing.assert_frame_equal(clean, faulty)


def test_all_workers_gone_is_one_line(data, tmp_path, cluster, capsys, monkeypatch):
    cluster, watcher = cluster
    monkeypatch.setattr(_cli_compare, "_NO_WORKER_GRACE", 3.0)
    pids = list(watcher.run(os.getpid).values())
    for nanny in cluster.workers.values():
        nanny.auto_restart = False  # the workers stay dead

    def kill_all():
        while not any(watcher.processing().values()):
            time.sleep(0.02)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_all)
    killer.start()
    start = time.monotonic()
    status, err = run(argv(data, tmp_path, cluster.scheduler_address), capsys)
    killer.join()
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("fairkit compare: error: --scheduler ")
    # the workers held the only copies of X and y: the run ends at once, or (had they
    # died before the data went out) after the 3 s without a worker
    assert "all workers gone" in lines[-1] or "no worker connected for 3 s" in lines[-1]
    assert len(lines) == 1
    assert "Traceback" not in err
    assert time.monotonic() - start < 30
    assert not (tmp_path / "fairkit-compare.csv").exists()


def test_frozen_worker_with_timeout_is_one_line(data, tmp_path, cluster, capsys):
    cluster, watcher = cluster
    seen = {}
    freezer = threading.Thread(target=kill_when_busy, args=(watcher, signal.SIGSTOP, seen))
    freezer.start()
    start = time.monotonic()
    try:
        status, err = run(argv(data, tmp_path, cluster.scheduler_address, "--timeout", "6"),
                          capsys)
        took = time.monotonic() - start
    finally:
        freezer.join()
        if "pid" in seen:
            os.kill(seen["pid"], signal.SIGCONT)
    assert status == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("fairkit compare: error: --timeout 6: the search on ")
    assert "Traceback" not in err
    assert 6 <= took < 6 + 10
    assert not (tmp_path / "fairkit-compare.csv").exists()


def test_lost_scheduler_is_one_line(data, tmp_path):
    # the scheduler in a process of its own, so it can be killed
    sched_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", "0",
                                         "--dashboard-address", ":0",
                                         "--scheduler-file", str(sched_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    procs = [scheduler]
    try:
        deadline = time.monotonic() + 30
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1",
                 "--no-nanny", "--scheduler-file", str(sched_file)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        watcher = distributed.Client(scheduler_file=str(sched_file))
        watcher.wait_for_workers(2, timeout=30)
        address = watcher.scheduler.address

        def kill_scheduler():
            while not any(watcher.processing().values()):
                time.sleep(0.02)
            scheduler.kill()
            seen["killed"] = time.monotonic()

        seen = {}
        killer = threading.Thread(target=kill_scheduler)
        killer.start()
        run_ = subprocess.run(
            [sys.executable, "-m", "fairkit.cli", *argv(data, tmp_path, address)],
            capture_output=True, text=True, timeout=120, env=env)
        ended = time.monotonic()
        killer.join()
        try:
            watcher.close(timeout=1)
        except Exception:
            pass  # its scheduler is gone
        assert run_.returncode == 2, run_.stderr
        # the client's 5 s of reconnecting, a poll and the exit
        assert ended - seen["killed"] < 15
        lines = run_.stderr.strip().splitlines()
        assert lines == [f"fairkit compare: error: --scheduler {address!r}: lost the "
                         "connection to the scheduler; no report written."]
        assert not (tmp_path / "fairkit-compare.csv").exists()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
