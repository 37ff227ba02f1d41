"""Bundles through S3 (django-storages), against moto's in-memory S3: the same sealed bytes, the same checks."""

import boto3
import pytest
from moto import mock_aws

from dsr.exports.delivery import bundle_download, bundles_purge_expired
from dsr.models import Status
from dsr.storage import bundle_storage
from tests.exports.helpers import bundle_read
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db
BUCKET = "dsr-bundles-test"


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    with mock_aws():
        boto3.client("s3", region_name="eu-north-1").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "bundles": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "region_name": "eu-north-1",
                    "location": "dsr",
                    "file_overwrite": False,
                },
            },
        }
        yield boto3.client("s3", region_name="eu-north-1")


def test_a_bundle_is_built_sealed_downloaded_and_purged_in_s3(s3, company, file, run, staff):
    from datetime import timedelta

    from dsr.audit import Actor

    request = file("access")
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    bundle = request.bundles.get()
    # Only the sealed bundle is left; the staged tables were swept.
    assert keys == [f"dsr/{bundle.storage_name}"]
    stored = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert stored[:4] == b"DSRS"
    assert len(stored) == bundle.size
    opened = bundle_read(bundle)
    assert "data/chinook/Invoice.csv" in opened.files

    download = bundle_download(link=bundle.links.get(), actor=Actor.subject())
    assert b"".join(download.chunks)[:2] == b"PK"

    assert bundles_purge_expired(now=bundle.expires_at + timedelta(seconds=1)) == 1
    assert not bundle_storage().exists(bundle.storage_name)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
