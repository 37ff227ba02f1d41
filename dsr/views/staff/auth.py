"""Staff login: password, then a TOTP code (django-otp), with enrolment of the device on first login.

The password step never logs anyone in: it remembers who passed it for a few
minutes, and only a valid code from that user's device completes the login.
django-axes counts failed passwords and failed codes alike and locks out the
username from that address after AXES_FAILURE_LIMIT failures.
"""

import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from dsr.audit import Actor, audit_record
from dsr.forms_staff import LoginForm, TokenForm
from dsr.models import AuditAction
from dsr.roles import VIEW_DASHBOARD
from dsr.views.staff.access import two_factor_skippable

PENDING_KEY = "dsr_login_pending"
PENDING_SECONDS = 300


def _next_url(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return settings.LOGIN_REDIRECT_URL


def _pending_user(request: HttpRequest):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None, ""
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending.get("next", "")


def _login_complete(request: HttpRequest, user, *, device: TOTPDevice | None) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    audit_record(
        actor=Actor.staff(user),
        action=AuditAction.STAFF_LOGGED_IN,
        data={"second_factor": "totp" if device else "skipped"},
    )


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def staff_login(request: HttpRequest) -> HttpResponse:
    """Check username and password, then ask for the second factor."""
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_next_url(request, request.GET.get("next", "")))
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return render(request, "registration/locked_out.html", status=429)
        if user is None:
            form.add_error(None, _("Wrong username or password."))
        elif not user.has_perm(VIEW_DASHBOARD):
            form.add_error(None, _("This account has no role on the privacy team; ask a privacy admin."))
        elif two_factor_skippable():
            _login_complete(request, user, device=None)
            return redirect(_next_url(request, next_url))
        else:
            request.session.cycle_key()
            request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
            return redirect("login_two_factor")
    return render(request, "registration/login.html", {"form": form, "next": next_url})


def _qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    # Built from the device's own URL, nothing from the visitor: safe to inline.
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


def _key_grouped(device: TOTPDevice) -> str:
    from base64 import b32encode

    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def staff_login_two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the TOTP code; on first login, enrol the device with a QR code first."""
    user, next_url = _pending_user(request)
    if user is None:
        return redirect("login")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name="dsr", confirmed=False
        )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit_record(
                    actor=Actor.staff(user), action=AuditAction.STAFF_TWO_FACTOR_ENROLLED, data={"device": device.pk}
                )
            del request.session[PENDING_KEY]
            _login_complete(request, user, device=device)
            return redirect(_next_url(request, next_url))
        # A wrong code counts as a failed login for the lockout.
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(PENDING_KEY, None)
            return render(request, "registration/locked_out.html", status=429)
        form.add_error("token", _("That code is not valid. Use the current code from your authenticator app."))
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        context.update(qr_svg=_qr_svg(device), key=_key_grouped(device))
    return render(request, "registration/login_two_factor.html", context)


@require_http_methods(["POST"])
def staff_logout(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so a link cannot do it)."""
    if request.user.is_authenticated:
        audit_record(actor=Actor.staff(request.user), action=AuditAction.STAFF_LOGGED_OUT)
    logout(request)
    return redirect("login")
