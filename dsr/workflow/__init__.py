"""The request state machine: a transition table and one service function per transition.

This package is the one writer of a request's status: every service runs in
one transaction, locks the request row, checks the transition table and sets
the status to the transition's target, saves only the fields it changes,
writes an audit event, emits its webhook and schedules emails after commit. A
forbidden transition raises TransitionError and changes nothing. The work in
the sources (dsr.engine, dsr.rights) asks these services for every status
change. See docs/decisions/0002-deadlines.md and
docs/decisions/0006-request-lifecycle.md.
"""

# The services by name, as callers use them (``workflow.request_complete``); each module holds one part.
from dsr.requests import RequestInvalid
from dsr.workflow.agents import (
    AGENT_DOCUMENT_BYTES_LIMIT,
    AGENT_REQUESTS,
    AgentFiled,
    AgentLinkError,
    agent_confirm,
    agent_consumer_confirm,
    agent_consumer_deny,
    agent_details,
    agent_document_open,
    agent_filing_accept,
    agent_filing_refuse,
    agent_filing_submit,
    agent_link_filing,
    agent_profiles_offered,
)
from dsr.workflow.answers import (
    ANSWER_FILE_BYTES_LIMIT,
    ANSWER_FILES_LIMIT,
    ANSWER_TEXT_LIMIT,
    AnswerRefused,
    answer_file_open,
    answers_of,
    question_open,
    request_answer,
)
from dsr.workflow.base import (
    TRANSITIONS,
    Transition,
    TransitionError,
    closing_hook_set,
    transition_allowed,
    transition_require,
    work_starter_set,
)
from dsr.workflow.clock import (
    RECEIPT_CONFIRMING_KINDS,
    receipt_confirmation_asked,
    request_extend,
    request_receipt_confirmed,
    request_resume,
    request_suspend,
    requests_remind_staff,
)
from dsr.workflow.fees import (
    FEE_TEMPLATES,
    fee_awaited,
    fee_payment_instructions,
    fee_reasons_own,
    request_fee_ask,
    request_fee_paid,
    request_fee_waive,
    request_fee_withdraw,
)
from dsr.workflow.filing import (
    SubmitResult,
    reference_new,
    request_by_status_token,
    request_identity_check,
    request_status_link_open,
    request_status_link_reissue,
    request_status_link_send,
    request_status_token,
    request_submit,
    request_verify,
)
from dsr.workflow.imports import IMPORT_COLUMNS, ImportInvalid, ImportResult, requests_import
from dsr.workflow.outcomes import (
    request_cancel,
    request_complete,
    request_expire,
    request_refuse,
    requests_expire_unverified,
)
from dsr.workflow.retention import (
    request_purge,
    requests_purge_closed,
)
from dsr.workflow.steps import (
    request_approve,
    request_await_staff,
    request_bundle_released,
    request_bundle_review,
    request_job_failed,
    request_job_retried,
    request_objection_decided,
)
from dsr.workflow.team import (
    request_assign,
    request_note_add,
    requests_assign_bulk,
    staff_action_deny,
)

__all__ = [
    "AGENT_DOCUMENT_BYTES_LIMIT",
    "AGENT_REQUESTS",
    "ANSWER_FILES_LIMIT",
    "ANSWER_FILE_BYTES_LIMIT",
    "ANSWER_TEXT_LIMIT",
    "FEE_TEMPLATES",
    "IMPORT_COLUMNS",
    "RECEIPT_CONFIRMING_KINDS",
    "TRANSITIONS",
    "AgentFiled",
    "AgentLinkError",
    "AnswerRefused",
    "ImportInvalid",
    "ImportResult",
    "RequestInvalid",
    "SubmitResult",
    "Transition",
    "TransitionError",
    "agent_confirm",
    "agent_consumer_confirm",
    "agent_consumer_deny",
    "agent_details",
    "agent_document_open",
    "agent_filing_accept",
    "agent_filing_refuse",
    "agent_filing_submit",
    "agent_link_filing",
    "agent_profiles_offered",
    "answer_file_open",
    "answers_of",
    "closing_hook_set",
    "fee_awaited",
    "fee_payment_instructions",
    "fee_reasons_own",
    "question_open",
    "receipt_confirmation_asked",
    "reference_new",
    "request_answer",
    "request_approve",
    "request_assign",
    "request_await_staff",
    "request_bundle_released",
    "request_bundle_review",
    "request_by_status_token",
    "request_cancel",
    "request_complete",
    "request_expire",
    "request_extend",
    "request_fee_ask",
    "request_fee_paid",
    "request_fee_waive",
    "request_fee_withdraw",
    "request_identity_check",
    "request_job_failed",
    "request_job_retried",
    "request_note_add",
    "request_objection_decided",
    "request_purge",
    "request_receipt_confirmed",
    "request_refuse",
    "request_resume",
    "request_status_link_open",
    "request_status_link_reissue",
    "request_status_link_send",
    "request_status_token",
    "request_submit",
    "request_suspend",
    "request_verify",
    "requests_assign_bulk",
    "requests_expire_unverified",
    "requests_import",
    "requests_purge_closed",
    "requests_remind_staff",
    "staff_action_deny",
    "transition_allowed",
    "transition_require",
    "work_starter_set",
]
