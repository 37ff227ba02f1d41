"""A request's export bundle on the staff pages: the audited preview download (release is a request action)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dsr.audit import Actor
from dsr.exports.delivery import DAMAGED, DownloadRefused
from dsr.exports.review import bundle_preview
from dsr.models import Bundle
from dsr.roles import HANDLE_REQUEST
from dsr.views.staff.access import staff_view


@require_POST
@staff_view(HANDLE_REQUEST, action="bundle_preview")
def bundle_preview_download(http_request: HttpRequest, pk: int, bundle_pk: int) -> HttpResponse:
    """Stream the bundle's ZIP to a staff member checking it before release; the download is audited."""
    bundle = get_object_or_404(Bundle.objects.select_related("request"), pk=bundle_pk, request_id=pk)
    try:
        download = bundle_preview(bundle=bundle, actor=Actor.staff(http_request.user))
    except DownloadRefused as refused:
        if refused.code == DAMAGED:
            messages.error(http_request, _("The stored bundle does not match its checksum; it was not opened."))
        else:
            messages.error(http_request, _("This bundle is no longer stored, so it cannot be previewed."))
        return redirect("staff_request", pk=pk)
    response = StreamingHttpResponse(download.chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Content-Length"] = str(download.size)
    response["Cache-Control"] = "no-store"
    return response
