"""The person's download pages: the emailed link, and the download button on the status page.

Interfaces only. The token is in the emailed URL, so these pages are kept out of
search engines, referrers and caches. GET only shows a page (mail scanners follow
links); the button's POST counts and streams the download. A wrong or tampered
token gets the same 404 as any address that does not exist: nothing says whether
a request or a copy is behind it. A new link goes only to the request's own
address and is rate-limited per request and per client address.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dsr.audit import Actor
from dsr.exports.delivery import (
    DAMAGED,
    EXPIRED,
    PURGED,
    REPLACED,
    UNKNOWN,
    USED_UP,
    DownloadRefused,
    bundle_download,
    download_link_reissue,
    link_by_token,
    link_current,
    link_problem,
)
from dsr.models import DownloadLink, Request
from dsr.ratelimit import client_ip, rate_limit_wait
from dsr.views.public import page_render, request_from_session, too_many_render
from dsr.workflow import TransitionError

# Problems a new link solves; a purged copy is gone and a damaged one needs the privacy team.
_REISSUABLE = (EXPIRED, USED_UP, REPLACED)
_PROBLEM_STATUS = {EXPIRED: 410, USED_UP: 410, REPLACED: 410, PURGED: 410, DAMAGED: 500}


def _private(response: HttpResponse) -> HttpResponse:
    """Keep a page whose URL holds a secret out of indexes, referrers and caches."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    # The same words as any other missing page: a guessed or altered token learns nothing.
    return _private(
        page_render(
            request,
            "dsr/public/message.html",
            {"title": _("Page not found"), "message": _("There is no page at this address. Please check the link.")},
            status=404,
        )
    )


def _problem_page(request: HttpRequest, problem: str, *, new_link_url: str) -> HttpResponse:
    if problem == UNKNOWN:
        return _not_found(request)
    context = {
        "problem": problem,
        "new_link_url": new_link_url if problem in _REISSUABLE else "",
        "start_url": reverse("dsr:start"),
    }
    return _private(page_render(request, "dsr/public/download_problem.html", context, status=_PROBLEM_STATUS[problem]))


def _stream(link: DownloadLink, request: HttpRequest, *, new_link_url: str) -> HttpResponse:
    """Count the download and stream the ZIP, or explain why it cannot be had."""
    try:
        download = bundle_download(link=link, actor=Actor.subject())
    except DownloadRefused as refused:
        return _problem_page(request, refused.code, new_link_url=new_link_url)
    response = StreamingHttpResponse(download.chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Content-Length"] = str(download.size)
    return _private(response)


def _reissue(request: HttpRequest, found: Request) -> HttpResponse:
    """Email a new link to the request's own address, within the rate limits."""
    if wait := rate_limit_wait(scope="download-link-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP):
        return _private(too_many_render(request, wait))
    if wait := rate_limit_wait(scope="download-link", key=str(found.pk), rate=settings.DSR_DOWNLOAD_REISSUE_RATE):
        return _private(too_many_render(request, wait))
    try:
        download_link_reissue(request=found, actor=Actor.subject())
    except TransitionError as exc:
        return _private(
            page_render(
                request, "dsr/public/message.html", {"title": _("No new link"), "message": str(exc)}, status=409
            )
        )
    return _private(page_render(request, "dsr/public/download_link_sent.html"))


# --- The emailed link ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def download(request: HttpRequest, token: str) -> HttpResponse:
    """Show the emailed link's page; only the button's POST downloads (mail scanners follow links)."""
    link = link_by_token(token)
    if link is None:
        return _not_found(request)
    new_link_url = reverse("dsr:download_new_link", kwargs={"token": token})
    if request.method == "POST":
        return _stream(link, request, new_link_url=new_link_url)
    problem = link_problem(link)
    if problem:
        return _problem_page(request, problem, new_link_url=new_link_url)
    return _private(page_render(request, "dsr/public/download.html", {"link": link, "bundle": link.bundle}))


@require_POST
def download_new_link(request: HttpRequest, token: str) -> HttpResponse:
    """Email a new link for an expired, used-up or replaced one, to the address the request came from."""
    link = link_by_token(token)
    if link is None:
        return _not_found(request)
    problem = link_problem(link)
    if problem is None:
        return redirect("dsr:download", token=token)
    if problem not in _REISSUABLE:
        return _problem_page(request, problem, new_link_url="")
    return _reissue(request, link.bundle.request)


# --- The status page's button ------------------------------------------------------------


def _locked(request: HttpRequest, reference: str) -> HttpResponse:
    return page_render(request, "dsr/public/status_locked.html", {"reference": reference}, status=403)


@require_POST
def status_download(request: HttpRequest, reference: str) -> HttpResponse:
    """Download the request's copy through its current link; the status page's session is the key."""
    found = request_from_session(request, reference)
    if found is None:
        return _locked(request, reference)
    link = link_current(found)
    if link is None:
        return page_render(
            request,
            "dsr/public/message.html",
            {"title": _("Your data"), "message": _("Your copy is not ready yet. We will email you when it is.")},
            status=404,
        )
    new_link_url = reverse("dsr:status_download_new_link", kwargs={"reference": found.reference})
    return _stream(link, request, new_link_url=new_link_url)


@require_POST
def status_download_new_link(request: HttpRequest, reference: str) -> HttpResponse:
    """Email a new download link from the status page, to the address the request came from."""
    found = request_from_session(request, reference)
    if found is None:
        return _locked(request, reference)
    return _reissue(request, found)
