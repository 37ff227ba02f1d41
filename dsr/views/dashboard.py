"""The privacy team's pages (staff only)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dsr.models import OPEN_STATUSES, Request
from dsr.selectors import request_deadline

QUEUE_PAGE_SIZE = 50


@staff_member_required(login_url="login")
def dashboard_queue(request: HttpRequest) -> HttpResponse:
    """Show open requests, most urgent first, with days left."""
    queryset = (
        Request.objects.filter(status__in=OPEN_STATUSES).prefetch_related("suspensions").order_by("due_date", "id")
    )
    page = Paginator(queryset, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(r, request_deadline(r)) for r in page.object_list]
    return render(request, "dsr/staff/queue.html", {"page": page, "rows": rows})
