"""gunicorn's settings for dsr (docker-compose.yml and the image run `gunicorn -c config/gunicorn.conf.py`).

The access log is on, with every emailed link's token masked in the request line and the
Referer (dsr/logmask.py): those logs are kept and shipped where the tokens must not go.
"""

from gunicorn.glogging import Logger

from dsr.logmask import TokenMaskFilter

wsgi_app = "config.wsgi"
accesslog = "-"


class MaskingLogger(Logger):
    """gunicorn's logger with the token mask on its access and error logs."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(TokenMaskFilter())


logger_class = MaskingLogger
