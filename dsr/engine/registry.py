"""What the rights register with the engine: a runner per operation and a handler per right.

The engine sits below the rights (docs/architecture.md): it runs jobs and
advances plans without knowing any right. Each right module in dsr.rights
registers the runners of the operations it asks of the sources and a handler
that says what to do when its plan's jobs are finished; dsr.apps calls
``dsr.rights.rights_register`` when the app is ready.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from dsr.audit import Actor
from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get
from dsr.models import Job, Plan, Request
from dsr.sources.base import Connector, Identifiers
from dsr.sources.state import JobState, connector_with_state


@dataclass
class Step:
    """What a run of a job came to: done with its result, or waiting for a processor or a person."""

    status: str  # JobStatus.DONE or JobStatus.WAITING
    result: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


@dataclass
class JobContext:
    """One job being run, with its request, plan and the active data map."""

    job: Job
    request: Request
    plan: Plan
    datamap: DataMap

    @property
    def identifiers(self) -> Identifiers:
        return {kind: set(values) for kind, values in self.plan.identifiers.items()}

    def connector(self) -> Connector:
        """Return the connector of the job's source, keeping what it remembers between runs on the job's row."""
        return connector_with_state(connector_get(self.job.source_key, self.datamap), JobRowState(self.job))


class JobRowState(JobState):
    """A connector's state kept on its job's row (Job.state), saved as soon as it changes."""

    def __init__(self, job: Job):
        super().__init__(job.state)
        self.job = job

    def save(self) -> None:
        # Written at once, outside the run's result: a worker stopped after this finds it on the next run.
        Job.objects.filter(pk=self.job.pk).update(state=self.data)
        self.job.state = dict(self.data)


@dataclass
class PlanContext:
    """A plan whose current stage's jobs are all finished, with its request (locked) and the active map."""

    request: Request
    plan: Plan
    datamap: DataMap


class RightHandler:
    """What one right does at each stage of its plan; a subclass per right in dsr.rights.

    Each method runs inside the plan's transaction, with the request row locked.
    It creates jobs (dsr.engine.dispatch.jobs_create), moves the plan's stage,
    and asks dsr.workflow for every change of the request's status.
    """

    right: str = ""

    def fan_out(self, ctx: PlanContext) -> None:
        """Create the right's first jobs once the person's identifiers are known."""
        raise NotImplementedError

    def stage_finished(self, ctx: PlanContext) -> None:
        """Move on when every job of the plan's current stage is finished and none failed."""
        raise NotImplementedError

    def approve(self, ctx: PlanContext, *, actor: Actor) -> None:
        """Carry out the plan the privacy team approved (a right whose plan waits for approval overrides this)."""
        raise NotImplementedError

    def job_reported(self, job: Job) -> None:
        """React to a run of ``job`` that came to an answer: done, waiting, failed, or failed for now and retried.

        Runs in the transaction that records the run's result, before the plan moves on. A handler that reads
        other jobs locks the request row first, so runs finishing together see each other's results.
        """

    def plan_closed(self, ctx: PlanContext) -> None:
        """Clean up after the request was closed (completed, refused, cancelled) with its work stopped."""

    def closing(self, request: Request, plan: Plan, datamap: DataMap) -> None:
        """Record what was done as the request closes (in the closing transaction, before its letter is queued)."""


Runner = Callable[[JobContext], Step]
_runners: dict[str, Runner] = {}
_handlers: dict[str, RightHandler] = {}


def runner_register(operation: str, runner: Runner) -> None:
    """Register the function that carries out ``operation`` for one job."""
    _runners[operation] = runner


def runner_for(operation: str) -> Runner:
    """Return the runner of ``operation``; raise KeyError naming it when none is registered."""
    try:
        return _runners[operation]
    except KeyError:
        raise KeyError(f"no runner is registered for the operation {operation!r}") from None


def handler_register(handler: RightHandler) -> None:
    """Register the handler of ``handler.right``."""
    _handlers[handler.right] = handler


def handler_for(right: str) -> RightHandler:
    """Return the handler of ``right``; raise KeyError naming it when none is registered."""
    try:
        return _handlers[right]
    except KeyError:
        raise KeyError(f"no handler is registered for the right {right!r}") from None
