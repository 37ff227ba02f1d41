"""What every field of dsr's own records holds: the inventory the purge of closed requests works from.

dsr keeps records about the people who ask it for something. Once a closed
request has been kept for DSR_RECORD_RETENTION_DAYS (the evidence that it was
answered, and how), dsr.workflow.retention forgets the person: every field
listed as personal below is emptied on every row that belongs to the request.
Dates, statuses, keys and counts stay, each with the reason why; a hash stays
only when it is keyed (dsr.suppression.identifier_digest). A field that is in
no list fails tests/test_purge.py, so a new field is classified when it is
added, not when someone notices what it kept.

To classify a new model, add one entry to INVENTORY: how its rows reach the
request (an ORM lookup), its personal fields, and a reason for each field kept.
"""

from dataclasses import dataclass, field

from django.db import models

PERSONAL, KEPT, HASHED = "personal", "kept", "hashed"


@dataclass(frozen=True)
class Inventory:
    """What one model's fields hold, and how the purge finds the rows of one request."""

    # The lookup from the model to its Request ("pk" for Request itself); None for rows of no one request.
    to_request: str | None
    # Emptied by the purge: "" for text, an empty object or list for JSON, NULL where the field allows it.
    personal: tuple[str, ...] = ()
    # Keyed HMACs of an identifier: field -> why the hash may stay.
    hashed: dict[str, str] = field(default_factory=dict)
    # Kept as they are: field -> why they say nothing about the person.
    kept: dict[str, str] = field(default_factory=dict)
    # The purge deletes the request's rows altogether (nothing in them is needed afterwards).
    delete: bool = False

    def role(self, name: str) -> str | None:
        """Return PERSONAL, HASHED or KEPT for the field ``name``, or None if it is not classified."""
        if name in self.personal:
            return PERSONAL
        if name in self.hashed:
            return HASHED
        if name in self.kept:
            return KEPT
        return None


def _kept(reason: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, reason)


ROW = "the row's own key, or a key of another of dsr's rows"
WHEN = "a date of what dsr did, the evidence that the request was answered in time"
STATE = "a status, kind or choice from dsr's own closed set"
COUNT = "a count"
MAP = "the controller's data map (GDPR Art. 30), about no one person"
CONFIG = "configuration by the privacy team, about no one person"
STAFF = "who on the privacy team acted, never the requester"
SOURCE = "a source's key or the source's own problem (errors never quote a person's data)"
RANDOM = "a random value or a hash of one (a token, a claim, a salt), derived from nothing about the person"

INVENTORY: dict[str, Inventory] = {
    "Request": Inventory(
        to_request="pk",
        personal=(
            "email",
            "name",
            "phone",
            "customer_number",
            # What the right needs: corrections (old and new values), grounds, descriptions.
            "details",
            "outcome_reasons",
            "extension_reasons",
            # An integration's retry key is its own text and may be built from the person's details.
            "idempotency_key",
        ),
        kept={
            **_kept(ROW, "id", "assignee"),
            "reference": "dsr's own reference, the key the evidence is filed under",
            **_kept(STATE, "right", "status", "language", "channel", "identity_level", "identity_required"),
            "jurisdiction": "the law the request was answered under, evidence of the deadline kept; a country "
            "of residence names no one",
            **_kept(STATE, "verification_method", "refusal_ground"),
            **_kept(WHEN, "received_at", "created_at", "updated_at", "verified_at", "due_date", "extended_due_date"),
            **_kept(WHEN, "extended_at", "closed_at", "purged_at", "imported_at", "receipt_confirmed_at"),
            "suspended_days": COUNT,
            "status_salt": RANDOM,
            "status_salt_next": RANDOM,
        },
    ),
    "Suspension": Inventory(
        to_request="request",
        personal=("note",),
        kept={**_kept(ROW, "id", "request"), "reason": STATE, **_kept(WHEN, "started_at", "ended_at")},
    ),
    "SubjectAnswer": Inventory(
        to_request="request",
        # The person's own words in answer to what was asked; the files are deleted with their rows.
        personal=("text",),
        kept={**_kept(ROW, "id", "request", "suspension"), "received_at": WHEN},
    ),
    "SubjectAnswerFile": Inventory(
        to_request="answer__request",
        # The name the person gave the file and the file itself (deleted from storage too).
        personal=("name", "file"),
        kept={**_kept(ROW, "id", "answer"), "kind": STATE, "size": COUNT},
    ),
    # CCPA regs § 7063: the agent is a person too; their proof of authority names the consumer (deleted from storage).
    "AgentFiling": Inventory(
        to_request="request",
        personal=("sealed_agent", "document_name", "document", "refusal_reasons"),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(STATE, "business", "agent_language", "document_kind", "document_type", "decision"),
            "document_size": COUNT,
            **_kept(RANDOM, "agent_token_hash", "consumer_token_hash"),
            **_kept(WHEN, "agent_link_expires_at", "agent_confirmed_at", "consumer_link_expires_at"),
            **_kept(
                WHEN, "consumer_asked_at", "consumer_confirmed_at", "consumer_denied_at", "decided_at", "created_at"
            ),
            "decided_by": STAFF,
        },
    ),
    "Plan": Inventory(
        to_request="request",
        personal=("identifiers", "consents", "held_identifiers", "decision_reasons"),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(STATE, "stage", "decision"),
            "resolution_errors": SOURCE,
            "approved_by": STAFF,
            # The person's own words for a correction the map does not know are scrubbed from it by the purge.
            "outcome": "what the sources reported doing: system keys, tables, counts, holds and dates",
            **_kept(WHEN, "approved_at", "created_at", "updated_at"),
        },
    ),
    "Job": Inventory(
        to_request="request",
        # The input (an erasure plan's row keys and a processor's hashed identities, corrections, consents)
        # the output (staged files, processors' request ids), and the connector's state (a system's job ids,
        # kept by the system's keys of the person); the outcome keeps what the letters need.
        personal=("plan", "result", "state"),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(SOURCE, "source_key", "last_error"),
            **_kept(STATE, "operation", "status"),
            **_kept(COUNT, "attempts", "counts"),
            "claim": RANDOM,
            **_kept(WHEN, "lease_expires_at", "not_before", "created_at", "started_at", "finished_at", "updated_at"),
        },
    ),
    "Suppression": Inventory(
        to_request="request",
        hashed={"digest": "the keyed HMAC an import checks (GDPR Art. 17, 21(3)); the list's only content"},
        kept={**_kept(ROW, "id", "request"), **_kept(STATE, "kind", "reason"), "created_at": WHEN},
    ),
    "Restriction": Inventory(
        to_request="request",
        personal=("lift_reasons",),
        hashed={"digest": "the keyed HMAC other systems ask the register about (GDPR Art. 18)"},
        kept={
            **_kept(ROW, "id", "request", "lift_notice"),
            "lift_on": WHEN,
            **_kept(STATE, "kind", "ground"),
            "purpose": MAP,
            **_kept(WHEN, "created_at", "subject_told_at", "lifted_at"),
        },
    ),
    "RecipientNotification": Inventory(
        to_request="request",
        # The processor's request id is derived from the person's (hashed) identities.
        personal=("reference", "note"),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(MAP, "recipient_key", "recipient_name", "contact_email", "categories"),
            **_kept(STATE, "operation", "channel", "status", "identifier_kinds"),
            **_kept(WHEN, "created_at", "notified_at"),
            "confirmed_by": STAFF,
            "corrections": "the data map's keys of the corrections told, never their values",
        },
    ),
    "Message": Inventory(
        to_request="request",
        # A subject is rendered from templates the privacy team may edit to name the person.
        personal=("subject", "sealed_context"),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(STATE, "kind", "language", "to_staff", "status"),
            "attempts": COUNT,
            "last_error": "the exception's type only (an exception's text may quote an address)",
            **_kept(WHEN, "created_at", "sent_at", "attempted_at"),
        },
    ),
    "RequestNote": Inventory(
        to_request="request",
        personal=("text",),
        kept={**_kept(ROW, "id", "request"), "author": STAFF, "created_at": WHEN},
    ),
    "ManualTask": Inventory(
        to_request="request",
        # A rectification's instructions carry the corrections to make; the file is deleted from storage too.
        personal=("instructions", "attestation", "uploaded_file"),
        kept={
            **_kept(ROW, "id", "request"),
            "source_key": SOURCE,
            **_kept(STATE, "operation", "status", "finding"),
            "owner": "the named owner of the system worked by hand, from the data map",
            "completed_by": STAFF,
            **_kept(WHEN, "created_at", "completed_at"),
        },
    ),
    "Bundle": Inventory(
        to_request="request",
        # The file names of what was found (an uploaded file keeps the name it was given); the file is deleted.
        personal=("manifest",),
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(STATE, "kind", "status", "language"),
            "storage_name": RANDOM,
            "sha256": "the hash of the sealed (encrypted) file, which the purge deletes",
            **_kept(COUNT, "size", "plain_size", "records"),
            "released_by": STAFF,
            **_kept(WHEN, "created_at", "built_at", "released_at", "expires_at", "purged_at"),
        },
    ),
    "DownloadLink": Inventory(
        to_request="bundle__request",
        kept={
            **_kept(ROW, "id", "bundle"),
            "token_hash": RANDOM,
            **_kept(COUNT, "max_downloads", "downloads"),
            **_kept(WHEN, "created_at", "expires_at", "last_download_at", "revoked_at"),
        },
    ),
    "VerificationChallenge": Inventory(
        to_request="request",
        delete=True,
        kept={
            **_kept(ROW, "id", "request"),
            **_kept(RANDOM, "code_hash", "link_token_hash"),
            "attempts": COUNT,
            **_kept(WHEN, "created_at", "expires_at", "used_at", "revoked_at"),
        },
    ),
    "ProcessorCallback": Inventory(
        to_request="job__request",
        # Derived from the person's (hashed) identities; the signature's digest stays to refuse a replay.
        personal=("subject_request_id",),
        kept={
            **_kept(ROW, "id", "job"),
            "source_key": SOURCE,
            "signature_digest": "a hash of the processor's signature, so a replay is refused",
            "event_id": "the processor's id for its callback (not the person's), so a resent event is refused",
            "request_status": STATE,
            "received_at": WHEN,
        },
    ),
    "AuditEvent": Inventory(
        # Append-only and hash-chained (docs/decisions/0004): written with ids, kinds and counts only.
        to_request="request",
        kept={
            **_kept(ROW, "id", "seq", "request"),
            **_kept(STATE, "actor_type", "action"),
            "actor_id": "a staff member's, an integration's or the system's id; a requester has none",
            "at": WHEN,
            "data": "ids, kinds, statuses and counts only (dsr.audit never records a person's data)",
            **_kept("the chain's hashes, over the events above", "prev_hash", "hash"),
        },
    ),
    "AuditChainHead": Inventory(
        to_request=None,
        kept={"id": ROW, "last_seq": COUNT, "last_hash": "the chain's last hash"},
    ),
    "WebhookEndpoint": Inventory(
        to_request=None,
        kept={**_kept(CONFIG, "name", "url", "sealed_secret", "events", "active"), "id": ROW, "created_at": WHEN},
    ),
    "WebhookDelivery": Inventory(
        to_request=None,
        kept={
            **_kept(ROW, "id", "endpoint", "resent_from"),
            "event_id": RANDOM,
            **_kept(STATE, "event_type", "status", "last_response_code"),
            "payload": "the request's reference, right, status, dates and counts (dsr.webhooks.event_payload)",
            "attempts": COUNT,
            "last_error": "what went wrong in our words; the receiver's answer is never stored",
            **_kept(WHEN, "next_attempt_at", "delivered_at", "created_at"),
        },
    ),
    "TaskSignal": Inventory(
        # A "go" on its way to the broker, deleted as soon as it is handed over.
        to_request=None,
        kept={"id": ROW, "task": "the name of one of dsr's own tasks", "args": ROW, "created_at": WHEN},
    ),
    "ApiKey": Inventory(
        to_request=None,
        kept={
            **_kept(CONFIG, "name", "prefix", "scopes"),
            "secret_hash": RANDOM,
            **_kept(ROW, "id"),
            "created_by": STAFF,
            **_kept(WHEN, "created_at", "last_used_at", "revoked_at"),
        },
    ),
    # Retention sweeps (dsr/sweeps.py) belong to no request: they hold counts, table names and, only while a
    # batch runs, the keys of the source rows it changes.
    "SweepRuleSetting": Inventory(
        to_request=None,
        kept={"id": ROW, "rule": MAP, "enabled": CONFIG, "updated_at": WHEN, "updated_by": STAFF},
    ),
    "RetentionSweep": Inventory(
        to_request=None,
        kept={
            "id": ROW,
            "rule": MAP,
            "status": STATE,
            "scheduled": STATE,
            "as_of": WHEN,
            "report": "counts per source, table and hold with the holds' end dates; the sample of row keys and "
            "event dates the admin checks is dropped when the sweep is done",
            "counts": "counts per source and table of what the sources reported",
            "error": SOURCE,
            **_kept(WHEN, "created_at", "approved_at", "started_at", "finished_at"),
            **_kept(STAFF, "created_by", "approved_by"),
        },
    ),
    "SweepBatch": Inventory(
        to_request=None,
        kept={
            **_kept(ROW, "id", "sweep", "number"),
            **_kept(SOURCE, "source", "root"),
            "keys": "the source rows' keys only while the batch runs (to resume it after a crash); emptied when done",
            "last_key": "where the next batch starts in the source's key order (a row key, no value of the row)",
            **_kept(COUNT, "people", "skipped_restricted", "planned", "counts"),
            **_kept(STATE, "done", "resumed"),
            "created_at": WHEN,
        },
    ),
    "MessageTemplate": Inventory(
        to_request=None,
        kept={**_kept(CONFIG, "kind", "language", "part", "body"), "id": ROW, "updated_by": STAFF, "updated_at": WHEN},
    ),
    "DataMapVersion": Inventory(
        to_request=None,
        kept={
            **_kept(MAP, "yaml_text", "sha256", "snapshot", "source_path", "active"),
            "id": ROW,
            "loaded_at": WHEN,
            "loaded_by": STAFF,
        },
    ),
    # GDPR Art. 12(5)(a), 15(3): the amount and its ground are the evidence; the reasons may describe the person.
    "Fee": Inventory(
        to_request="request",
        personal=("reasons", "payment_reference", "waiver_reasons"),
        kept={
            **_kept(ROW, "id", "request", "suspension"),
            **_kept(STATE, "ground", "currency", "status", "payment_method"),
            **_kept(COUNT, "amount", "paid_amount"),
            "payment_instructions": CONFIG,
            **_kept(WHEN, "requested_at", "settled_at", "paid_on"),
            **_kept(STAFF, "requested_by", "settled_by"),
        },
    ),
    # GDPR Art. 20(2): the company the person named may be their own business, so it goes with them.
    "Transmission": Inventory(
        to_request="request",
        personal=(
            "recipient_name",
            "recipient_email",
            "recipient_url",
            "decline_reasons",
            "sealed_token",
            "last_error",
        ),
        kept={
            **_kept(ROW, "id", "request", "bundle", "message"),
            **_kept(STATE, "channel", "status", "last_response_code"),
            "token_hash": RANDOM,
            "bundle_sha256": "a hash of the export file that was sent (deleted with the request's bundles)",
            **_kept(COUNT, "max_downloads", "downloads", "attempts"),
            **_kept(WHEN, "expires_at", "last_download_at", "next_attempt_at", "created_at", "sent_at", "settled_at"),
        },
    ),
}
# The data map's normalised rows: every field is the map's.
for _name, _fields in {
    "DataCategory": ("key", "name_da", "name_en", "description_da", "description_en"),
    "Purpose": (
        "key",
        "name_da",
        "name_en",
        "legal_basis",
        "legitimate_interest_da",
        "legitimate_interest_en",
        "retention_da",
        "retention_en",
        "retention_rule",
        "profiling",
        "profiling_description_da",
        "profiling_description_en",
        "categories",
        "consent_key",
    ),
    "Recipient": (
        "key",
        "name",
        "role",
        "country",
        "countries",
        "safeguard_da",
        "safeguard_en",
        "contact_email",
        "purposes",
    ),
    "LegalHold": (
        "key",
        "name_da",
        "name_en",
        "law_da",
        "law_en",
        "period_rule",
        "description_da",
        "description_en",
    ),
    "Source": (
        "key",
        "name_da",
        "name_en",
        "kind",
        "purposes",
        "recipients",
        "groups",
        "origin_da",
        "origin_en",
        "provided_by_subject",
        "config",
    ),
}.items():
    INVENTORY[_name] = Inventory(to_request=None, kept={**_kept(ROW, "id", "version"), **_kept(MAP, *_fields)})


def field_empty(model_field: models.Field):
    """Return the value a personal field holds once forgotten: NULL if allowed, else an empty JSON value or ""."""
    if model_field.null:
        return None
    if isinstance(model_field, models.JSONField):
        default = model_field.default
        return default() if callable(default) else {}
    return ""


def inventory_personal(model: type[models.Model]) -> dict[str, object]:
    """Return the model's personal fields with the value each holds after the purge."""
    entry = INVENTORY[model.__name__]
    return {name: field_empty(model._meta.get_field(name)) for name in entry.personal}
