"""The preference centre's pages (dsr/preferences.py): ask for the email, confirm it, see and change consents.

Rate limits per client address and per email address guard the code; the page
after "send me a code" is the same whether or not we know the address. Every
change is a POST with CSRF and needs the session's grant, which names one
email address and expires.
"""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dsr import preferences
from dsr.forms import VerifyCodeForm
from dsr.models import Language
from dsr.ratelimit import client_ip, rate_limit_wait
from dsr.views.public import page_render, too_many_render

_SESSION_NOTICE = "dsr_preferences_notice"


class PreferencesEmailForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        help_text=gettext_lazy("The address you gave us when you consented, e.g. to our newsletter."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in Language.values else Language.DA


def _notice_set(request: HttpRequest, kind: str, text: str) -> None:
    request.session[_SESSION_NOTICE] = {"kind": kind, "text": text}


def _text(value: dict | str) -> str:
    """Return a map text ({da, en}) in the page's language."""
    if isinstance(value, str):
        return value
    return value.get(_language()) or value.get("en") or value.get("da") or ""


def _names(names: list[dict]) -> str:
    return ", ".join(_text(name) for name in names)


def _consent_localise(view: preferences.ConsentView) -> dict:
    return {
        "key": view.key,
        "name": _text(view.name),
        "purposes": [{"name": _text(p["name"]), "retention": _text(p["retention"])} for p in view.purposes],
        "categories": [_text(name) for name in view.categories],
        "sources": [{"name": _text(source.name), "state": source.state} for source in view.sources],
        "state": view.state,
        "can_give": view.can_give,
        "withdrawal": view.withdrawal,
    }


@require_http_methods(["GET", "POST"])
def preferences_start(request: HttpRequest) -> HttpResponse:
    """Show the consents to a confirmed visitor; else ask for the email address and send a code."""
    grant = preferences.preferences_grant(request.session)
    if grant is not None and request.method == "GET":
        return _centre_render(request, grant)
    form = PreferencesEmailForm(request.POST or None)
    if request.method == "POST":
        if wait := rate_limit_wait(
            scope="preferences-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP
        ):
            return too_many_render(request, wait)
        if not form.is_valid():
            return page_render(request, "dsr/public/preferences_start.html", {"form": form}, status=400)
        email = form.cleaned_data["email"].strip().lower()
        if wait := rate_limit_wait(scope="preferences-email", key=email, rate=settings.DSR_INTAKE_RATE_PER_EMAIL):
            return too_many_render(request, wait)
        preferences.preferences_close(request.session)
        preferences.preferences_code_send(request.session, email=email, language=_language())
        return redirect("dsr:preferences_code")
    expired = bool(request.GET.get("expired"))
    return page_render(request, "dsr/public/preferences_start.html", {"form": form, "expired": expired})


@require_http_methods(["GET", "POST"])
def preferences_code(request: HttpRequest) -> HttpResponse:
    """Take the emailed code and open the centre."""
    if not preferences.preferences_pending(request.session) and request.method == "GET":
        return redirect("dsr:preferences")
    form = VerifyCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if wait := rate_limit_wait(
            scope="preferences-code-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP
        ):
            return too_many_render(request, wait)
        if form.is_valid():
            try:
                preferences.preferences_confirm_code(request.session, code=form.cleaned_data["code"])
            except preferences.PreferenceError as exc:
                form.add_error("code", str(exc))
            else:
                return redirect("dsr:preferences")
        status = 400
    return page_render(request, "dsr/public/preferences_code.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """Show the emailed link's page; only the button's POST opens the centre (mail scanners follow links)."""
    failed = {
        "title": _("The link does not work"),
        "message": _("This link has expired or has already been used. Ask for a new code."),
        "start_url": True,
    }
    if request.method == "GET":
        if not preferences.preferences_link_valid(token):
            return page_render(request, "dsr/public/preferences_message.html", failed, status=400)
        return page_render(request, "dsr/public/preferences_link.html")
    if wait := rate_limit_wait(
        scope="preferences-code-ip", key=client_ip(request), rate=settings.DSR_INTAKE_RATE_PER_IP
    ):
        return too_many_render(request, wait)
    try:
        preferences.preferences_confirm_link(request.session, token=token)
    except preferences.PreferenceError:
        return page_render(request, "dsr/public/preferences_message.html", failed, status=400)
    return redirect("dsr:preferences")


def _centre_render(request: HttpRequest, grant: preferences.Grant, *, status: int = 200) -> HttpResponse:
    context = {
        "grant": grant,
        "consents": [_consent_localise(view) for view in preferences.preferences_view(grant.email)],
        "notice": request.session.pop(_SESSION_NOTICE, None),
        "language": _language(),
    }
    return page_render(request, "dsr/public/preferences.html", context, status=status)


@require_POST
def preferences_change(request: HttpRequest) -> HttpResponse:
    """Withdraw or give one consent for the grant's email address, then show the centre again."""
    grant = preferences.preferences_grant(request.session)
    if grant is None:
        return redirect(f"{reverse('dsr:preferences')}?expired=1")
    consent, action = request.POST.get("consent", ""), request.POST.get("action", "")
    try:
        if action == "withdraw":
            filed = preferences.preference_withdraw(grant=grant, consent=consent, language=_language())
            _notice_set(
                request,
                "done",
                _(
                    "We are withdrawing your consent in every system that uses it (reference %(reference)s). "
                    "We email you when it is done."
                )
                % {"reference": filed.reference},
            )
        elif action == "give":
            given = preferences.preference_give(grant=grant, consent=consent)
            _notice_set(request, *_give_notice(given))
        else:
            _notice_set(request, "problem", _("Choose to withdraw or to give a consent."))
    except preferences.PreferenceError as exc:
        _notice_set(request, "problem", str(exc))
    return redirect("dsr:preferences")


def _give_notice(given: preferences.GiveResult) -> tuple[str, str]:
    parts, kind = [], "done"
    if given.recorded:
        parts.append(_("Your consent is recorded in: %(sources)s.") % {"sources": _names(given.recorded)})
    if given.failed:
        kind = "problem"
        parts.append(
            _("%(sources)s could not be reached, so your consent is not recorded there. Please try again later.")
            % {"sources": _names(given.failed)}
        )
    if not given.recorded and not given.failed:
        kind = "problem"
        parts.append(
            _(
                "Your consent is not recorded: none of our systems that record consents holds an account for "
                "this email address."
            )
        )
    return kind, " ".join(parts)


@require_POST
def preferences_leave(request: HttpRequest) -> HttpResponse:
    """End the grant: the page asks for the email again."""
    preferences.preferences_close(request.session)
    return redirect("dsr:preferences")
