"""The embedded broker (kombu's filesystem transport) with messages written whole before they can be read.

kombu writes a message straight into its final file name and a consumer may
move and read that file while it is still empty: the worker then stops on a
JSON error and the message is lost. Here a message is written under a name no
consumer looks at and renamed into place once complete (a rename within one
folder is atomic), so a consumer sees either nothing or the whole message.
Used whenever CELERY_BROKER_URL is filesystem:// (config/settings.py); Redis in
production is not affected.
"""

import contextlib
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` on ``queue``: written under a hidden name, then renamed to the name consumers read."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot and a suffix: kombu's _get takes only "<id>.<queue>.msg" names.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb", buffering=0) as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
