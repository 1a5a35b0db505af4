"""Benchmark the job at scale: wall time and peak memory for N symbols x 1D, 4h, 8h.

``python -m bench.scale`` (default 100 symbols) starts a temporary embedded PostgreSQL,
loads labelled sample bars, then runs the real CLI (``python -m jobs.unified_forecast_job``)
as a subprocess with 1 and then 2 workers, sampling the resident memory of the job's process
tree (the main process and its workers; the database server is not counted) every 0.2 s, and
counting the CPU seconds the job and its workers used (what the run costs whatever else the
machine is doing: on an otherwise idle machine the wall time is at least CPU / workers).
Target (issue 24): under 3 minutes with 2 workers on a 2-core machine. Nothing is asserted.
``--symbols 10`` runs a smaller version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pgserver
import psutil

from jobs.storage.db import connect, migrate
from jobs.storage.sample_data import seed_sample_bars

ROOT = Path(__file__).resolve().parent.parent
HORIZONS = ("1D", "4h", "8h")
# The limited-phase symbols first (SPY and MSFT get real index data), then simulated ones.
NAMED = ("AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN", "TSLA", "META", "NFLX", "CRM")
TARGET_SECONDS = 180.0


def bench_symbols(n: int) -> tuple[str, ...]:
    """``n`` distinct tickers: the named ones, then SIM011, SIM012, ..."""
    if n < 1:
        raise ValueError(f"--symbols={n} is invalid: expected at least 1")
    return (NAMED + tuple(f"SIM{i:03d}" for i in range(len(NAMED) + 1, n + 1)))[:n]


@dataclass
class MemoryPeak:
    """Peak resident memory (bytes) seen in a process tree while sampling."""

    total: int = 0
    main: int = 0
    worker: int = 0
    workers_seen: int = 0
    main_cpu: float = 0.0  # the job process's own CPU seconds, last seen (its workers' are not in it)


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and its descendants (database server processes excluded)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = psutil.Process(pid), interval
        self.peak = MemoryPeak()
        self.done = threading.Event()
        self._workers: set[int] = set()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self._sample()
            except psutil.Error:  # the tree changed under us (a worker replaced, the job ending)
                pass
            time.sleep(self.interval)

    def _sample(self) -> None:
        main = self.root.memory_info().rss
        times = self.root.cpu_times()
        self.peak.main_cpu = times.user + times.system
        children = [c for c in self.root.children(recursive=True) if not c.name().startswith(("postgres", "pg_"))]
        rss = []
        for child in children:
            try:
                rss.append(child.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
            if "spawn_main" in " ".join(child.cmdline()):
                self._workers.add(child.pid)
        self.peak.total = max(self.peak.total, main + sum(rss))
        self.peak.main = max(self.peak.main, main)
        self.peak.worker = max([self.peak.worker, *rss])
        self.peak.workers_seen = len(self._workers)


@dataclass
class RunFigures:
    """What one timed run measured."""

    workers: int
    wall: float
    cpu: float
    status: int
    forecasts: int
    peak: MemoryPeak


def timed_run(url: str, data_dir: Path, symbols: tuple[str, ...], workers: int) -> RunFigures:
    """Run the CLI once on ``symbols`` x ``HORIZONS``; time it and sample its memory."""
    run_id = f"bench-scale-{len(symbols)}x{len(HORIZONS)}-w{workers}"
    command = [sys.executable, "-m", "jobs.unified_forecast_job", "--symbols", ",".join(symbols),
               "--horizon", ",".join(HORIZONS), "--workers", str(workers), "--run-id", run_id]
    env = {**os.environ, "DATABASE_URL": url, "FORECAST_DATA_DIR": str(data_dir), "TORCH_NUM_THREADS": "1"}
    log = data_dir / f"{run_id}.log"
    started, before = time.perf_counter(), os.times()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        status = proc.wait()
    wall, after = time.perf_counter() - started, os.times()
    # The job and every worker it reaped: a reaped process's CPU time moves to its parent's children times.
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    sampler.done.set()
    sampler.join()
    if status != 0:
        print(f"  run with {workers} worker(s) exited {status}; last output:\n{log.read_text()[-2000:]}")
    with connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) AS n FROM forecasts WHERE run_id = %(r)s", {"r": run_id}).fetchone()
    return RunFigures(workers, wall, cpu, status, int(row["n"]) if row else 0, sampler.peak)


def report(fig: RunFigures, tasks: int) -> str:
    """One printed line per run."""
    mib = 1024 * 1024
    p = fig.peak
    complete = fig.status == 0 and fig.forecasts == tasks
    met = complete and fig.wall < TARGET_SECONDS
    verdict = "" if fig.workers < 2 else f"  [target < {TARGET_SECONDS / 60:.0f} min: {'met' if met else 'MISSED'}]"
    return (f"{fig.workers} worker(s): {fig.wall:7.1f} s wall ({fig.wall / 60:4.1f} min), "
            f"{fig.wall / tasks:5.2f} s per symbol-horizon, {fig.forecasts}/{tasks} forecasts, exit {fig.status}; "
            f"CPU {fig.cpu:6.1f} s for the job and its workers ({fig.cpu / tasks:.2f} s per symbol-horizon, "
            f"{fig.cpu / fig.workers / 60:.1f} min per worker; the job process itself {p.main_cpu:.1f} s); "
            f"peak RSS {p.total / mib:6.0f} MiB total (main {p.main / mib:.0f} MiB, largest worker "
            f"{p.worker / mib:.0f} MiB, {p.workers_seen} worker processes){verdict}")


def main(argv: list[str] | None = None) -> None:
    """Seed a temporary database, run the job with 1 and 2 workers, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100, help="number of symbols (default 100)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to run (default 1,2)")
    args = parser.parse_args(argv)
    symbols = bench_symbols(args.symbols)
    counts = [int(w) for w in args.workers.split(",")]
    tasks = len(symbols) * len(HORIZONS)
    print(f"{len(symbols)} symbols x {len(HORIZONS)} horizons ({', '.join(HORIZONS)}) = {tasks} symbol-horizons; "
          f"{psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        started = time.perf_counter()
        # Its own server, stopped before the folder goes (the job's embedded default stays up).
        with pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop") as server:
            url = server.get_uri()
            migrate(url)
            bars = seed_sample_bars(url, symbols, ["1d", "1h"])
            print(f"setup: {bars} sample bars loaded in {time.perf_counter() - started:.1f} s (not timed below)")
            for workers in counts:
                print(report(timed_run(url, Path(tmp), symbols, workers), tasks), flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f} (other work on the machine slows these figures)")


if __name__ == "__main__":
    main()
