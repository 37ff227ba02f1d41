"""dsr's models, one module per concept, re-exported by name."""

from dsr.models.audit import ActorType, AuditChainHead, AuditEvent, AuditImmutableError
from dsr.models.datamap import (
    DataCategory,
    DataMapVersion,
    LegalBasis,
    LegalHold,
    Purpose,
    Recipient,
    RecipientRole,
    Source,
)
from dsr.models.messages import Message, MessageStatus
from dsr.models.notes import RequestNote
from dsr.models.requests import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Channel,
    IdentityLevel,
    Language,
    ObjectionScope,
    RefusalGround,
    Request,
    RestrictionGround,
    Right,
    Status,
    Suspension,
    SuspensionReason,
    VerificationMethod,
)
from dsr.models.sources import ManualOperation, ManualTask, ManualTaskStatus
from dsr.models.verification import VerificationChallenge

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "ActorType",
    "AuditChainHead",
    "AuditEvent",
    "AuditImmutableError",
    "Channel",
    "DataCategory",
    "DataMapVersion",
    "IdentityLevel",
    "Language",
    "LegalBasis",
    "LegalHold",
    "ManualOperation",
    "ManualTask",
    "ManualTaskStatus",
    "Message",
    "MessageStatus",
    "ObjectionScope",
    "Purpose",
    "Recipient",
    "RecipientRole",
    "RefusalGround",
    "Request",
    "RequestNote",
    "RestrictionGround",
    "Right",
    "Source",
    "Status",
    "Suspension",
    "SuspensionReason",
    "VerificationChallenge",
    "VerificationMethod",
]
