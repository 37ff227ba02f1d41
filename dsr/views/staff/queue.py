"""The queue: open requests by deadline, filters with counts, keyset pagination, bulk assignment.

Fast at a million requests: open requests are read through the partial index
`dsr_request_open_deadline_idx` (effective deadline, id), pages are keyset
(no OFFSET), and totals are capped. See bench/queue_page.py and bench/README.md.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from dsr import deadlines, workflow
from dsr.audit import Actor
from dsr.forms_staff import BulkApproveForm, BulkAssignForm, QueueFilterForm
from dsr.jurisdictions import PROFILES, profile_get
from dsr.models import CLOSED_STATUSES, OPEN_STATUSES, Request, Right, Status
from dsr.requests import RequestInvalid, reference_normalise
from dsr.rights.base import request_plan_approve
from dsr.roles import HANDLE_REQUEST, team_members
from dsr.views.staff.access import staff_view

PAGE_SIZE = 50
# The counts per filter are shared by the team for this long (a colleague's change shows within it).
COUNTS_SECONDS = 10
COUNTS_CACHE_KEY = "dsr:queue-counts"
_RIGHT_LABELS = dict(Right.choices)
_STATUS_LABELS = dict(Status.choices)
BULK_LIMIT = 500
# Totals above this show as "1000+": counting every closed request on each page view is not worth it
# (the open total is exact in the counts beside the filters).
COUNT_CAP = 1000
CLOCK_STOPPED = (Status.PENDING_VERIFICATION, Status.AWAITING_SUBJECT)
# The working queue: open and confirmed. Requests still waiting for the email confirmation have a tab of their own.
WORKING = tuple(status for status in OPEN_STATUSES if status != Status.PENDING_VERIFICATION)
# Open with the clock running: these can be overdue (a stopped clock cannot; PRODUCT.md, Deadlines).
CLOCK_RUNNING = tuple(status for status in OPEN_STATUSES if status not in CLOCK_STOPPED)
# Waiting for the team: a plan to approve, an objection to decide, or a job that failed for good.
NEEDS_STAFF = (Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION)
# The laws under which waiting for the requester stops the clock; under the others (CCPA § 7021(b), LGPD) it runs.
STOPPING = tuple(code for code, profile in PROFILES.items() if profile.clock_stops)


def clock_stopped_q() -> Q:
    """Return the condition of the open requests whose clock is stopped: waiting for the requester, where it stops."""
    return Q(status__in=CLOCK_STOPPED, jurisdiction__in=STOPPING)


def clock_running_q() -> Q:
    """Return the condition of the open requests whose clock runs, so that they can be overdue."""
    return Q(status__in=CLOCK_RUNNING) | (Q(status__in=CLOCK_STOPPED) & ~Q(jurisdiction__in=STOPPING))


@dataclass(frozen=True)
class QueueRow:
    """What the queue shows of one request, worked out once in Python rather than in the template."""

    request: Request
    url: str
    right_label: str
    status_label: str
    received: str
    due: str
    extended: bool
    days_left: int
    assignee_name: str
    requester: str
    # One of: stopped, closed, overdue, red (< 5 days), amber (< 10 days), green.
    urgency: str
    # The day to confirm receipt by, while the law asks for it and no confirmation went out (CCPA regs § 7021(a)).
    receipt_by: str = ""
    receipt_overdue: bool = False

    @property
    def days_overdue(self) -> int:
        return -self.days_left


def queue_row(request: Request, *, today: date) -> QueueRow:
    """Return the queue's view of `request` from its stored deadline fields.

    The stored due dates already count every closed suspension (dsr.workflow); while
    the clock is stopped the queue says so instead of counting days.
    """
    due = request.extended_due_date or request.due_date
    days_left = (due - today).days
    # Under a law whose clock never stops (CCPA § 7021(b), LGPD), waiting for a confirmation stops nothing.
    if request.status in CLOCK_STOPPED and profile_get(request.jurisdiction).clock_stops:
        urgency = "stopped"
    elif request.status not in OPEN_STATUSES:
        urgency = "closed"
    elif days_left < 0:
        urgency = "overdue"
    elif days_left < 5:
        urgency = "red"
    elif days_left < 10:
        urgency = "amber"
    else:
        urgency = "green"
    receipt_by = None
    if request.status in OPEN_STATUSES and request.receipt_confirmed_at is None:
        received = deadlines.local_date(request.received_at, settings.TIME_ZONE)
        receipt_by = profile_get(request.jurisdiction).acknowledge_by(received, right=request.right)
    return QueueRow(
        request=request,
        url=reverse("staff_request", args=[request.pk]),
        right_label=_RIGHT_LABELS[request.right],
        status_label=_STATUS_LABELS[request.status],
        received=date_format(deadlines.local_date(request.received_at, settings.TIME_ZONE), "SHORT_DATE_FORMAT"),
        due=date_format(due, "SHORT_DATE_FORMAT"),
        extended=request.extended_due_date is not None,
        days_left=days_left,
        assignee_name=request.assignee.get_username() if request.assignee_id else "—",
        requester=request.name or request.email or request.customer_number or "—",
        urgency=urgency,
        receipt_by=date_format(receipt_by, "SHORT_DATE_FORMAT") if receipt_by else "",
        receipt_overdue=bool(receipt_by and today > receipt_by),
    )


@dataclass(frozen=True)
class QueuePage:
    rows: list
    total: int | None  # None for closed lists, which are browsed newest first and not counted
    total_capped: bool
    next_cursor: str
    deadline_order: bool
    # A reference or email searched for in every status (no status was chosen).
    everywhere: bool = False


def _today() -> date:
    return deadlines.local_date(timezone.now(), settings.TIME_ZONE)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _search_everywhere(data: dict) -> bool:
    """A reference or email looked up without choosing a status is found in any status, closed ones too."""
    return bool((data.get("q") or "").strip()) and (data.get("status") or QueueFilterForm.STATUS_OPEN) == (
        QueueFilterForm.STATUS_OPEN
    )


def queue_filter(data: dict, *, user, today: date) -> QuerySet:
    """Return the requests matching the queue's cleaned filters (without ordering)."""
    status = data.get("status") or QueueFilterForm.STATUS_OPEN
    if _search_everywhere(data):
        queryset = Request.objects.all()
    elif status == QueueFilterForm.STATUS_OPEN:
        queryset = Request.objects.filter(status__in=WORKING)
    else:
        queryset = Request.objects.filter(status=status)
    queryset = queryset.annotate(effective_due=Coalesce("extended_due_date", "due_date"))
    if data.get("right"):
        queryset = queryset.filter(right=data["right"])
    assignee = data.get("assignee")
    if assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        queryset = queryset.filter(assignee_id=int(assignee))
    if data.get("overdue"):
        queryset = queryset.filter(clock_running_q(), effective_due__lt=today)
    if data.get("attention"):
        queryset = queryset.filter(status__in=NEEDS_STAFF)
    if data.get("stopped"):
        queryset = queryset.filter(clock_stopped_q())
    if data.get("received_from"):
        queryset = queryset.filter(received_at__gte=_local_midnight(data["received_from"]))
    if data.get("received_to"):
        queryset = queryset.filter(received_at__lt=_local_midnight(data["received_to"] + timedelta(days=1)))
    query = (data.get("q") or "").strip()
    if query:
        # Exact matches only, so that both lookups use an index.
        reference = reference_normalise(query)
        queryset = queryset.filter(Q(reference=reference) | Q(email=query) | Q(email=query.lower()))
    return queryset


def queue_page(data: dict, *, user, today: date | None = None) -> QueuePage:
    """Return one page of the queue after the cursor in `data`, with a capped total."""
    today = today or _today()
    queryset = queue_filter(data, user=user, today=today)
    status = data.get("status") or QueueFilterForm.STATUS_OPEN
    deadline_order = status in (QueueFilterForm.STATUS_OPEN, *OPEN_STATUSES)
    after = data.get("after") or ""
    if deadline_order:
        # Most urgent first: the effective deadline (extended or not), then the order of arrival.
        ordered = queryset.order_by("effective_due", "id")
        if "_" in after:
            due, pk = after.split("_")
            ordered = ordered.filter(Q(effective_due__gt=due) | Q(effective_due=due, id__gt=int(pk)))
    else:
        # Closed requests: the newest first.
        ordered = queryset.order_by("-id")
        if after.isdigit():
            ordered = ordered.filter(id__lt=int(after))
    rows = list(ordered.select_related("assignee")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = ""
    if more:
        last = rows[-1]
        next_cursor = f"{last.effective_due.isoformat()}_{last.pk}" if deadline_order else str(last.pk)
    # Closed requests are nearly the whole table: counting a filter no index covers costs more than it tells.
    total = queryset.order_by()[: COUNT_CAP + 1].count() if deadline_order else None
    return QueuePage(
        rows=[queue_row(request, today=today) for request in rows],
        total=min(total, COUNT_CAP) if total is not None else None,
        total_capped=total is not None and total > COUNT_CAP,
        next_cursor=next_cursor,
        deadline_order=deadline_order,
        everywhere=_search_everywhere(data),
    )


def _count_groups(today: date) -> list[dict]:
    return list(
        Request.objects.filter(status__in=OPEN_STATUSES)
        .alias(due=Coalesce(F("extended_due_date"), F("due_date")))
        .annotate(
            overdue=ExpressionWrapper(clock_running_q() & Q(due__lt=today), output_field=BooleanField()),
            stopped=ExpressionWrapper(clock_stopped_q(), output_field=BooleanField()),
        )
        .values("status", "right", "overdue", "stopped", "assignee")
        .annotate(n=Count("status"))
        .order_by()
    )


def queue_counts(*, user, today: date | None = None, cached: bool = True) -> dict[str, int]:
    """Return how many open requests each filter would show.

    One grouped pass over the open requests that reads only columns of the partial index
    `dsr_request_open_counts_idx`, so PostgreSQL answers it from the index alone. The
    groups are shared by the whole team for COUNTS_SECONDS; an action taken from the
    dashboard forgets them at once (queue_counts_forget).
    """
    today = today or _today()
    key = f"{COUNTS_CACHE_KEY}:{today.isoformat()}"
    groups = cache.get(key) if cached else None
    if groups is None:
        groups = _count_groups(today)
        cache.set(key, groups, COUNTS_SECONDS)
    counts = dict.fromkeys(["open", "unconfirmed", "overdue", "attention", "stopped", "unassigned", "mine"], 0)
    counts.update({f"right_{right}": 0 for right in Right.values})
    counts.update({f"status_{status}": 0 for status in OPEN_STATUSES})
    for group in groups:
        n = group["n"]
        counts[f"status_{group['status']}"] += n
        if group["status"] not in WORKING:
            # Not yet confirmed: counted in its own tab, not in the working queue's filters.
            counts["unconfirmed"] += n
            continue
        counts["open"] += n
        counts[f"right_{group['right']}"] += n
        counts["overdue"] += n if group["overdue"] else 0
        counts["attention"] += n if group["status"] in NEEDS_STAFF else 0
        counts["stopped"] += n if group.get("stopped") else 0  # counts cached before the law was counted lack it
        counts["unassigned"] += n if group["assignee"] is None else 0
        counts["mine"] += n if group["assignee"] == user.pk else 0
    return counts


def queue_counts_forget() -> None:
    """Drop the shared counts, so the next queue page counts afresh (after an action changed them)."""
    cache.delete(f"{COUNTS_CACHE_KEY}:{_today().isoformat()}")


def _querystring(data: dict, **changes) -> str:
    params = {key: value for key, value in data.items() if value not in (None, "", False) and key != "after"}
    params.update({key: value for key, value in changes.items() if value})
    return urlencode({key: value.isoformat() if isinstance(value, date) else value for key, value in params.items()})


@staff_view()
def dashboard_queue(request: HttpRequest) -> HttpResponse:
    """Show requests most urgent first, with days left in colour, filters and their counts."""
    can_handle = request.user.has_perm(HANDLE_REQUEST)
    team = list(team_members())
    form = QueueFilterForm(request.GET or None, team=team)
    data = form.cleaned_data if form.is_valid() else {}
    page = queue_page(data, user=request.user)
    counts = queue_counts(user=request.user)
    return render(
        request,
        "dsr/staff/queue.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "filters": data,
            "right_counts": [(value, label, counts[f"right_{value}"]) for value, label in Right.choices],
            "status_counts": [(value, Status(value).label, counts[f"status_{value}"]) for value in WORKING],
            "closed_statuses": [(value, Status(value).label) for value in CLOSED_STATUSES],
            "next_query": _querystring(data, after=page.next_cursor) if page.next_cursor else "",
            "base_query": _querystring(data),
            "team": team if can_handle else [],
            "can_handle": can_handle,
        },
    )


def _back(request: HttpRequest) -> str:
    back = request.POST.get("back", "")
    return reverse("dashboard") + (f"?{back}" if back and "//" not in back and "\\" not in back else "")


@require_POST
@staff_view(HANDLE_REQUEST, action="requests_assign_bulk")
def dashboard_assign_bulk(request: HttpRequest) -> HttpResponse:
    """Assign the ticked requests to one team member (or to no one)."""
    target = _back(request)
    form = BulkAssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick at least one request and choose whom to assign them to."))
        return redirect(target)
    assignee_value = form.cleaned_data["assignee"]
    assignee = None if assignee_value == "none" else team_members().filter(pk=int(assignee_value)).first()
    try:
        count = workflow.requests_assign_bulk(
            request_ids=form.cleaned_data["ids"], assignee=assignee, actor=Actor.staff(request.user)
        )
    except RequestInvalid as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect(target)
    queue_counts_forget()
    skipped = len(set(form.cleaned_data["ids"])) - count
    messages.success(request, ngettext("%(n)d request assigned.", "%(n)d requests assigned.", count) % {"n": count})
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(n)d request was not assigned: it is closed or gone.",
                "%(n)d requests were not assigned: they are closed or gone.",
                skipped,
            )
            % {"n": skipped},
        )
    return redirect(target)


@require_POST
@staff_view(HANDLE_REQUEST, action="requests_approve_bulk")
def dashboard_approve_bulk(request: HttpRequest) -> HttpResponse:
    """Approve the plans of the ticked requests, each through its own service call and audit event."""
    target = _back(request)
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick at least one request whose plan waits for approval."))
        return redirect(target)
    actor = Actor.staff(request.user)
    approved, refused = 0, []
    for pk in sorted(set(form.cleaned_data["ids"]))[:BULK_LIMIT]:
        target_request = Request.objects.filter(pk=pk).first()
        if target_request is None:
            continue
        try:
            request_plan_approve(request=target_request, actor=actor)
        except workflow.TransitionError:
            refused.append(target_request.reference)
        else:
            approved += 1
    queue_counts_forget()
    if approved:
        messages.success(request, ngettext("%(n)d plan approved.", "%(n)d plans approved.", approved) % {"n": approved})
    if refused:
        messages.warning(
            request,
            _("Not approved, no plan waits for approval: %(refs)s") % {"refs": ", ".join(refused)},
        )
    return redirect(target)
