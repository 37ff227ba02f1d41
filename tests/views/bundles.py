"""Real export bundles for the download and review pages, built and released through dsr.exports.

A request is filed as an integration would (pre-verified); without an active
data map no job runs, so the bundle holds what the builder writes for every
person (for access: the Art. 15 report, the overview and the manifest). The
tests that need collected records run a request through the engine instead.
"""

import io
import json
import re
import zipfile
from pathlib import Path

from django.conf import settings
from django.core import mail

from dsr import crypto
from dsr.audit import Actor
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMap
from dsr.exports.bundle import bundle_build
from dsr.exports.delivery import bundle_release, bundle_review_await
from dsr.models import Bundle, Message, Request
from dsr.workflow import request_submit

DEMO_MAP = Path(settings.BASE_DIR) / "dsr" / "demo" / "datamap.yaml"


def demo_map() -> DataMap:
    return datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))


def request_file(*, right: str = "portability", email: str = "ida@example.dk", language: str = "en") -> Request:
    """File a pre-verified request, as the shop's account pages would."""
    result = request_submit(
        right=right, email=email, actor=Actor.integration("shop"), language=language, pre_verified=True
    )
    return Request.objects.get(pk=result.request.pk)


def bundle_built(request: Request) -> Bundle:
    return bundle_build(request=request, datamap=demo_map())


def bundle_in_review(request: Request) -> Bundle:
    bundle = bundle_built(request)
    bundle_review_await(bundle=bundle)
    bundle.refresh_from_db()
    return bundle


def emailed_tokens(request: Request) -> list[str]:
    """Return the download tokens emailed to the request's address: what the person holds.

    A message not sent yet still has its sealed context; a sent one keeps no
    secret, so its link is read from the email itself.
    """
    tokens = []
    for message in Message.objects.filter(request=request).exclude(sealed_context="").order_by("id"):
        token = crypto.unseal(message.sealed_context, purpose="message-context").get("download_token")
        if token:
            tokens.append(token)
    for sent in mail.outbox:
        if sent.to == [request.email]:
            tokens += re.findall(r"/download/([A-Za-z0-9_-]+)/", sent.body)
    return tokens


def released(**kwargs) -> tuple[Request, str]:
    """Return a completed request whose bundle was released, and the token of the emailed link."""
    request = request_file(**kwargs)
    bundle_release(bundle=bundle_built(request), actor=Actor.system())
    request.refresh_from_db()
    return request, emailed_tokens(request)[-1]


def zip_read(content: bytes) -> tuple[zipfile.ZipFile, dict]:
    """Open a downloaded bundle; return it with its manifest.json."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    manifest_path = next(name for name in archive.namelist() if name.endswith("/manifest.json"))
    return archive, json.loads(archive.read(manifest_path))
