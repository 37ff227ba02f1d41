"""Who may call the integration API: API keys with scopes, or staff sessions with their role.

Integrations send `Authorization: Bearer dsr_<prefix>_<secret>`; each endpoint
needs one scope. Staff signed in to the dashboard (both factors) use their
session, with CSRF on unsafe methods, and get what their role allows: a scope
maps to a role permission below.
"""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from dsr.apikeys import apikey_actor, apikey_authenticate
from dsr.audit import Actor
from dsr.models import ApiKey, ApiScope
from dsr.roles import HANDLE_REQUEST, VIEW_DASHBOARD
from dsr.views.staff.access import staff_verified
from dsr.workflow import staff_action_deny

# The role permission a staff session needs for each scope (dsr/roles.py).
STAFF_PERMISSION = {
    ApiScope.REQUESTS_READ: VIEW_DASHBOARD,
    ApiScope.REGISTERS_READ: VIEW_DASHBOARD,
    ApiScope.REQUESTS_ACT: HANDLE_REQUEST,
    ApiScope.REQUESTS_CREATE: HANDLE_REQUEST,
}


class Integration:
    """The caller behind an API key, in the place DRF keeps request.user; never a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.pk = None

    def has_perm(self, perm: str, obj=None) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate `Authorization: Bearer <token>`; an unknown or revoked key is a 401."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the API key as: Authorization: Bearer dsr_<prefix>_<secret>."), code="invalid_key"
            )
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            token = ""
        key = apikey_authenticate(token)
        if key is None:
            raise exceptions.AuthenticationFailed(_("The API key is unknown or revoked."), code="invalid_key")
        return Integration(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="dsr"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "dsr.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dsr_<prefix>_<secret>",
            "description": "An API key created by a privacy admin; each endpoint needs one scope.",
        }


AUTHENTICATION = [ApiKeyAuthentication, SessionAuthentication]


def api_actor(request) -> Actor:
    """Return the audit actor of an authenticated API call: the integration's key, or the staff member."""
    if isinstance(request.auth, ApiKey):
        return apikey_actor(request.auth)
    return Actor.staff(request.user)


def scope_check(request, scope: str, *, action: str = "") -> None:
    """Raise 401/403 unless the key holds `scope` or the verified staff member's role allows it."""
    if isinstance(request.auth, ApiKey):
        if scope not in request.auth.scopes:
            raise exceptions.PermissionDenied(
                _("This API key lacks the scope %(scope)s.") % {"scope": scope}, code="scope_missing"
            )
        return
    user = request.user
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated(
            _("Send an API key (Authorization: Bearer …) or sign in as staff."), code="not_authenticated"
        )
    if not staff_verified(request._request):
        raise exceptions.PermissionDenied(_("Sign in with your second factor first."), code="two_factor_required")
    if not user.has_perm(STAFF_PERMISSION[scope]):
        if request.method not in SAFE_METHODS:
            staff_action_deny(user=user, action=action or f"api:{scope}")
        raise exceptions.PermissionDenied(_("Your role does not allow this."), code="role")


class ScopeRequired(BasePermission):
    """Require the view's `required_scope` (a key's scope, or the staff role that matches it)."""

    def has_permission(self, request, view) -> bool:
        scope_check(request, view.required_scope, action=getattr(view, "audit_action", ""))
        return True
