"""The Art. 15 report names the authority of the law the request is answered under."""

import pytest

from dsr.audit import Actor
from dsr.models import Request, Status
from dsr.workflow import request_submit
from tests.exports.helpers import bundle_read, pdf_text
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "named", "not_named"),
    [("se", "Integritetsskyddsmyndigheten", "Datatilsynet"), ("dk", "Datatilsynet", "Integritetsskyddsmyndigheten")],
)
def test_the_access_report_names_the_authority_of_the_requests_law(company, run, staff, code, named, not_named):
    result = run(
        request_submit,
        right="access",
        email="nobody-here@example.se",
        actor=Actor.integration("shop"),
        language="en",
        jurisdiction=code,
        pre_verified=True,
    )
    request = Request.objects.get(pk=result.request.pk)
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    opened = bundle_read(request.bundles.get())
    for text in (pdf_text(opened.files["report.pdf"]), opened.files["index.html"].decode()):
        assert named in text
        assert not_named not in text
