"""Steps the engine's tests share: finish the owners' manual tasks and let the reconciler look again."""

from datetime import timedelta

from django.utils import timezone

from dsr.engine.manual import manual_task_complete
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import ManualTask, ManualTaskStatus, Request


def tasks_finish(request: Request, actor, run) -> int:
    """Attest every open manual task of ``request``, then run the reconciler as if the poll interval had passed."""
    tasks = list(ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN))
    for task in tasks:
        manual_task_complete(task=task, finding="done", attestation="Done as instructed", actor=actor)
    run(jobs_reconcile, now=timezone.now() + timedelta(hours=1))
    request.refresh_from_db()
    return len(tasks)
