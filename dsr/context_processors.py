"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def controller(request: HttpRequest) -> dict:
    """Return what every page shows about the deployment."""
    return {"dsr_debug": settings.DEBUG}
