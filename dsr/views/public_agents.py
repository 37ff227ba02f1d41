"""The portal's pages for authorised agents (Cal. Civ. Code § 1798.130(a)(3); CCPA regs § 7063).

An agent files for a consumer on /agent/; the agent's emailed link and the consumer's emailed link each open a
page whose button (a POST) confirms, because mail scanners follow links. Interfaces only: each view parses,
calls one service from dsr.workflow.agents and renders.
"""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dsr.audit import Actor
from dsr.forms_agents import AgentForm
from dsr.jurisdictions import profile_get
from dsr.ratelimit import client_ip, rate_limit_wait
from dsr.views.public import _TOO_MANY, _language, _status_token_remember, page_render, too_many_render
from dsr.workflow import (
    AGENT_DOCUMENT_BYTES_LIMIT,
    AgentLinkError,
    RequestInvalid,
    TransitionError,
    agent_confirm,
    agent_consumer_confirm,
    agent_consumer_deny,
    agent_details,
    agent_filing_submit,
    agent_link_filing,
    agent_profiles_offered,
    request_status_token,
)

logger = logging.getLogger(__name__)


def _profile_or_404():
    profiles = agent_profiles_offered()
    if not profiles:
        raise Http404(_("No law we answer under lets an authorised agent file here."))
    return profiles[0]


def _form_render(request: HttpRequest, form: AgentForm, profile, *, status: int = 200) -> HttpResponse:
    return page_render(
        request,
        "dsr/public/agent_form.html",
        {"form": form, "profile": profile, "megabytes": AGENT_DOCUMENT_BYTES_LIMIT // (1024 * 1024)},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def agent_form(request: HttpRequest) -> HttpResponse:
    """Show the agent's form and file the consumer's request it describes."""
    profile = _profile_or_404()
    if request.method == "GET":
        return _form_render(request, AgentForm(), profile)
    form = AgentForm(request.POST, request.FILES)
    if wait := rate_limit_wait(scope="intake-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP):
        form.is_valid()
        form.add_error(None, _TOO_MANY)
        response = _form_render(request, form, profile, status=429)
        response["Retry-After"] = str(wait)
        return response
    if not form.is_valid():
        form.token_refresh()
        return _form_render(request, form, profile, status=400)
    data = form.cleaned_data
    try:
        agent_filing_submit(
            agent_name=data["agent_name"],
            agent_email=data["agent_email"],
            business=data["business"],
            entity_name=data["entity_name"],
            entity_number=data["entity_number"],
            consumer_name=data["consumer_name"],
            consumer_email=data["consumer_email"],
            consumer_language=data["consumer_language"],
            agent_language=_language(),
            kind=data["kind"],
            corrections=form.corrections(),
            document=data["document"],
            power_of_attorney=data["power_of_attorney"],
            jurisdiction=profile.code,
            idempotency_key=form.idempotency_key(),
            actor=Actor.subject(),
        )
    except RequestInvalid as exc:
        form.errors_from_service(exc.message_dict)
        return _form_render(request, form, profile, status=400)
    logger.info("agent filing received: kind=%s", data["kind"])
    return page_render(
        request,
        "dsr/public/message.html",
        {
            "title": _("Confirm your email address"),
            "message": _(
                "Thank you. We have sent a link to your email address. Open it and press the button to confirm the "
                "address; only then do we look at the request and write to the consumer."
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def agent_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show the agent's link page; only the button's POST confirms the agent's address."""
    return _link_page(request, token, consumer=False)


@require_http_methods(["GET", "POST"])
def agent_consumer_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show the consumer's link page; only the button's POST confirms that they gave the agent permission."""
    return _link_page(request, token, consumer=True)


def _link_page(request: HttpRequest, token: str, *, consumer: bool) -> HttpResponse:
    if request.method == "POST" and (
        wait := rate_limit_wait(scope="verify-ip", key=client_ip(request), rate=settings.DSR_VERIFY_RATE_PER_IP)
    ):
        return too_many_render(request, wait)
    try:
        denied = consumer and request.method == "POST" and request.POST.get("action") == "deny"
        if denied:
            filing = agent_consumer_deny(token=token, actor=Actor.subject())
        elif request.method == "POST":
            confirm = agent_consumer_confirm if consumer else agent_confirm
            filing = confirm(token=token, actor=Actor.subject())
        else:
            filing = agent_link_filing(token=token, consumer=consumer)
    except (AgentLinkError, TransitionError) as exc:
        return page_render(request, "dsr/public/agent_link_failed.html", {"error": exc}, status=400)
    found = filing.request
    context = {
        "filing": filing,
        "agent": agent_details(filing),
        "consumer": consumer,
        "request_": found,
        # The law's own name for the right (CCPA "Right to delete"), as the emails say it.
        "right_label": profile_get(found.jurisdiction).right_name(found.right, found.details)
        or found.get_right_display(),
    }
    if request.method == "GET":
        return page_render(request, "dsr/public/agent_confirm.html", context)
    if denied:
        return page_render(request, "dsr/public/agent_confirmed.html", {**context, "denied": True})
    if consumer:
        # The consumer confirmed their own address: their status page is theirs to follow.
        _status_token_remember(request, filing.request.reference, request_status_token(filing.request))
    return page_render(request, "dsr/public/agent_confirmed.html", context)
