"""Faults on a running dsr: the broker stopped and restarted, workers SIGKILLed mid-job, the database restarted.

    .venv/bin/python bench/faults.py [--per-phase 12] [--database postgres://postgres@127.0.0.1:5432/postgres]
                                     [--redis-port 6379] [--pg-cluster "15 main"]

It stops and starts the machine's own Redis (`redis-cli shutdown nosave`, then
`redis-server --daemonize yes` with the settings it had) and restarts its
PostgreSQL cluster (`pg_ctlcluster 15 main restart`), and leaves both running.
dsr runs as in production, with production's defaults for leases, sweeps and
the reconciler: one `celery worker` (two processes) and one `celery beat` on a
fresh PostgreSQL database (dsr_bench_faults) and Redis db 8. Requests are filed
through the API (an integration's key, so they start at once) by a client in
this process that retries as a careful client does: the same Idempotency-Key
after an error, and once more without a key for some (the duplicate guard).
The sources are the erasure benchmark's (the demo shop, two copies, Chinook and
an OpenGDPR ad partner on a local port).

Phases, each with --per-phase new people (erasures and access requests):

1. broker down: Redis is stopped, the requests are filed, Redis comes back;
   how long until each request's work started;
2. worker kills: while the requests work, the worker (and its pool) is SIGKILLed
   as soon as a job of each kind is running (resolve, access, bundle, erasure
   plan, erasure), and a new one started; how long until that job was done;
3. database restart: PostgreSQL restarts while the requests are filed and work.

At the end it counts requests lost (answered but not stored, or never
completed), stuck (not completed two minutes after the last recovery) and
doubled (two requests for one filing, a job or a completion recorded twice,
two submissions to the ad partner).
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from bench.erasure import _admin, _company_build, _database_swap, _done_twice, _processor_serve  # noqa: E402

BENCH_DB = "dsr_bench_faults"
STUCK_AFTER = 120  # seconds after the last recovery
KILL_KINDS = ("resolve", "access", "bundle", "erasure_plan", "erasure")


def _redis_stop(port: int) -> None:
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False, capture_output=True)
    _wait(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0, 10)


def _redis_settings(port: int) -> list[str]:
    """Return redis-server arguments that restart the running server as it is configured now."""
    arguments = ["--port", str(port), "--daemonize", "yes"]
    for name in ("bind", "dir", "save", "appendonly"):
        out = subprocess.run(["redis-cli", "-p", str(port), "config", "get", name], capture_output=True, text=True)
        lines = out.stdout.splitlines()
        if len(lines) >= 2:
            arguments += [f"--{name}", lines[1]]
    return arguments


def _redis_start(arguments: list[str], port: int) -> None:
    subprocess.run(["redis-server", *arguments], check=True, capture_output=True)
    _wait(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0, 20)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _process_start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _worker_start(env: dict, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2"]
    worker = _process_start([*argv, "-l", "info", "--without-gossip", "--without-mingle"], env, log)
    _wait(lambda: " ready." in log.read_text(errors="replace").rsplit("celery@", 1)[-1], 60)
    return worker


def _group_kill(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


class Filer:
    """A careful API client: every filing has an Idempotency-Key, and an error is retried with the same key."""

    def __init__(self, token: str) -> None:
        from django.test import Client

        self.client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
        self.filings: list[dict] = []  # one per person: key, right, email, answers, reference
        self.answers: dict[str, list[int]] = {}

    def _post(self, body: dict, key: str | None) -> tuple[int, str | None]:
        from django.db import close_old_connections

        # What a real server does at each request's start (the test client leaves it out): drop a broken connection.
        close_old_connections()
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        try:
            response = self.client.post("/api/v1/requests/", body, content_type="application/json", **headers)
        except Exception:  # the database went away under the client itself
            return 599, None
        reference = response.json().get("reference") if response.status_code in (200, 201) else None
        return response.status_code, reference

    def file(self, *, phase: str, right: str, email: str, again_without_key: bool, retry_for: float = 60) -> None:
        body = {"right": right, "email": email}
        filing = {"phase": phase, "right": right, "email": email, "key": uuid.uuid4().hex, "references": set()}
        deadline = time.monotonic() + retry_for
        while True:
            status, reference = self._post(body, filing["key"])
            self.answers.setdefault(phase, []).append(status)
            if reference:
                filing["references"].add(reference)
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        # The answer was lost on the way back: the client sends the same filing again.
        status, reference = self._post(body, filing["key"])
        self.answers[phase].append(status)
        if reference:
            filing["references"].add(reference)
        if again_without_key:
            status, reference = self._post(body, None)
            self.answers[phase].append(status)
            if reference:
                filing["references"].add(reference)
        self.filings.append(filing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-phase", type=int, default=12, help="people filed in each phase (default 12)")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--pg-cluster", default="15 main", help="the cluster pg_ctlcluster restarts")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="dsr-bench-faults-"))
    env = {
        "DATABASE_URL": _database_swap(args.database, BENCH_DB),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "DSR_HTTPS": "false",
        "ALLOWED_HOSTS": "testserver",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{args.redis_port}/8",
        "DSR_VAR_DIR": str(folder / "var"),
        "DSR_OUTBOX_DIR": str(folder / "outbox"),
        "DSR_ERASURE_AUTO_APPROVE": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DSR_INTAKE_RATE_PER_IP": "100000000/hour",
        "DSR_INTAKE_RATE_PER_EMAIL": "100000000/hour",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections

    from dsr.apikeys import apikey_create
    from dsr.audit import Actor
    from dsr.datamap.loading import datamap_load
    from dsr.models import ApiScope, Job, JobStatus, Plan, Request, Status

    people = args.per_phase * 3
    redis_arguments = _redis_settings(args.redis_port)
    pg = args.pg_cluster.split()
    _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    _admin(args.database, f'CREATE DATABASE "{BENCH_DB}"')
    worker = beat = server = None
    log = folder / "worker.log"
    try:
        call_command("migrate", verbosity=0)
        server, processor = _processor_serve(set())
        text, emails = _company_build(folder / "company", people, processor.url)
        processor.audience |= {hashlib.sha256(email.encode()).hexdigest() for email in emails}
        datamap_load(text=text, loaded_by="bench")
        token = apikey_create(name="bench", scopes=[ApiScope.REQUESTS_CREATE], actor=Actor.system()).token
        filer = Filer(token)
        child_env = {**os.environ, **env}
        worker = _worker_start(child_env, log)
        beat = _process_start(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info"], child_env, folder / "beat.log"
        )
        batches = [emails[i * args.per_phase : (i + 1) * args.per_phase] for i in range(3)]

        def file_batch(phase: str, batch: list[str]) -> None:
            for number, email in enumerate(batch):
                right = "erasure" if number % 2 else "access"
                filer.file(phase=phase, right=right, email=email, again_without_key=number % 3 == 0)

        # 1. The broker is down while people file.
        print("phase 1: Redis stopped, filing, Redis started", flush=True)
        _redis_stop(args.redis_port)
        file_batch("broker down", batches[0])
        time.sleep(5)  # the outage lasts a little longer
        _redis_start(redis_arguments, args.redis_port)
        recovered = time.monotonic()
        phase1 = Request.objects.filter(email__in=batches[0])
        started = _wait(lambda: Plan.objects.filter(request__in=phase1).count() == phase1.count(), 120)
        start_seconds = time.monotonic() - recovered if started else None
        last_recovery = time.monotonic()

        # 2. Workers killed while a job of each kind runs.
        print("phase 2: filing, SIGKILL the worker while each kind of job runs", flush=True)
        file_batch("worker kills", batches[1])
        kills: list[dict] = []
        deadline = time.monotonic() + 300
        while len(kills) < len(KILL_KINDS) and time.monotonic() < deadline:
            killed = {kill["kind"] for kill in kills}
            running = (
                Job.objects.filter(status=JobStatus.RUNNING, request__email__in=batches[1])
                .exclude(operation__in=killed)
                .filter(operation__in=KILL_KINDS)
                .first()
            )
            if running is None:
                time.sleep(0.02)
                continue
            _group_kill(worker, signal.SIGKILL)
            kills.append({"kind": running.operation, "job": running.pk, "at": time.time()})
            print(f"  killed the worker during {running.operation} (job {running.pk})", flush=True)
            worker = _worker_start(child_env, log)
        last_recovery = time.monotonic()

        # 3. The database restarts while people file and the work runs.
        print("phase 3: filing while PostgreSQL restarts", flush=True)
        restart = threading.Thread(
            target=lambda: (time.sleep(1), subprocess.run(["pg_ctlcluster", *pg, "restart"], check=False))
        )
        restart.start()
        file_batch("database restart", batches[2])
        restart.join()
        close_old_connections()
        last_recovery = time.monotonic()

        print("waiting for every request to complete ...", flush=True)
        every = Request.objects.filter(email__in=emails)
        _wait(
            lambda: (close_old_connections(), not every.exclude(status=Status.COMPLETED).exists())[1],
            last_recovery + STUCK_AFTER - time.monotonic(),
        )
        for kill in kills:
            job = Job.objects.get(pk=kill["job"])
            kill["status"] = job.status
            kill["taken_over_in"] = job.finished_at.timestamp() - kill["at"] if job.finished_at else None
        completed_by_deadline = every.filter(status=Status.COMPLETED).count()
        stuck = every.exclude(status=Status.COMPLETED).count()
        stored = set(every.values_list("reference", flat=True))
        # Never answered with a reference even after retrying, or answered with one that was not stored.
        lost = sum(1 for filing in filer.filings if not filing["references"] & stored)
        doubled = sum(1 for filing in filer.filings if len(filing["references"]) > 1)
        per_person = every.values_list("email", flat=True)
        doubled += len(per_person) - len(set(per_person))
        doubled += _done_twice(processor)
        waited = time.monotonic() - last_recovery

        load = os.getloadavg()
        print()
        print(f"people: {people} ({args.per_phase} per phase), load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        for phase, answers in filer.answers.items():
            counts = {code: answers.count(code) for code in sorted(set(answers))}
            print(f"  {phase}: answers {counts}")
        if start_seconds is None:
            print("  broker down: the work had not started 120 s after Redis came back")
        else:
            print(f"  broker down: every request's work started {start_seconds:.1f} s after Redis came back")
        for kill in kills:
            taken = (
                "not done" if kill["taken_over_in"] is None else f"done {kill['taken_over_in']:.0f} s after the kill"
            )
            print(f"  killed during {kill['kind']}: job {kill['job']} {kill['status']}, {taken}")
        missed = [kind for kind in KILL_KINDS if kind not in {kill["kind"] for kill in kills}]
        if missed:
            print(f"  no running job of these kinds was caught: {', '.join(missed)}")
        print(f"completed: {completed_by_deadline} of {len(stored)} ({waited:.0f} s after the last recovery)")
        print(f"lost: {lost}, stuck (> {STUCK_AFTER} s after recovery): {stuck}, doubled: {doubled}")
    finally:
        for process in (beat, worker):
            if process is not None:
                _group_kill(process, signal.SIGTERM)
        if subprocess.run(["redis-cli", "-p", str(args.redis_port), "ping"], capture_output=True).returncode != 0:
            _redis_start(redis_arguments, args.redis_port)
        subprocess.run(["pg_ctlcluster", *pg, "start"], check=False, capture_output=True)
        if server is not None:
            server.shutdown()
        from django.db import connections

        connections.close_all()
        _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        subprocess.run(["redis-cli", "-p", str(args.redis_port), "-n", "8", "flushdb"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
