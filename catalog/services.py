"""Writes on the catalogue's releases (CC-2): a release file's size and SHA-256, and publishing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core.locking import locked_in_pk_order

from .models import Release, ReleaseFile

CHUNK_SIZE = 1024 * 1024


def file_digest(upload: File) -> tuple[int, str]:
    """The size in bytes and the SHA-256 (hex) of ``upload``, read in chunks of ``CHUNK_SIZE`` (a file of
    gigabytes never sits in memory); the file is rewound for whoever stores it next."""
    digest = hashlib.sha256()
    size = 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    for chunk in upload.chunks(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    if hasattr(upload, "seek"):
        upload.seek(0)
    return size, digest.hexdigest()


def release_file_save(*, release_file: ReleaseFile, upload: File | None = None) -> ReleaseFile:
    """Store ``release_file`` with ``upload`` (a new file, or None to keep the stored one): its size and
    SHA-256 computed from the bytes stored, its name taken from the file when left empty."""
    with transaction.atomic():
        if upload is not None:
            release_file.size, release_file.sha256 = file_digest(upload)
            base = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
            if not release_file.name:
                release_file.name = base[:200]
            release_file.file.save(base or "file", upload, save=False)
        elif not release_file.name and release_file.file:
            release_file.name = str(release_file.file.name).rsplit("/", 1)[-1][:200]
        release_file.save()
    return release_file


def release_file_add(*, release: Release, upload: File, name: str = "") -> ReleaseFile:
    """A new file of ``release`` (seed data, commands)."""
    return release_file_save(release_file=ReleaseFile(release=release, name=name.strip()), upload=upload)


def releases_publish(*, release_ids: Iterable[int], actor: Any) -> list[Release]:
    """Publish the releases not yet published (customers entitled to the product see them from now on);
    returns those it published. Publishing twice changes nothing the second time."""
    with transaction.atomic():
        releases = locked_in_pk_order(Release.objects.all(), release_ids, published=False)
        now = timezone.now()
        for release in releases:
            release.published, release.published_at = True, now
            release.published_by_id = getattr(actor, "pk", None)
            release.save(update_fields=["published", "published_at", "published_by"])
    return releases
