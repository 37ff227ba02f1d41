"""Django admin for dsr, one module per concept."""

from dsr.admin import (
    apikeys,  # noqa: F401  (API keys: created with the token shown once, revoked)
    datamap,  # noqa: F401  (registers the data map's admin pages)
    message_templates,  # noqa: F401  (message templates: the files and the overrides that replace them)
    requests,  # noqa: F401  (requests, messages and the audit trail, read-only)
    webhooks,  # noqa: F401  (webhook endpoints and deliveries)
)
