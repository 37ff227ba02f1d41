"""Django admin for dsr, one module per concept."""

from dsr.admin import (
    datamap,  # noqa: F401  (registers the data map's admin pages)
    requests,  # noqa: F401  (requests, messages and the audit trail, read-only)
    webhooks,  # noqa: F401  (webhook endpoints and deliveries)
)
