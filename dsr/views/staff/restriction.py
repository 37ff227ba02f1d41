"""The request page's restriction panel: what the register holds for the request, and lifting it (GDPR Art. 18(3)).

Lifting is announced here; the notice goes out through the outbox, and only then
(and on the date given, if any) is the restriction lifted in the register and the
sources (dsr.restrictions, dsr.rights.restriction). Art. 19 notices staff made by
hand are recorded as told from the recipients panel.
"""

from django.utils.translation import gettext as _

from dsr.audit import Actor
from dsr.datamap.schema import DataMap, localised
from dsr.models import RecipientNotification, Request
from dsr.recipients import NotificationError, recipient_notification_confirm
from dsr.restrictions import restriction_lift_schedule, restriction_lift_state


def restriction_context(request: Request, *, datamap: DataMap | None, language: str) -> dict:
    """Return what the restriction and recipients panels show, and the purposes an objection named."""
    purposes = datamap.purposes if datamap is not None else {}
    named = [
        localised(purposes[key]["name"], language) if key in purposes else key
        for key in request.details.get("purposes") or []
    ]
    return {
        "lift": restriction_lift_state(request),
        "recipients": list(request.recipient_notifications.select_related("confirmed_by")),
        "objection_purposes_named": named,
    }


def restriction_lift_action(request: Request, data: dict, actor: Actor, user, files) -> str:
    restriction_lift_schedule(request=request, actor=actor, reasons=data["reasons"], lift_date=data["lift_date"])
    if data["lift_date"]:
        return _("The requester is being told; the restriction is lifted on %(date)s, once they have been told.") % {
            "date": data["lift_date"].isoformat()
        }
    return _("The requester is being told; the restriction is lifted as soon as the notice has been sent.")


def notice_told_action(request: Request, data: dict, actor: Actor, user, files) -> str:
    notification = RecipientNotification.objects.filter(pk=data["notification"], request=request).first()
    if notification is None:
        raise NotificationError(_("That notification does not belong to this request."))
    recipient_notification_confirm(notification=notification, note=data["note"], actor=actor, confirmed_by=user)
    return _("Recorded: the recipient was told.")
