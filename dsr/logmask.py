"""A log filter that masks the secret part of dsr's emailed links in every log line.

Links to confirm an email, open the status page, download a bundle, reach the preference
centre or collect a transmission carry a token in their path. Web servers log paths and
Referer headers; this filter rewrites each record's message so the token never reaches a
log file. It runs on Django's handlers (config/settings.py LOGGING) and on gunicorn's access
and error logs (config/gunicorn.conf.py). It imports nothing from Django, so gunicorn can
load it before the application.
"""

import logging
import re

MASK = "[token]"

# A path segment that holds a token, after the fixed part of its URL. The status link's token
# follows the reference; the page names under a reference are short words, tokens are long.
_TOKEN_PATHS = re.compile(
    r"(?P<prefix>/(?:verify/link|preferences/link|download|transmission)/|/status/[A-Za-z0-9-]{1,40}/)"
    r"(?P<token>[A-Za-z0-9_\-%]{16,})"
)


def tokens_mask(text: str) -> str:
    """Return `text` with every token in a dsr link path replaced by a mark."""
    return _TOKEN_PATHS.sub(lambda match: match.group("prefix") + MASK, text)


class TokenMaskFilter(logging.Filter):
    """Rewrite a record's message with the tokens in link paths masked; never drop the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        masked = tokens_mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
