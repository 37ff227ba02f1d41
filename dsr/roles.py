"""The privacy team's roles: Django groups of permissions, created and updated by `dsr_roles_sync`.

- Privacy admin: everything, including configuration in Django admin (data map,
  sources, legal holds, message templates, users and roles).
- Privacy agent: sees and handles requests, completes manual tasks.
- Auditor: sees everything, changes nothing, exports the audit trail.
"""

from django.contrib.auth.models import Group, Permission
from django.core.checks import Tags, Warning, register
from django.db import DatabaseError, transaction
from django.db.models import Q, QuerySet

PRIVACY_ADMIN = "Privacy admin"
PRIVACY_AGENT = "Privacy agent"
AUDITOR = "Auditor"
ROLES = (PRIVACY_ADMIN, PRIVACY_AGENT, AUDITOR)

# Permission codenames are "app_label.codename".
VIEW_DASHBOARD = "dsr.view_dashboard"
HANDLE_REQUEST = "dsr.handle_request"
EXPORT_AUDIT = "dsr.export_audit"

_READ = [
    VIEW_DASHBOARD,
    "dsr.view_request",
    "dsr.view_message",
    "dsr.view_auditevent",
    "dsr.view_requestnote",
    "dsr.view_manualtask",
    # Fees asked and how they ended (GDPR Art. 12(5)(a), 15(3)): read by every role, set only by handlers.
    "dsr.view_fee",
]

ROLE_PERMISSIONS: dict[str, list[str] | None] = {
    # None: every permission of the apps in ADMIN_APPS.
    PRIVACY_ADMIN: None,
    PRIVACY_AGENT: [*_READ, HANDLE_REQUEST, "dsr.change_manualtask"],
    AUDITOR: [*_READ, EXPORT_AUDIT],
}
ADMIN_APPS = ("dsr", "auth", "axes", "otp_totp")


def _permissions(names: list[str] | None) -> list[Permission]:
    if names is None:
        return list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"permissions missing (run migrate first): {', '.join(sorted(missing))}")
    return found


def roles_sync() -> dict[str, int]:
    """Create or update the role groups so each has exactly its permissions; return permissions per role."""
    counts = {}
    with transaction.atomic():
        for role in ROLES:
            group, _ = Group.objects.get_or_create(name=role)
            permissions = _permissions(ROLE_PERMISSIONS[role])
            group.permissions.set(permissions)
            counts[role] = len(permissions)
    return counts


def roles_missing() -> list[str]:
    """Return the roles whose group does not exist yet."""
    existing = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
    return [role for role in ROLES if role not in existing]


def user_role_set(*, user, role: str) -> None:
    """Give `user` exactly one role (replacing any other role group) and staff status for the admin login."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    with transaction.atomic():
        group = Group.objects.get(name=role)
        user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(pk=group.pk))
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def user_role(user) -> str:
    """Return the name of the user's role for display ("" if none)."""
    if user.is_superuser:
        return PRIVACY_ADMIN
    names = {g.name for g in user.groups.all()}
    return next((role for role in ROLES if role in names), "")


@register(Tags.database)
def check_roles(app_configs, databases=None, **kwargs) -> list[Warning]:
    """dsr.W301: the role groups must exist, or no one but a superuser can use the dashboard."""
    if not databases:
        return []
    try:
        with transaction.atomic():  # a savepoint, so a failed look leaves no broken transaction behind
            missing = roles_missing()
    except DatabaseError:
        return []  # not migrated yet: migrate's own output says so
    if not missing:
        return []
    return [
        Warning(
            f"The staff role groups {', '.join(missing)} do not exist.",
            hint="Run `python manage.py dsr_roles_sync` (make run does it through dsr_seed_demo).",
            id="dsr.W301",
        )
    ]


def team_members() -> QuerySet:
    """Return the active users who can be given requests: members of a handling role, and superusers."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=(PRIVACY_ADMIN, PRIVACY_AGENT)))
        .distinct()
        .order_by("username")
    )
