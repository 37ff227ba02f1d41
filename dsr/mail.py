"""The local email backend: print to the console and keep a copy in the outbox folder."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.utils import timezone


class ConsoleOutboxBackend(ConsoleBackend):
    """Write each message to stdout and to DSR_OUTBOX_DIR as a .eml file."""

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        outbox = Path(settings.DSR_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            (outbox / name).write_bytes(message.message().as_bytes(linesep="\n"))
        return super().send_messages(email_messages)
