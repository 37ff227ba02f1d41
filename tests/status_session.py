"""Opening a request's status page in a test client as the portal does after a confirmed link."""

from django.test import Client

from dsr import crypto
from dsr.models import Request
from dsr.views.public import _SESSION_SEAL, _SESSION_TOKENS
from dsr.workflow import request_status_token


def status_session_open(client: Client, request: Request) -> None:
    """Keep the request's status token in the client's session, sealed as the portal keeps it."""
    session = client.session
    sealed = crypto.seal({"token": request_status_token(request)}, purpose=_SESSION_SEAL)
    session[_SESSION_TOKENS] = {request.reference: sealed}
    session.save()
