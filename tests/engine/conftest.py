"""The engine is tested on the rights' test company: real shop and Chinook databases, the chats, an ad partner."""

import pytest

from dsr.engine import jobs as engine_jobs
from dsr.models import Job
from tests.rights.conftest import (  # noqa: F401  (the fixtures, reused)
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)


@pytest.fixture
def jobs_runs(monkeypatch) -> list[list[tuple[str, str]]]:
    """Record each run of jobs one after another (engine.jobs.jobs_run): its jobs' (source, operation), sorted."""
    runs: list[list[tuple[str, str]]] = []
    real = engine_jobs.jobs_run

    def spy(*, job_ids, **kwargs):
        runs.append(sorted(Job.objects.filter(pk__in=job_ids).values_list("source_key", "operation")))
        return real(job_ids=job_ids, **kwargs)

    monkeypatch.setattr(engine_jobs, "jobs_run", spy)
    return runs
