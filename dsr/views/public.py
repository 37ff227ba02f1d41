"""The public self-service pages: pick a right, file it, confirm the email, follow the status.

Interfaces only: each view parses the form, calls one service and renders.
Abuse resistance lives here too: CSRF on every form (Django's middleware),
rate limits per client address and per email address, a honeypot field,
a signed one-time form token so a form posted twice files one request, and
the same answer whether or not we hold data about the address given.
Nothing personal goes into a URL or a log line: URLs carry only the public
reference and random tokens.
"""

import contextlib
import logging

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dsr import crypto, portal
from dsr.audit import Actor
from dsr.emails import controller_context
from dsr.forms import (
    FORMS_BY_RIGHT,
    ConsentWithdrawalForm,
    ObjectionForm,
    RectificationForm,
    StatusLinkLostForm,
    VerifyCodeForm,
    consent_choices_current,
    correction_choices_current,
    objection_choices_current,
    objection_scopes_current,
)
from dsr.jurisdictions import profile_get
from dsr.models import Language, Right
from dsr.outbox import status_letter_message
from dsr.ratelimit import client_ip, rate_limit_wait
from dsr.verification import (
    VerificationError,
    answer_no_sooner,
    verification_confirm_code,
    verification_confirm_link,
    verification_link_request,
    verification_resend,
    verification_resend_unknown,
)
from dsr.workflow import (
    ANSWER_FILE_BYTES_LIMIT,
    ANSWER_FILES_LIMIT,
    ANSWER_TEXT_LIMIT,
    RequestInvalid,
    TransitionError,
    agent_profiles_offered,
    request_by_status_token,
    request_status_link_open,
    request_status_link_reissue,
    request_status_link_send,
    request_status_token,
    request_submit,
)

logger = logging.getLogger(__name__)

_SESSION_TOKENS = "dsr_status_tokens"
_SESSION_TOKENS_KEPT = 10
_SESSION_SEAL = "session-status-token"
ANSWER_LIMITS = {
    "text": ANSWER_TEXT_LIMIT,
    "files": ANSWER_FILES_LIMIT,
    "megabytes": ANSWER_FILE_BYTES_LIMIT // (1024 * 1024),
}
_TOO_MANY = gettext_lazy("We have received many attempts from you in a short time. Please wait a while and try again.")


# --- Helpers -------------------------------------------------------------------------------


def page_render(request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    """Render a public page with the controller of the active data map (shared by the download pages)."""
    return render(request, template, {"controller": controller_context(), **(context or {})}, status=status)


def _language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in Language.values else Language.DA


def _status_token_remember(request: HttpRequest, reference: str, token: str) -> None:
    """Keep the status token in the session, sealed, so the status page needs no secret in its URL.

    Session data is signed, not encrypted (and sits in the database with the database backend):
    the token is kept encrypted so a session row or cookie read elsewhere does not open the request.
    """
    tokens = dict(request.session.get(_SESSION_TOKENS, {}))
    tokens.pop(reference, None)
    tokens[reference] = crypto.seal({"token": token}, purpose=_SESSION_SEAL)
    request.session[_SESSION_TOKENS] = dict(list(tokens.items())[-_SESSION_TOKENS_KEPT:])


def _status_token_recall(request: HttpRequest, reference: str) -> str:
    sealed = request.session.get(_SESSION_TOKENS, {}).get(reference, "")
    if not sealed:
        return ""
    try:
        return crypto.unseal(sealed, purpose=_SESSION_SEAL).get("token", "")
    except (InvalidToken, ValueError, TypeError):
        # Sealed under an older SECRET_KEY, or kept in plain text before tokens were sealed: ask again.
        return ""


def _status_token_forget(request: HttpRequest, reference: str) -> None:
    tokens = dict(request.session.get(_SESSION_TOKENS, {}))
    if tokens.pop(reference, None) is not None:
        request.session[_SESSION_TOKENS] = tokens


def request_from_session(request: HttpRequest, reference: str):
    """Return the request whose status token this browser's session holds, or None."""
    token = _status_token_recall(request, reference)
    return _request_by_token(reference, token) if token else None


def _request_by_token(reference: str, token: str):
    # A purged request has forgotten its requester: its status page, letter and answers are closed for good.
    found = request_by_status_token(reference=reference, token=token)
    return found if found is not None and found.purged_at is None else None


def _verify_rate_wait(request: HttpRequest, reference: str = "") -> int:
    # Per address, and per reference from any address, so spreading guesses over many addresses does not help.
    wait = rate_limit_wait(scope="verify-ip", key=client_ip(request), rate=settings.DSR_VERIFY_RATE_PER_IP)
    if reference:
        key = reference.strip().upper()[:32]
        wait = wait or rate_limit_wait(scope="verify-ref", key=key, rate=settings.DSR_VERIFY_RATE_PER_REFERENCE)
    return wait


def too_many_render(request: HttpRequest, retry_after: int) -> HttpResponse:
    """Render the "please wait" page of a rate limit (429), saying in Retry-After when to come back."""
    response = page_render(
        request,
        "dsr/public/message.html",
        {
            "title": _("Please wait a little"),
            "message": _TOO_MANY,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


# --- Start and filing ----------------------------------------------------------------------


def start(request: HttpRequest) -> HttpResponse:
    """Explain each right in plain words and what happens next."""
    # CCPA regs § 7063: where a law we answer under provides for authorised agents, they have a page of their own.
    return page_render(request, "dsr/public/start.html", {"rights": Right, "agent_profiles": agent_profiles_offered()})


@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest, right: str) -> HttpResponse:
    """Show the form for one right and file the request it describes."""
    form_class = FORMS_BY_RIGHT.get(right)
    if form_class is None:
        raise Http404(_("There is no such right."))
    extra = {}
    if form_class is ConsentWithdrawalForm:
        extra = {"consent_choices": consent_choices_current()}
    elif form_class is RectificationForm:
        extra = {"correction_choices": correction_choices_current()}
    elif form_class is ObjectionForm:
        extra = {"purpose_choices": objection_choices_current(), "scope_choices": objection_scopes_current()}

    if request.method == "GET":
        return _render_request_form(request, form_class(**extra))

    form = form_class(request.POST, **extra)
    if wait := rate_limit_wait(scope="intake-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP):
        return _form_refused(request, form, wait)
    if not form.is_valid():
        form.token_refresh()
        return _render_request_form(request, form, status=400)
    email = form.cleaned_data["email"]
    if wait := rate_limit_wait(scope="intake-email", key=email, rate=settings.DSR_INTAKE_RATE_PER_EMAIL):
        return _form_refused(request, form, wait)
    # A ceiling for everyone together: many addresses cannot flood the intake with unverified requests.
    if wait := rate_limit_wait(scope="intake-all", key="all", rate=settings.DSR_INTAKE_RATE_GLOBAL):
        return _form_refused(request, form, wait)
    try:
        result = request_submit(
            right=form.right,
            email=email,
            name=form.cleaned_data["name"],
            phone=form.cleaned_data["phone"],
            customer_number=form.cleaned_data["customer_number"],
            language=_language(),
            details=form.details(),
            jurisdiction=form.cleaned_data.get("jurisdiction") or "",
            channel="web",
            actor=Actor.subject(),
            idempotency_key=form.idempotency_key(),
        )
    except RequestInvalid as exc:
        form.errors_from_service(exc.message_dict)
        return _render_request_form(request, form, status=400)
    _status_token_remember(request, result.request.reference, result.status_token)
    logger.info("public request filed: right=%s created=%s", form.right, result.created)
    return redirect("dsr:verify_code", reference=result.request.reference)


def _form_refused(request: HttpRequest, form, wait: int) -> HttpResponse:
    # Over a rate limit: show the form again with what was typed, and say why nothing was sent.
    form.is_valid()
    form.add_error(None, _TOO_MANY)
    response = _render_request_form(request, form, status=429)
    response["Retry-After"] = str(wait)
    return response


def _render_request_form(request: HttpRequest, form, *, status: int = 200) -> HttpResponse:
    return page_render(
        request, "dsr/public/request_form.html", {"form": form, "right": Right(form.right)}, status=status
    )


# --- Verification --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def verify_code(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the emailed code (or send a new one) and open the status page once it matches."""
    form = VerifyCodeForm()
    notice = ""
    status = 200
    if request.method == "POST":
        if wait := _verify_rate_wait(request, reference):
            return too_many_render(request, wait)
        if request.POST.get("action") == "resend":
            notice, status = _code_resend(reference)
        else:
            form = VerifyCodeForm(request.POST)
            if form.is_valid():
                try:
                    verified = verification_confirm_code(reference=reference, code=form.cleaned_data["code"])
                except VerificationError as exc:
                    form.add_error("code", str(exc))
                else:
                    _status_token_remember(request, verified.reference, request_status_token(verified))
                    return redirect("dsr:status", reference=verified.reference)
            status = 400
    found = request_from_session(request, reference)
    return page_render(
        request,
        "dsr/public/verify_code.html",
        {
            "form": form,
            "reference": reference,
            "notice": notice,
            "has_status": bool(found),
            # CCPA, LGPD: the time limit runs while the email is unconfirmed (dsr/jurisdictions/).
            "clock_stops": profile_get(found.jurisdiction).clock_stops if found else True,
        },
        status=status,
    )


def _code_resend(reference: str) -> tuple[str, int]:
    # The same answer for a reference we do not know: references are not for guessing.
    sent = _("If this request is waiting for confirmation, we have sent a new code and link to its email address.")
    pending = portal.request_by_reference(reference)
    if pending is None:
        verification_resend_unknown(reference=reference)
        return sent, 200
    try:
        verification_resend(request=pending)
    except VerificationError as exc:
        return str(exc), 429 if exc.code == "rate_limited" else 400
    return sent, 200


@require_http_methods(["GET", "POST"])
def verify_link(request: HttpRequest, token: str) -> HttpResponse:
    """Show the emailed link's page; only the button's POST confirms (mail scanners follow links)."""
    if request.method == "POST" and (wait := _verify_rate_wait(request)):
        return too_many_render(request, wait)
    try:
        if request.method == "POST":
            verified = verification_confirm_link(token=token)
        else:
            pending = verification_link_request(token=token)
    except VerificationError as exc:
        return page_render(request, "dsr/public/verify_link_failed.html", {"error": exc}, status=400)
    if request.method == "POST":
        _status_token_remember(request, verified.reference, request_status_token(verified))
        return redirect("dsr:status", reference=verified.reference)
    return page_render(request, "dsr/public/verify_link.html", {"pending": pending})


# --- Status --------------------------------------------------------------------------------


def status_link(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """Open the emailed status link: keep its token in the session and go to the clean URL."""
    found = request_status_link_open(reference=reference, token=token)
    if found is None or found.purged_at is not None:
        return page_render(
            request, "dsr/public/status_locked.html", {"reference": reference, "link_failed": True}, status=404
        )
    _status_token_remember(request, found.reference, token)
    return redirect("dsr:status", reference=found.reference)


def status(request: HttpRequest, reference: str) -> HttpResponse:
    """Show where the request stands; htmx asks again for the body every few seconds while it is open."""
    found = request_from_session(request, reference)
    if found is None:
        return page_render(request, "dsr/public/status_locked.html", {"reference": reference}, status=403)
    return status_render(request, found)


def status_render(request: HttpRequest, found, *, answer_form=None, status: int = 200) -> HttpResponse:
    """Render the status page (or its body, for htmx), with the answer form as sent when it was refused."""
    view = portal.status_view(found)
    template = "dsr/public/_status_body.html" if getattr(request, "htmx", False) else "dsr/public/status.html"
    context = {
        "view": view,
        "poll_seconds": portal.STATUS_POLL_SECONDS,
        # The letter the closing email carried, offered again (dsr.outbox.status_letter_render).
        "letter": status_letter_message(found) is not None,
        "answer_form": answer_form,
        "answer_limits": ANSWER_LIMITS,
    }
    return page_render(request, template, context, status=status)


@require_POST
def status_new_link(request: HttpRequest, reference: str) -> HttpResponse:
    """Email a new status link; the old ones, including this page's, stop working."""
    found = request_from_session(request, reference)
    if found is None:
        return page_render(request, "dsr/public/status_locked.html", {"reference": reference}, status=403)
    if wait := rate_limit_wait(scope="status-link", key=reference, rate=settings.DSR_INTAKE_RATE_PER_EMAIL):
        return too_many_render(request, wait)
    try:
        request_status_link_reissue(request=found, actor=Actor.subject())
    except TransitionError as exc:
        return page_render(
            request, "dsr/public/message.html", {"title": _("No new link"), "message": str(exc)}, status=409
        )
    _status_token_forget(request, reference)
    return page_render(request, "dsr/public/link_sent.html", {"reference": reference})


@require_http_methods(["GET", "POST"])
def status_lost(request: HttpRequest) -> HttpResponse:
    """Send a new status link to the request's own address; answer the same whatever was typed."""
    form = StatusLinkLostForm(request.POST or None)
    if request.method == "POST":
        if wait := rate_limit_wait(
            scope="status-lost-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP
        ):
            return too_many_render(request, wait)
        if form.is_valid():
            reference, email = form.cleaned_data["reference"], form.cleaned_data["email"]
            if wait := rate_limit_wait(scope="status-lost-email", key=email, rate=settings.DSR_INTAKE_RATE_PER_EMAIL):
                return too_many_render(request, wait)
            # The same answer, no sooner for a match than for a miss; the holder's current link keeps working.
            with answer_no_sooner(settings.DSR_EDGE_ANSWER_SECONDS):
                found = portal.request_by_reference_and_email(reference, email)
                if found is not None:
                    # Expired or cancelled requests have no status page; the answer stays the same.
                    with contextlib.suppress(TransitionError):
                        request_status_link_send(request=found, actor=Actor.subject())
            return page_render(request, "dsr/public/link_sent.html", {"reference": reference})
        return page_render(request, "dsr/public/status_lost.html", {"form": form}, status=400)
    return page_render(request, "dsr/public/status_lost.html", {"form": form})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain a failed security check in the page's language instead of Django's technical page."""
    return page_render(request, "dsr/public/csrf_failure.html", {"start_url": reverse("dsr:start")}, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer an unreadable request (too large, too many fields, binary) with a plain explanation."""
    return page_render(
        request,
        "dsr/public/message.html",
        {
            "title": _("The form could not be read"),
            "message": _(
                "What was sent was too large or not a normal form. Please shorten long texts to at most "
                "5,000 characters each and send the form again."
            ),
        },
        status=400,
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Say that the page does not exist, in the visitor's language."""
    return page_render(
        request,
        "dsr/public/message.html",
        {"title": _("Page not found"), "message": _("There is no page at this address. Please check the link.")},
        status=404,
    )
