"""The local email backend: one line per message on the console, the whole message in the outbox folder."""

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

logger = logging.getLogger(__name__)


class ConsoleOutboxBackend(BaseEmailBackend):
    """Keep each message in DSR_OUTBOX_DIR as a .eml file and log who it went to, its subject and its file.

    The body and attachments (base64 PDFs) stay out of the log: the .eml file has them.
    """

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        outbox = Path(settings.DSR_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        for email in email_messages:
            message = email.message()
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            (outbox / name).write_bytes(message.as_bytes(linesep="\n"))
            logger.info(
                "email to %s: %s (%s, %s)", ", ".join(email.recipients()), email.subject, message["Message-ID"], name
            )
        return len(email_messages)
