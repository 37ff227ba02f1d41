"""A real Celery worker answers an access request with a sealed bundle that downloads intact.

The same company as the engine's e2e tests. The worker collects, stages the
tables in bundle storage, builds and seals the ZIP, and sends the completion
email whose link this test follows through the download service.
"""

import io
import zipfile

import pytest

from dsr.audit import Actor
from dsr.exports.delivery import bundle_download, link_by_token
from dsr.models import Status
from tests.e2e.test_worker_jobs import _file, _reconcile_until, _status, _tasks_finish, company, engine_env, worker  # noqa: F401
from tests.exports.helpers import bundle_read
from tests.rights.conftest import PERSON
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401

pytestmark = pytest.mark.e2e


def test_the_worker_builds_the_bundle_and_the_emailed_link_downloads_it(worker, company, wait_until, _bundle_storage):  # noqa: PT019
    request = _file("access")
    _tasks_finish(request, wait_until)
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)

    bundle = request.bundles.get()
    opened = bundle_read(bundle)
    assert len(opened.csv("data/chinook/Invoice.csv")) == 7
    assert "report.pdf" in opened.files
    # Staged tables are gone from the storage the worker and this process share.
    wait_until(
        lambda: (
            [p.relative_to(_bundle_storage).parts[0] for p in _bundle_storage.rglob("*") if p.is_file()] == ["bundles"]
        ),
        timeout=30,
        what="the staged tables swept",
    )
    wait_until(
        lambda: any(
            m["To"] == PERSON and "/download/" in m.get_body(("plain",)).get_content() for m in worker.outbox()
        ),
        timeout=30,
        what="the completion email with its link",
    )
    message = next(
        m for m in worker.outbox() if m["To"] == PERSON and "/download/" in m.get_body(("plain",)).get_content()
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    token = next(word for word in text.split() if "/download/" in word).rstrip("/").rsplit("/", 1)[-1]
    download = bundle_download(link=link_by_token(token), actor=Actor.subject())
    with zipfile.ZipFile(io.BytesIO(b"".join(download.chunks))) as archive:
        assert archive.testzip() is None
        assert f"{request.reference}/manifest.json" in archive.namelist()
    assert _status(request) == Status.COMPLETED
