"""One request's page: who asked for what, the deadline, the timeline, and the team's actions.

Each action is a POST through one service function (dsr.workflow, dsr.sources.manual),
which locks the row, checks the transition table and writes the audit event. A
post that comes out of order, is replayed, or was drawn before a colleague acted
gets a clear message and changes nothing.
"""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dsr import forms_staff, workflow
from dsr.audit import Actor
from dsr.engine.connectors import datamap_current
from dsr.engine.jobs import job_retry
from dsr.engine.manual import ManualTaskError, manual_task_complete
from dsr.engine.plans import request_jobs, request_plan
from dsr.exports.delivery import bundle_release
from dsr.exports.review import request_bundles
from dsr.models import (
    Bundle,
    BundleStatus,
    Job,
    ManualFinding,
    ManualTask,
    ObjectionScope,
    PlanStage,
    Request,
    RestrictionGround,
)
from dsr.recipients import NotificationError
from dsr.requests import RequestInvalid
from dsr.restrictions import RestrictionError
from dsr.rights.base import request_plan_approve
from dsr.rights.erasure import erasure_dry_run
from dsr.rights.objection import objection_decide
from dsr.rights.outcome import outcome_of, outcome_view
from dsr.rights.rectification import corrections_labelled, rectification_preview
from dsr.roles import HANDLE_REQUEST, team_members
from dsr.selectors import request_deadline
from dsr.views.staff.access import staff_view
from dsr.views.staff.agents import AGENT_ACTIONS, agent_staff_context
from dsr.views.staff.answers import answers_staff_context
from dsr.views.staff.fees import FEE_ACTIONS, fee_context, fee_initial
from dsr.views.staff.queue import queue_counts_forget
from dsr.views.staff.restriction import notice_told_action, restriction_context, restriction_lift_action
from dsr.views.staff.timeline import request_timeline
from dsr.views.staff.transmissions import transmission_staff_context


def _seen(request: Request) -> str:
    return request.updated_at.isoformat(timespec="microseconds")


def _choice_label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else (value or "")


def _forms(request: Request, *, bound: dict | None = None) -> dict[str, forms.Form]:
    seen = {"seen": _seen(request)}
    built = {}
    for name, (form_class, _handler) in ACTIONS.items():
        initial = dict(seen)
        if name == "assign":
            initial["assignee"] = str(request.assignee_id) if request.assignee_id else "none"
        initial.update(fee_initial(request, name))
        built[name] = form_class(initial=initial, prefix=name)
    if bound:
        built.update(bound)
    return built


def _jobs_context(request: Request) -> dict:
    jobs = request_jobs(request)
    return {
        "jobs": jobs,
        "plan": request_plan(request),
        # htmx polls the panel while work is under way.
        "jobs_polling": request.is_open and any(not job.finished for job in jobs),
    }


def _outcome(request: Request) -> dict | None:
    outcome = outcome_of(request)
    if outcome is None:
        return None
    return outcome_view(outcome, language=get_language()[:2], datamap=datamap_current(), request=request)


def _page(http_request: HttpRequest, request: Request, *, bound: dict | None = None, status: int = 200):
    deadline = request_deadline(request)
    can_handle = http_request.user.has_perm(HANDLE_REQUEST)
    jobs = _jobs_context(request)
    plan = jobs["plan"]
    allowed = {name: workflow.transition_allowed(request, name) for name in workflow.TRANSITIONS}
    datamap, language = datamap_current(), get_language()[:2]
    context = {
        "req": request,
        "deadline": deadline,
        "suspensions": list(request.suspensions.all()),
        "timeline": request_timeline(request),
        "notes": list(request.notes.select_related("author")),
        "manual_tasks": list(request.manual_tasks.all()),
        "finding_choices": ManualFinding.choices,
        **jobs,
        # GDPR Art. 17: the dry run staff approve, source by source, before anything is erased.
        "dry_run": erasure_dry_run(request),
        # GDPR Art. 16: what each correction would change, source by source, before anything is changed.
        "preview": rectification_preview(request, datamap=datamap, language=language),
        "corrections_asked": corrections_labelled(datamap, request.details.get("corrections") or [], language),
        # What the sources reported doing, as the requester's letter says it.
        "outcome": _outcome(request),
        "awaiting_approval": plan is not None and plan.stage == PlanStage.AWAITING_APPROVAL,
        "awaiting_decision": plan is not None and plan.stage == PlanStage.AWAITING_DECISION,
        **restriction_context(request, datamap=datamap, language=language),
        "bundles": request_bundles(request),
        "can_handle": can_handle,
        "allowed": allowed,
        "forms": _forms(request, bound=bound),
        "seen": _seen(request),
        "refusal_templates_for_language": {
            ground: texts.get(request.language, texts["en"]) for ground, texts in forms_staff.REFUSAL_TEMPLATES.items()
        },
        "restriction_ground_label": _choice_label(RestrictionGround, request.details.get("ground")),
        "objection_scope_label": _choice_label(ObjectionScope, request.details.get("scope")),
        "team": team_members() if can_handle else [],
        **fee_context(request),
        **answers_staff_context(request),
        # CCPA regs § 7063: the authorised agent who filed, their proof of authority and the team's decision.
        **agent_staff_context(request),
        # GDPR Art. 20(2): the company the person asked us to send their data to, and what happened.
        **transmission_staff_context(request),
    }
    return render(http_request, "dsr/staff/request.html", context, status=status)


@require_GET
@staff_view()
def request_detail(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Show the request, its deadline, its timeline and the actions its state allows."""
    request = get_object_or_404(Request.objects.select_related("assignee"), pk=pk)
    return _page(http_request, request)


@require_GET
@staff_view()
def request_jobs_panel(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Return the jobs panel alone, for htmx to refresh while the work runs."""
    request = get_object_or_404(Request, pk=pk)
    context = {
        "req": request,
        "can_handle": http_request.user.has_perm(HANDLE_REQUEST),
        "seen": _seen(request),
        **_jobs_context(request),
    }
    return render(http_request, "dsr/staff/_jobs.html", context)


# --- Actions ------------------------------------------------------------------------


def _assign(request: Request, data: dict, actor: Actor, user, files) -> str:
    value = data["assignee"]
    assignee = None if value == "none" else team_members().filter(pk=int(value)).first()
    workflow.request_assign(request=request, assignee=assignee, actor=actor)
    return _("Assigned to %(name)s.") % {"name": assignee.get_username()} if assignee else _("Unassigned.")


def _note(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_note_add(request=request, text=data["text"], actor=actor, author=user)
    return _("Note added.")


def _identity(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_identity_check(request=request, method=data["method"], actor=actor)
    return _("Identity check recorded.")


def _suspend(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_suspend(request=request, reason=data["reason"], note=data["note"], actor=actor)
    return _("The clock is stopped and the requester has been asked.")


def _resume(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_resume(request=request, actor=actor)
    return _("The clock runs again.")


def _extend(request: Request, data: dict, actor: Actor, user, files) -> str:
    request = workflow.request_extend(request=request, reasons=data["reasons"], actor=actor)
    return _("Extended to %(date)s; the requester has been told why.") % {"date": request.extended_due_date.isoformat()}


def _refuse(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_refuse(request=request, ground=data["ground"], reasons=data["reasons"], actor=actor)
    return _("Refused; the requester has the letter with their right to complain.")


def _complete(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_complete(request=request, actor=actor, reasons=data["reasons"], partial=data["partial"])
    return _("Partially completed.") if data["partial"] else _("Completed.")


def _cancel(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_cancel(request=request, actor=actor, reasons=data["reasons"])
    return _("Cancelled.")


def _approve(request: Request, data: dict, actor: Actor, user, files) -> str:
    request_plan_approve(request=request, actor=actor)
    return _("Approved; the work in the sources has started.")


def _decide(request: Request, data: dict, actor: Actor, user, files) -> str:
    upheld = data["decision"] == "upheld"
    objection_decide(request=request, upheld=upheld, reasons=data["reasons"], actor=actor)
    return _("Objection upheld; processing stops for good.") if upheld else _("Objection not upheld; refused.")


def _bundle_release(request: Request, data: dict, actor: Actor, user, files) -> str:
    bundle = Bundle.objects.filter(pk=data["bundle"], request=request).first()
    if bundle is None:
        raise workflow.TransitionError(_("That export does not belong to this request."))
    if bundle.status != BundleStatus.REVIEW:
        raise workflow.TransitionError(_("Only an export waiting for review can be released."))
    bundle_release(bundle=bundle, actor=actor)
    return _("Released; the requester has been emailed the download link.")


def _job_retry(request: Request, data: dict, actor: Actor, user, files) -> str:
    job = Job.objects.filter(pk=data["job"], request=request).first()
    if job is None:
        raise workflow.TransitionError(_("That job does not belong to this request."))
    job_retry(job=job, actor=actor)
    return _("The job runs again.")


def _manual_task(request: Request, data: dict, actor: Actor, user, files) -> str:
    task = ManualTask.objects.filter(pk=data["task"], request=request).first()
    if task is None:
        raise ManualTaskError(_("That task does not belong to this request."))
    manual_task_complete(
        task=task, finding=data["finding"], attestation=data["attestation"], file=data.get("file"), actor=actor
    )
    return _("Task marked done.")


ACTIONS: dict[str, tuple[type[forms.Form], Callable]] = {
    "assign": (forms_staff.AssignForm, _assign),
    "note": (forms_staff.NoteForm, _note),
    "identity": (forms_staff.IdentityCheckForm, _identity),
    "suspend": (forms_staff.SuspendForm, _suspend),
    "resume": (forms_staff.ResumeForm, _resume),
    "extend": (forms_staff.ExtendForm, _extend),
    "refuse": (forms_staff.RefuseForm, _refuse),
    "complete": (forms_staff.CompleteForm, _complete),
    "cancel": (forms_staff.CancelForm, _cancel),
    "manual_task": (forms_staff.ManualTaskForm, _manual_task),
    "approve": (forms_staff.ApproveForm, _approve),
    "decide": (forms_staff.ObjectionDecisionForm, _decide),
    "job_retry": (forms_staff.JobRetryForm, _job_retry),
    "notice_told": (forms_staff.NoticeToldForm, notice_told_action),
    "lift": (forms_staff.RestrictionLiftForm, restriction_lift_action),
    "release": (forms_staff.BundleReleaseForm, _bundle_release),
    **FEE_ACTIONS,
    **AGENT_ACTIONS,
}
# Actions that do not change the request row, so a colleague's change does not make them stale.
_NOT_STALE_SENSITIVE = {"note", "manual_task", "job_retry", "notice_told", "lift"}


@require_POST
@staff_view(HANDLE_REQUEST, action="request_action")
def request_action(http_request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one action on the request through its service; show the service's error if it refuses."""
    if action not in ACTIONS:
        raise Http404
    request = get_object_or_404(Request, pk=pk)
    form_class, handler = ACTIONS[action]
    form = form_class(http_request.POST, http_request.FILES, prefix=action)
    if not form.is_valid():
        messages.error(http_request, _("Check the form: some of it is missing or not valid."))
        # A file that is too large is said in the message too: the task's form is drawn afresh below.
        for error in form.errors.get("file", []):
            messages.error(http_request, error)
        return _page(http_request, request, bound={action: form}, status=400)
    if action not in _NOT_STALE_SENSITIVE and form.cleaned_data["seen"] != _seen(request):
        messages.error(
            http_request,
            _(
                "Nothing was changed: request %(reference)s changed after this page was drawn (a colleague "
                "acted, or the form was sent twice). Check its state below and try again if still needed."
            )
            % {"reference": request.reference},
        )
        return redirect("staff_request", pk=request.pk)
    try:
        success = handler(
            request, form.cleaned_data, Actor.staff(http_request.user), http_request.user, http_request.FILES
        )
    except RequestInvalid as exc:
        for field, field_errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for error in field_errors:
                form.add_error(target, error)
        messages.error(
            http_request,
            _("Nothing was changed: %(errors)s")
            % {"errors": " ".join(m for ms in exc.message_dict.values() for m in ms)},
        )
        return _page(http_request, request, bound={action: form}, status=400)
    except (workflow.TransitionError, ManualTaskError, NotificationError, RestrictionError) as exc:
        messages.error(http_request, _("Nothing was changed: %(error)s") % {"error": exc})
        return redirect("staff_request", pk=request.pk)
    queue_counts_forget()
    messages.success(http_request, success)
    return redirect("staff_request", pk=request.pk)
