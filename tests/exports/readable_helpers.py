"""Build a person's access bundle and open it, for the tests of what a lay reader gets."""

from html.parser import HTMLParser

from dsr.audit import Actor
from dsr.models import Request
from dsr.workflow import request_submit
from tests.exports.helpers import Opened, bundle_read
from tests.rights.conftest import PERSON
from tests.rights.helpers import tasks_finish

HOSTILE = "<script>document.title='pwned'</script>; \"quoted\", and more"


def access_opened(run, staff, *, language: str) -> tuple[Request, Opened]:
    """File a verified access request for PERSON in ``language``, finish its tasks, return it and its open bundle."""
    result = run(
        request_submit,
        right="access",
        email=PERSON,
        actor=Actor.integration("shop"),
        language=language,
        pre_verified=True,
    )
    request = Request.objects.get(pk=result.request.pk)
    tasks_finish(request, staff, run)
    return request, bundle_read(request.bundles.get())


class _DataTables(HTMLParser):
    """Collect index.html's data tables: each h4's title, its column headings and its rows, as text."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._title: str | None = None
        self._text: list[str] | None = None
        self._row: list[str] | None = None
        self._in_title = False
        self._in_data = False

    def handle_starttag(self, tag, attrs):
        if tag == "h4":
            self._in_title, self._title = True, ""
        elif tag == "table" and ("class", "data") in attrs:
            self._in_data = True
            self.tables[self._title] = {"headings": [], "rows": []}
        elif self._in_data and tag == "tr":
            self._row = []
        elif self._in_data and tag in ("th", "td"):
            self._text = []

    def handle_endtag(self, tag):
        if tag == "h4":
            self._in_title = False
            self._title = self._title.split("·")[0].strip()
        elif tag == "table":
            self._in_data = False
        elif self._in_data and tag in ("th", "td"):
            cell = "".join(self._text)
            table = self.tables[self._title]
            if tag == "th":
                table["headings"].append(cell)
            else:
                self._row.append(cell)
            self._text = None
        elif self._in_data and tag == "tr" and self._row:
            self.tables[self._title]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_title:
            self._title += data
        elif self._text is not None:
            self._text.append(data)


def data_tables(index: str) -> dict[str, dict]:
    """Return index.html's data tables by title: {"headings": [...], "rows": [[...], ...]} (text as shown)."""
    parser = _DataTables()
    parser.feed(index)
    return parser.tables
