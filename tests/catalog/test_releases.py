"""Releases and their files (issue #14, CC-2): the size and SHA-256 computed from the bytes, in chunks;
files kept in the ``releases`` storage; publishing once; staff add files in the admin (size and digest
read-only there) and publish with the admin action."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from catalog.models import Release, ReleaseFile, releases_storage
from catalog.services import file_digest, release_file_add, releases_publish
from tests.factories import make_product, make_release


@pytest.mark.django_db
def test_cc2_sha256_and_size_are_computed_from_the_bytes_in_chunks(releases_dir: Path, monkeypatch: Any):
    """CC-2: a file of several chunks gets its exact size and SHA-256, and is stored under
    <sku>/<version>/ in the releases storage (the test's folder, not the worktree)."""
    monkeypatch.setattr("catalog.services.CHUNK_SIZE", 1000)  # many chunks for a small file
    content = os.urandom(4321)
    product = make_product("CS-PRO-T", name="Commerce Suite PRO")
    release = Release.objects.create(product=product, version="2.1", release_date=timezone.localdate())
    stored = release_file_add(release=release, upload=ContentFile(content, name="setup 2.1.zip"))
    assert stored.size == 4321
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.name == "setup 2.1.zip"
    assert stored.file.name.startswith("CS-PRO-T/2.1/")
    on_disk = releases_dir / stored.file.name
    assert on_disk.read_bytes() == content
    assert releases_storage.path(stored.file.name) == str(on_disk)


def test_file_digest_of_an_empty_file_is_the_empty_digest():
    assert file_digest(ContentFile(b"", name="x")) == (0, hashlib.sha256(b"").hexdigest())


@pytest.mark.django_db
def test_cc2_publishing_sets_the_moment_once(releases_dir: Path, staff: Any):
    release = make_release(make_product(), "1.0", published=False)
    assert not release.published and release.published_at is None
    assert [r.pk for r in releases_publish(release_ids=[release.pk], actor=staff)] == [release.pk]
    release.refresh_from_db()
    first = release.published_at
    assert release.published and first is not None and release.published_by == staff
    assert releases_publish(release_ids=[release.pk], actor=None) == []  # twice: nothing more
    release.refresh_from_db()
    assert release.published_at == first and release.published_by == staff
    assert list(Release.objects.published()) == [release]


@pytest.mark.django_db
def test_cc2_staff_upload_a_file_in_the_admin_and_its_digest_is_computed(
    releases_dir: Path, staff_client: Any
):
    """CC-2: the release admin's inline takes the upload; the size and SHA-256 are the service's, not typed
    (they are read-only in the form)."""
    product = make_product("CS-STD-T")
    content = os.urandom(2048)
    response = staff_client.post(
        reverse("admin:catalog_release_add"),
        {
            "product": product.pk,
            "version": "3.0",
            "release_date": timezone.localdate().isoformat(),
            "notes": "Faster checkout.",
            "files-TOTAL_FORMS": "1",
            "files-INITIAL_FORMS": "0",
            "files-MIN_NUM_FORMS": "0",
            "files-MAX_NUM_FORMS": "1000",
            "files-0-name": "",
            "files-0-file": SimpleUploadedFile("cs-std-3.0.tar.gz", content),
            "files-0-size": "1",
            "files-0-sha256": "0" * 64,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = ReleaseFile.objects.get(release__version="3.0")
    assert stored.size == 2048 and stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.name == "cs-std-3.0.tar.gz"
    assert not stored.release.published  # published only by the action
    page = staff_client.get(reverse("admin:catalog_release_change", args=[stored.release.pk]))
    assert stored.sha256 in page.content.decode()
    assert 'name="files-0-sha256"' not in page.content.decode()


@pytest.mark.django_db
def test_cc5_the_publish_action_publishes_and_answers_with_the_media_list(
    releases_dir: Path, staff_client: Any
):
    """CC-5: "Publish" publishes the chosen releases and sends staff to the CSV of the customers who want
    media by post for them (its content: tests/centre/test_downloads.py)."""
    release = make_release(make_product(), "4.0", published=False)
    response = staff_client.post(
        reverse("admin:catalog_release_changelist"),
        {"action": "publish", "_selected_action": [str(release.pk)]},
    )
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("admin:centre_deliverypreference_media_list") + f"?release={release.pk}"
    )
    release.refresh_from_db()
    assert release.published and release.published_at is not None
    csv_response = staff_client.get(response["Location"])
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
