"""Sample contexts shaped like what each kind of message is rendered with.

An override of a message template (dsr.message_templates) is checked against the
sample for its kind before it is saved: the sample offers exactly the variables
the message has when dsr/outbox.py renders it. A new kind of message adds its
extras to ``_sample_extras``.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from dsr.jurisdictions import jurisdiction_context, profile_default_code


def _sample_base(language: str) -> dict:
    deadline = {
        "received": date(2026, 3, 5),
        "due": date(2026, 4, 7),
        "extended_due": date(2026, 6, 5),
        "effective_due": date(2026, 6, 5),
        "days_left": 12,
        "clock_stopped": False,
        "stopped_reason": "",
        "stopped_since": None,
        "suspended_days": 0,
        "extension_allowed": False,
        "overdue": False,
        "days_overdue": 0,
        "jurisdiction": jurisdiction_context(profile_default_code(), language)["jurisdiction"],
        # CCPA regs § 7021(a): the day to confirm receipt by, and when it was confirmed (dsr.selectors.Deadline).
        "acknowledge_by": None,
        "receipt_confirmed": None,
        "receipt_due": False,
        "receipt_overdue": False,
        "receipt_late": False,
        "today": date(2026, 3, 25),
        "is_open": True,
    }
    right_label = "Sletning (art. 17)" if language == "da" else "Erasure (Art. 17)"
    request = {
        "reference": "DSR-7K2M-9QXP-4HTV-C3RW",
        "name": "Ida Jensen",
        "email": "ida.jensen@example.com",
        "right": "erasure",
        "language": language,
        "details": {
            "scope": "direct_marketing",
            "corrections": [{"field": "address", "wrong": "Vestergade 1", "correct": "Østergade 2"}],
            "description": "",
        },
        "get_right_display": lambda: right_label,
    }
    return {
        "controller": {
            "name": "Madkassen A/S",
            "address": "Vestergade 1, 8000 Aarhus C",
            "cvr": "12345678",
            "email": "privacy@madkassen.example",
            "phone": "70 20 30 40",
            "dpo_email": "dpo@madkassen.example",
            "authority": {
                "name": "Datatilsynet",
                "address": "Carl Jacobsens Vej 35, 2500 Valby",
                "phone": "33 19 32 00",
                "email": "dt@datatilsynet.dk",
                "url": "https://www.datatilsynet.dk",
            },
        },
        "base_url": "https://privacy.madkassen.example",
        **jurisdiction_context(profile_default_code(), language),
        "request": request,
        "reference": request["reference"],
        "right_label": right_label,
        "deadline": deadline,
        "reasons": "Vi har søgt i alle vores systemer." if language == "da" else "We searched all our systems.",
        "status_url": "https://privacy.madkassen.example/status/DSR-7K2M-9QXP-4HTV-C3RW/sample-token/",
    }


def _sample_outcome(language: str) -> dict:
    """Return a sample of what dsr.rights.outcome.outcome_view gives a closing letter."""
    da = language == "da"
    shop, chat = ("Webshop", "Kundeservice-chat") if da else ("Web shop", "Customer-service chat")
    return {
        "right": "erasure",
        "found": True,
        "changed": True,
        "erased": [{"source": shop, "table": "address", "count": 2, "item": ""}],
        "anonymised": [{"source": shop, "table": "customer", "count": 1, "item": ""}],
        "kept": [
            {
                "source": shop,
                "table": "invoice",
                "count": 4,
                "item": "",
                "hold": "Bogføringspligt" if da else "Bookkeeping obligation",
                "law": "Bogføringsloven § 10" if da else "Danish Bookkeeping Act § 10",
                "until": date(2031, 12, 31),
                "ended": False,
                "minimised": 0,
            }
        ],
        "shared": [],
        "changed_rows": [{"source": shop, "table": "customer", "count": 1, "item": "last_name"}],
        "unchanged_rows": [],
        "already_done": [{"source": shop, "table": "login", "count": 3, "item": ""}],
        "by_hand": [{"source": chat, "table": "task", "count": 0, "item": ""}],
        "processors": [{"source": "Annoncepartner", "table": "processor", "count": 0, "item": "", "confirmed": True}],
        "audiences": [
            {
                "source": "Meta (Facebook, Instagram)",
                "table": "Genbesøgende" if da else "Returning visitors",
                "count": 1,
                "item": "",
                "confirmed": True,
            }
        ],
        "records": [{"source": shop, "table": "orders", "count": 12, "item": ""}],
        "nothing_found": ["Chinook"],
        "nothing_found_elsewhere": ["Chinook"],
        "not_finished": [],
        "items": [
            {
                "index": 0,
                "key": "last_name",
                "label": "Efternavn" if da else "Last name",
                "state": "corrected",
                "where": [shop],
                "already": [],
                "by_hand": [],
                "correct": "Hansen",
                "purposes": [],
                "suppressed": False,
                "state_label": "rettet" if da else "corrected",
            }
        ],
        "notified": ["Meta Platforms Ireland Ltd."],
        "telling": ["Adyen N.V."],
        "minimised": 0,
        "searched": [shop, chat, "Chinook"],
        "holding": [shop, chat],
    }


def _sample_extras(kind: str, language: str, base: dict) -> dict:
    """Return what message_render adds for this kind (dsr/outbox.py), as sample values."""
    if kind == "verification":
        return {
            "code": "493027",
            "verify_url": "https://privacy.madkassen.example/verify/link/sample-token/",
            "expires_minutes": 60,
        }
    if kind == "preference_code":
        return {
            "code": "581204",
            "verify_url": "https://privacy.madkassen.example/preferences/link/sample-token/",
            "expires_minutes": 60,
        }
    if kind == "access_confirmation":
        da = language == "da"
        return {
            "search": {
                "found": [
                    {
                        "source": "Webshop" if da else "Web shop",
                        "categories": ["Kontaktoplysninger", "Ordrer"] if da else ["Contact details", "Orders"],
                    }
                ],
                "unfinished": ["Kundeservice-chat" if da else "Customer-service chat"],
                "complete": False,
                "nothing_found": False,
                "searched": 2,
            }
        }
    if kind in ("agent_verification", "agent_consumer_confirm", "agent_notice"):
        # CCPA regs § 7063 (dsr/workflow/agents.py): the agent, the proof and what happened to the filing.
        return {
            "filing": {
                "power_of_attorney": False,
                "decision": "refused",
                "refusal_reasons": "No signature.",
                "consumer_denied_at": None,
            },
            "agent": {
                "name": "Pat Agent",
                "email": "pat@agents.example",
                "entity_name": "Privacy Agents LLC",
                "entity_number": "202412345678",
            },
            "event": "closed",
            "status_label": "Afvist" if language == "da" else "Refused",
            "work_started": False,
            "agent_expires_minutes": 60,
            "consumer_expires_days": 14,
            "confirm_url": "https://privacy.madkassen.example/agent/confirm/sample-token/",
        }
    if kind == "suspended":
        return {"suspension": {"reason": "identity", "note": "Your customer number, please."}}
    if kind == "refused":
        return {"ground_label": "Åbenbart ubegrundet" if language == "da" else "Manifestly unfounded"}
    if kind == "restriction_lift":
        return {"lift_date": date(2026, 5, 1)}
    if kind == "fee":
        da = language == "da"
        reasons = "Du har bedt om det samme fire gange i år." if da else "You asked the same four times this year."
        return {
            "fee": {
                "amount": Decimal("250.00"),
                "currency": "DKK",
                "ground": "excessive",
                "reasons": reasons,
                "payment_instructions": "Reg.nr. 1234 konto 5678901, skriv sagsnummeret."
                if da
                else "Account 1234 5678901, quoting the reference.",
                "requested_at": datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
            },
            "ground_label": "Overdreven, navnlig gentagen" if da else "Excessive, in particular repetitive",
            "reasons": reasons,
        }
    if kind == "recipient_notification":
        return {
            "notification": {"recipient_name": "Annoncepartner ApS", "operation": "rectification"},
            "person": {"email": "kunde@example.com", "phone": "", "customer_number": "K-1001"},
            "corrections": [{"label": {"da": "Efternavn", "en": "Last name"}, "correct": "Hansen"}],
        }
    download = {
        "download_url": "https://privacy.madkassen.example/download/sample-token/",
        "download_link": {"expires_at": datetime(2026, 4, 21, 12, 0, tzinfo=UTC), "max_downloads": 5},
        "download_bundle": {"kind": "access"},
    }
    if kind == "download_link":
        return download
    if kind in ("completed", "partially_completed"):
        return {
            **download,
            "outcome": _sample_outcome(language),
            **_sample_transmission("completed"),
        }
    if kind in ("transmission", "transmission_outcome"):
        return _sample_transmission(kind)
    if kind == "status_link":
        # A second "lost link" ask while the first new link is unopened keeps the earlier links working.
        return {"earlier_links_kept": True}
    if kind == "audit_checkpoint":
        return {
            "checkpoint": {
                "seq": 4182,
                "hash": "9f2c4e1a7b3d5f60" * 4,
                "at": "2026-03-25T08:00:00+01:00",
                "key": "k1-3b9a0c2d",
            }
        }
    if kind == "deadline_reminder":
        return {
            "today": date(2026, 3, 25),
            "requests": [(base["request"], base["deadline"])],
            "dashboard_url": "https://privacy.madkassen.example/dashboard/",
        }
    return {}


def _sample_transmission(kind: str) -> dict:
    """Return what a direct transmission's messages get (dsr.exports.transmission.transmission_message_context)."""
    extras: dict = {
        "transmission": {
            "recipient_name": "Grøntkassen ApS",
            "recipient_email": "data@groentkassen.example",
            "recipient_url": "",
            "channel": "email",
            "status": "sent",
            "sent_at": datetime(2026, 4, 8, 9, 30, tzinfo=UTC),
            "expires_at": datetime(2026, 4, 15, 9, 30, tzinfo=UTC),
            "max_downloads": 3,
            "decline_reasons": "",
        },
        "transmission_problem": "",
    }
    if kind == "transmission":
        extras["download_url"] = "https://privacy.madkassen.example/transmission/sample-token/"
    return extras


def sample_context(kind: str, language: str) -> dict:
    """Return plain sample values shaped like the context message_render gives this kind of message."""
    base = _sample_base(language)
    extras = _sample_extras(kind, language, base)
    if kind in ("deadline_reminder", "audit_checkpoint"):
        # To staff or the DPO: no request of its own (dsr.emails.email_deadline_reminder, email_audit_checkpoint).
        base = {"controller": base["controller"], "base_url": base["base_url"]}
    return {**base, **extras}
