"""`dsr_verify_bundles`: intact bundles pass; a changed file, or a manifest that lies, is named."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dsr.exports.verify import bundle_verify
from dsr.storage import bundle_storage
from dsr.storage.sealing import SealedWriter
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def bundle(company, file, run, staff):
    request = file("access")
    tasks_finish(request, staff, run)
    return request.bundles.get()


def test_an_intact_bundle_passes(bundle, capsys):
    assert bundle_verify(bundle).ok
    call_command("dsr_verify_bundles")
    assert "Bundles intact: 1 verified." in capsys.readouterr().out


def test_a_changed_stored_file_fails(bundle):
    path = Path(bundle_storage().path(bundle.storage_name))
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="1 of 1 bundles failed"):
        call_command("dsr_verify_bundles")
    assert bundle_verify(bundle).problems == ["the stored file does not match the checksum recorded when it was built"]


def test_a_manifest_that_does_not_match_its_files_is_named(bundle):
    # Someone holding the key re-seals a ZIP whose report was swapped but whose manifest was not.
    root = bundle.request.reference
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr(f"{root}/report.pdf", b"%PDF-1.7 not the report")
        archive.writestr(f"{root}/extra.txt", b"added")
        archive.writestr(f"{root}/manifest.json", json.dumps({"files": bundle.manifest}))
    sealed = io.BytesIO()
    writer = SealedWriter(sealed)
    writer.write(plain.getvalue())
    writer.close()
    Path(bundle_storage().path(bundle.storage_name)).write_bytes(sealed.getvalue())
    bundle.sha256 = hashlib.sha256(sealed.getvalue()).hexdigest()
    bundle.size = len(sealed.getvalue())
    bundle.save(update_fields=["sha256", "size"])

    problems = bundle_verify(bundle).problems
    assert "report.pdf does not match its SHA-256 in the manifest" in problems
    assert "extra.txt is in the ZIP but not in the manifest" in problems
    assert "index.html is in the manifest but not in the ZIP" in problems


def _swap_in(bundle, other) -> None:
    """Put ``other``'s stored file and its row's record of it in place of ``bundle``'s, as a storage operator could."""
    Path(bundle_storage().path(bundle.storage_name)).write_bytes(
        Path(bundle_storage().path(other.storage_name)).read_bytes()
    )
    for name in ("sha256", "size", "plain_size", "manifest", "records"):
        setattr(bundle, name, getattr(other, name))
    bundle.save(update_fields=["sha256", "size", "plain_size", "manifest", "records"])


def test_another_requests_bundle_swapped_in_with_its_row_is_named(bundle, company, file, run, staff, capsys):
    other_request = file("access", "someone.else@example.dk")
    tasks_finish(other_request, staff, run)
    other = other_request.bundles.get()
    _swap_in(bundle, other)

    with pytest.raises(CommandError, match="1 of 2 bundles failed"):
        call_command("dsr_verify_bundles")
    expected = f"the ZIP was built for another request, not {bundle.request.reference}"
    assert bundle_verify(bundle).problems == [expected]
    assert f"bundle {bundle.pk}: {expected}" in capsys.readouterr().err
    assert bundle_verify(other).ok
