"""The Celery app: configuration from Django settings, task autodiscovery, beat schedule."""

import contextlib
import gc
import logging
import os
import threading

from celery import Celery, bootsteps
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Settings, not os.environ: they have read .env, so a value set there reaches beat too.
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

app = Celery("dsr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class SignalSweeper(bootsteps.StartStopStep):
    """A thread in each worker that hands the "go" signals recorded by the web processes to the broker.

    dsr/signals.py: filing records its signals in its own transaction and never talks to the broker; this
    sweeper sends them within DSR_SIGNAL_SWEEP_SECONDS, and again once a broker that was down is back.
    """

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs) -> None:
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker) -> None:
        from dsr import tasks

        tasks.signals_in_worker_set(True)
        self.thread = threading.Thread(
            target=_sweeper_run, args=(self.stopping,), name="dsr-signal-sweeper", daemon=True
        )
        self.thread.start()

    def stop(self, worker) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)


app.steps["worker"].add(SignalSweeper)


def _sweeper_run(stopping: threading.Event) -> None:
    """The sweeper's thread: connect this process to the broker (in the thread, so a broker that is down delays
    no step of the worker's start), then sweep until stopped."""
    from dsr import tasks

    _broker_connect()
    tasks.signals_sweeper_run(stopping)


# The templates a worker's jobs render: emails, letters, and the access bundle's report and index.
WARM_TEMPLATE_FOLDERS = ("dsr/emails", "dsr/letters", "dsr/exports")


def _templates_warm() -> None:
    """Compile the jobs' templates, load each language's translations and ready the message cipher, once."""
    from pathlib import Path

    from django.template.loader import get_template
    from django.utils import translation

    from dsr.crypto import seal, unseal

    root = Path(settings.BASE_DIR) / "templates"
    for folder in WARM_TEMPLATE_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".html", ".txt"):
                get_template(path.relative_to(root).as_posix())
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            # Any lookup loads the language's catalogue; a variable, so that no literal is marked for translation.
            translation.gettext(code)
    unseal(seal({}, purpose="worker start"), purpose="worker start")


def _urls_warm() -> None:
    """Build the URL resolvers' reverse tables for each language, as a message's first link would.

    Django builds them per active language and per namespace on the first reverse(); in a pool process that
    was 10-20 ms of regular expressions in the middle of its first request.
    """
    from django.urls import NoReverseMatch, get_resolver, reverse
    from django.utils import translation

    codes = {settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)}
    for code in sorted(codes):
        with translation.override(code):
            namespaces = [("", get_resolver())]
            while namespaces:
                namespace, resolver = namespaces.pop()
                # Reversing one name of each namespace builds its tables and the namespace's own resolver;
                # whether the name needs arguments does not matter, the tables are built first.
                name = next((key for key in resolver.reverse_dict if isinstance(key, str)), None)
                if name is not None:
                    with contextlib.suppress(NoReverseMatch):
                        reverse(f"{namespace}{name}")
                namespaces.extend((f"{namespace}{ns}:", nested) for ns, (_, nested) in resolver.namespace_dict.items())


def _calendars_warm() -> None:
    """Read every jurisdiction's public holidays for this year and the next, which the deadlines count in."""
    from django.utils import timezone

    from dsr import deadlines
    from dsr.jurisdictions import PROFILES

    year = timezone.localdate().year
    for calendar in sorted({profile.calendar for profile in PROFILES.values()}):
        for each in (year, year + 1):
            deadlines.public_holidays(calendar, each)


def _controller_warm() -> None:
    """Read the active map's controller, which every letter and email names (kept per process per version)."""
    from dsr.datamap.selectors import controller_current

    controller_current()


def _mail_warm() -> None:
    """Import the email backend and look up the host name, which Django does only when the first message goes."""
    from django.core.mail.utils import DNS_NAME
    from django.utils.module_loading import import_string

    import_string(settings.EMAIL_BACKEND)
    # The host name every Message-ID carries: Django looks it up (a DNS query) for a process's first message.
    DNS_NAME.get_fqdn()


@worker_init.connect
def worker_warm(**kwargs) -> None:
    """Ready the worker before its pool forks, so a pool process's first request costs what its next one does.

    Fonts and letter templates load once (dsr.letters.letters_warm), the other templates the jobs render and both
    languages' translations (_templates_warm), the URL tables for links, every jurisdiction's public holidays,
    the email backend and the data map's controller, and the active data map and its connectors
    (dsr.engine.connectors.connectors_warm: a SQL source's tables reflected, its live schema read and its first
    reads compiled, reading no row), after which the database connections are closed so no pool process
    inherits one (each opens its own as it starts: _database_connect). Then everything loaded so far is moved
    out of the garbage collector's reach (gc.freeze): the first full collection in each pool process would
    otherwise walk every imported module's objects in the middle of a request, and touching them would copy the
    pages the pool processes share with this one.
    """
    from django.db import connections

    from dsr.engine.connectors import connectors_warm
    from dsr.letters import letters_warm

    try:
        letters_warm()
    except Exception:
        # Warming only saves time: a worker that cannot render a letter now still starts, and the request
        # that needs the letter reports the problem where staff see it.
        logger.warning("worker: the letters could not be rendered at start", exc_info=True)
    try:
        _templates_warm()
    except Exception:
        logger.warning("worker: the templates could not be compiled at start", exc_info=True)
    for warm, what in (
        (_urls_warm, "the URL tables could not be built"),
        (_calendars_warm, "the public holidays could not be read"),
        (_mail_warm, "the email backend could not be imported"),
        (_controller_warm, "the data map's controller could not be read"),
    ):
        try:
            warm()
        except Exception:
            logger.warning("worker: %s at start", what, exc_info=True)
    try:
        connectors_warm()
    except Exception:
        logger.warning("worker: the data map's connectors could not be readied at start", exc_info=True)
    finally:
        connections.close_all()
    gc.collect()
    gc.freeze()


@worker_process_init.connect
def _signals_in_worker(**kwargs) -> None:
    """A worker's pool process holds a broker connection: it hands its own signals over at commit."""
    from dsr import tasks

    tasks.signals_in_worker_set(True)


# How long a pool process's start waits for its broker connection: Celery stops waiting for a pool process
# that is not up within worker_proc_alive_timeout (4 s) and replaces it.
BROKER_CONNECT_WAIT_SECONDS = 1.0


def _broker_connect(**kwargs) -> None:
    """Connect this process's producer to the broker and declare the task queue, before its first "go".

    Each pool process as it starts, and the worker's own process as its signal sweeper starts (after the pool
    has forked, so no pool process inherits the connection). Otherwise the first task each process sends would
    connect and declare in the middle of a request. One attempt: a broker that cannot be reached now is left
    for that first send, which fails fast and leaves its signal to the sweeper (dsr/signals.py).
    """
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            producer.maybe_declare(app.amqp.queues[app.conf.task_default_queue])
    except Exception as exc:
        # One line: while the broker is down, the consumer's own errors say the rest.
        logger.warning("worker: the broker could not be reached at start (%s: %s)", type(exc).__name__, exc)


@worker_process_init.connect
def _broker_connect_soon(**kwargs) -> None:
    """Connect a pool process to the broker as it starts, waiting at most BROKER_CONNECT_WAIT_SECONDS.

    In a thread of its own: a broker host that does not answer holds the thread, not the pool process's start
    (Celery would replace a process not up within 4 s, and the next one would wait again).
    """
    thread = threading.Thread(target=_broker_connect, name="dsr-broker-connect", daemon=True)
    thread.start()
    thread.join(timeout=BROKER_CONNECT_WAIT_SECONDS)


# How long a pool process's start waits for a PostgreSQL server to answer (libpq's least), where DATABASE_URL
# sets no connect_timeout; well within the 4 s Celery gives a pool process to be up.
DATABASE_CONNECT_WAIT_SECONDS = 2


def _database_connect(**kwargs) -> None:
    """Open a pool process's database connection as it starts, not in its first request.

    It stays open for the next tasks (CONN_MAX_AGE; connections_recycle). A database that cannot be reached
    now, or whose host does not answer within DATABASE_CONNECT_WAIT_SECONDS, is left for the first task,
    which reports it and is retried as any task is.
    """
    from django.db import DatabaseError, connection

    options = connection.settings_dict.setdefault("OPTIONS", {})
    bounded = connection.vendor == "postgresql" and "connect_timeout" not in options
    if bounded:
        options["connect_timeout"] = DATABASE_CONNECT_WAIT_SECONDS
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        logger.warning(
            "worker: the database could not be reached as a pool process started (%s: %s)", type(exc).__name__, exc
        )
    finally:
        if bounded:
            del options["connect_timeout"]


@worker_init.connect
def _database_connect_after_django_fixup(**kwargs) -> None:
    """Have each pool process open its database connection after Celery's Django fix-up closed the inherited ones.

    The fix-up installs its own handler of the pool processes' start when the worker initialises, after this
    module's handlers; a handler connected here, as the worker initialises too, comes after it.
    """
    worker_process_init.connect(_database_connect)


@task_prerun.connect
@task_postrun.connect
def connections_recycle(sender=None, **kwargs) -> None:
    """Close the database connections a task should not reuse, as Django does around each web request.

    A connection younger than CONN_MAX_AGE and in good order serves the next task (on PostgreSQL, where it
    saves a new connection and its set-up for every task); one that failed, or fails its health check
    (CONN_HEALTH_CHECKS) at the next task's first query, is replaced. Celery's own Django fix-up closes
    them all only every CELERY_DB_REUSE_MAX tasks. Tasks run inline share their caller's connection.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@task_prerun.connect
def _active_map_read_once(sender=None, **kwargs) -> None:
    """A worker's task reads the active data map's version once (its jobs, plan steps and messages all ask)."""
    from dsr.datamap.selectors import active_version_memo

    if sender is not None and not getattr(sender.request, "is_eager", False):
        active_version_memo(True)


@task_postrun.connect
def _active_map_read_again(sender=None, **kwargs) -> None:
    from dsr.datamap.selectors import active_version_memo

    if sender is not None and not getattr(sender.request, "is_eager", False):
        active_version_memo(False)


# Periodic work. Times are in CELERY_TIMEZONE (the controller's time zone).
app.conf.beat_schedule = {
    "expire-unverified-requests": {
        "task": "dsr.tasks.requests_expire_unverified",
        "schedule": crontab(minute=15),
    },
    "remind-staff-of-deadlines": {
        "task": "dsr.tasks.requests_remind_staff",
        "schedule": crontab(hour=8, minute=0),
    },
    "purge-closed-requests": {
        "task": "dsr.tasks.requests_purge_closed",
        "schedule": crontab(hour=3, minute=30),
    },
    "purge-expired-bundles": {
        "task": "dsr.tasks.bundles_purge_expired",
        "schedule": crontab(minute=45),
    },
    # Lost "go" signals and dead workers' jobs (dsr/engine/, docs/decisions/0008-jobs.md).
    "reconcile-jobs": {
        "task": "dsr.tasks.jobs_reconcile",
        "schedule": float(settings.DSR_RECONCILE_INTERVAL_SECONDS),
    },
    # GDPR Art. 18(3): restrictions lifted once their notice went out and their date came (dsr/restrictions.py).
    "lift-due-restrictions": {
        "task": "dsr.tasks.restrictions_lift_due",
        "schedule": crontab(minute="*/5"),
    },
    "requeue-stuck-messages": {
        "task": "dsr.tasks.messages_requeue_stuck",
        "schedule": crontab(minute="*/10"),
    },
    # Webhooks (dsr/webhooks.py): lost deliveries, "deadline near" once per request, old callback records.
    "reconcile-webhook-deliveries": {
        "task": "dsr.tasks.deliveries_reconcile",
        "schedule": crontab(minute="*"),
    },
    "flag-deadlines-near": {
        "task": "dsr.tasks.requests_flag_deadline_near",
        "schedule": crontab(minute=45),
    },
    "prune-processor-callbacks": {
        "task": "dsr.tasks.callbacks_prune",
        "schedule": crontab(hour=4, minute=10),
    },
    # Direct transmissions (dsr/exports/transmission.py): emails that went out, and lost endpoint attempts.
    "reconcile-transmissions": {
        "task": "dsr.tasks.transmissions_reconcile",
        "schedule": crontab(minute="*"),
    },
    # The audit chain's head, signed and written where the database's operator cannot rewrite it.
    "audit-checkpoint": {
        "task": "dsr.tasks.audit_checkpoint_write",
        "schedule": float(settings.DSR_AUDIT_CHECKPOINT_MINUTES * 60),
    },
    # Retention sweeps (dsr/sweeps.py): only the rules the privacy admin turned on; none by default.
    "retention-sweeps": {
        "task": "dsr.tasks.retention_sweeps_scheduled",
        "schedule": crontab(hour=2, minute=20),
    },
}
