"""dsr's models, one module per concept, re-exported by name."""

from dsr.models.audit import ActorType, AuditChainHead, AuditEvent, AuditImmutableError
from dsr.models.messages import Message, MessageStatus
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
from dsr.models.verification import VerificationChallenge

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "ActorType",
    "AuditChainHead",
    "AuditEvent",
    "AuditImmutableError",
    "Channel",
    "IdentityLevel",
    "Language",
    "Message",
    "MessageStatus",
    "ObjectionScope",
    "RefusalGround",
    "Request",
    "RestrictionGround",
    "Right",
    "Status",
    "Suspension",
    "SuspensionReason",
    "VerificationChallenge",
    "VerificationMethod",
]
