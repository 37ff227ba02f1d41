"""The receiving controller's download page (GDPR Art. 20(2)): the link emailed or POSTed to it.

Interfaces only. As with the person's own link: GET shows a page with a button
(mail scanners and link previews follow links), the button's POST counts,
audits and streams the ZIP, and a wrong token gets the same 404 as any missing
page. The receiver's downloads are counted apart from the person's.
"""

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dsr.exports.transmission import (
    DAMAGED,
    UNKNOWN,
    TransmissionRefused,
    transmission_by_token,
    transmission_download,
    transmission_link_problem,
)
from dsr.views.downloads import _not_found, _private
from dsr.views.public import page_render


def _problem(request: HttpRequest, problem: str) -> HttpResponse:
    if problem == UNKNOWN:
        return _not_found(request)
    if problem == DAMAGED:
        message, status = _("The file could not be checked, so it was not sent. Please contact the sender."), 500
    else:
        message, status = (
            _(
                "This link no longer works: it has expired, been used up, or the data has been deleted. "
                "Please contact the sender if you still need it."
            ),
            410,
        )
    return _private(
        page_render(
            request, "dsr/public/message.html", {"title": _("Link no longer works"), "message": message}, status=status
        )
    )


@require_http_methods(["GET", "POST"])
def transmission_download_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show the receiver's download page; only the button's POST downloads."""
    transmission = transmission_by_token(token)
    if transmission is None:
        return _not_found(request)
    if request.method == "POST":
        try:
            download = transmission_download(transmission=transmission)
        except TransmissionRefused as refused:
            return _problem(request, refused.code)
        response = StreamingHttpResponse(download.chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
        response["Content-Length"] = str(download.size)
        return _private(response)
    problem = transmission_link_problem(transmission)
    if problem:
        return _problem(request, problem)
    context = {"transmission": transmission, "bundle": transmission.bundle}
    return _private(page_render(request, "dsr/public/transmission_download.html", context))
