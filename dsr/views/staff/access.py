"""Who may see and do what on the staff pages: login, second factor and role, checked on every view."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from dsr.models import Request
from dsr.roles import VIEW_DASHBOARD
from dsr.workflow import staff_action_deny


def two_factor_skippable() -> bool:
    """Return whether staff may skip the second factor: only in a local demo with DEBUG on."""
    return bool(settings.DEBUG and settings.DSR_DEMO_SKIP_2FA)


def staff_verified(request: HttpRequest) -> bool:
    """Return whether the user logged in with both factors (or the local demo lets them skip the second)."""
    user = request.user
    if not user.is_authenticated:
        return False
    if user.is_verified():
        return True
    return two_factor_skippable()


def staff_forbidden(
    request: HttpRequest, *, action: str, target: Request | None = None, message: str = ""
) -> HttpResponse:
    """Answer 403 with an explanation; an attempted change is recorded as a denied audit event."""
    if request.method == "POST":
        staff_action_deny(user=request.user, action=action, request=target)
    return render(
        request,
        "dsr/staff/forbidden.html",
        {"message": message or _("Your role does not allow this.")},
        status=403,
    )


def staff_view(permission: str = VIEW_DASHBOARD, *, action: str = "") -> Callable:
    """Require a logged-in, two-factor verified team member holding `permission`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not staff_verified(request):
                return redirect_to_login(request.get_full_path())
            request.dsr_two_factor_skipped = not request.user.is_verified()
            if not request.user.has_perm(permission):
                target = Request.objects.filter(pk=kwargs["pk"]).first() if "pk" in kwargs else None
                return staff_forbidden(request, action=action or view.__name__, target=target)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
