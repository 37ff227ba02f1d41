"""What the end-to-end benchmarks share: a real worker, its busy CPU, the commit and the machine's load."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


def database_swap(url: str, name: str) -> str:
    """Return the server ``url`` pointed at the database ``name``."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_run(admin_url: str, sql: str) -> None:
    """Run one statement (CREATE or DROP DATABASE) on the server outside a transaction."""
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def commit_describe() -> str:
    """Return the commit the benchmark runs, with "+changes" when the tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=BASE_DIR, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" +changes" if dirty.strip() else "")


def load_describe() -> str:
    """Return the machine's load averages (1, 5, 15 minutes) and its processor count."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} processors"


def worker_start(concurrency: int, env: dict, *, timeout: float = 60) -> subprocess.Popen:
    """Start a worker in its own process group (a SIGKILL reaches its pool) and return once it answers a ping."""
    from config.celery import app

    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"),
            *("--concurrency", str(concurrency), "-l", "warning", "--without-gossip", "--without-mingle"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited ({worker.returncode}) before it was ready")
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not answer a ping within {timeout:.0f} s")
    # The pool processes are forked before the ping is answered; give the last of them a moment.
    time.sleep(0.5)
    return worker


def group_cpu_seconds(group: int) -> float:
    """Return the CPU seconds (user + system) the live processes of process group ``group`` have used."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the name: state, ppid, pgrp, ... utime is field 14 of stat, stime 15 (1-based, name included).
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def median(values: list[float]) -> float:
    """Return the median of ``values``."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def verdict(value: float, target: float, *, at_least: bool = False) -> str:
    """Return "met" or "NOT MET" for ``value`` against ``target`` (an upper bound unless ``at_least``)."""
    return "met" if (value >= target if at_least else value <= target) else "NOT MET"


def request_timeline(request, posted, answered=None) -> str:
    """Return when each of the request's jobs was created, started and finished, in ms after its POST.

    ``answered``: when the POST's answer came back, if the caller noted it.
    """

    def ms(moment) -> str:
        return f"{(moment - posted).total_seconds() * 1000:5.0f}" if moment else "    -"

    plan = getattr(request, "plan", None)
    lines = [
        f"  {request.reference}: filed at {ms(request.created_at)} ms, answered at {ms(answered)} ms, plan made at "
        f"{ms(plan.created_at if plan else None)} ms, closed at {ms(request.closed_at)} ms"
    ]
    for job in request.jobs.order_by("created_at", "pk"):
        where = f"{job.operation} {job.source_key}".strip()
        times = f"created {ms(job.created_at)}  started {ms(job.started_at)}  finished {ms(job.finished_at)}"
        lines.append(f"    {where:<28} {times}")
    return "\n".join(lines)
