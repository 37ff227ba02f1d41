"""Open a request's bundle the way a person would: decrypted, as a ZIP, with its manifest checked."""

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from dsr.exports.delivery import bundle_open
from dsr.models import Bundle
from tests.pdf import pdf_words


@dataclass
class Opened:
    root: str
    names: list[str]
    files: dict[str, bytes]
    manifest: dict

    def json(self, path: str) -> dict:
        return json.loads(self.files[path])

    def csv(self, path: str) -> list[dict]:
        return list(csv.DictReader(io.StringIO(self.files[path].decode("utf-8-sig"))))


def bundle_read(bundle: Bundle) -> Opened:
    """Return every file of the bundle, after checking each against manifest.json."""
    with bundle_open(bundle) as plain, zipfile.ZipFile(plain) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        root = names[0].split("/", 1)[0]
        files = {name.split("/", 1)[1]: archive.read(name) for name in names}
    manifest = json.loads(files["manifest.json"])
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for path, entry in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == entry["sha256"], path
        assert len(files[path]) == entry["size"], path
    return Opened(root=root, names=names, files=files, manifest=manifest)


def pdf_text(data: bytes) -> str:
    """Return the text of a PDF, with whitespace collapsed."""
    return pdf_words(data)
