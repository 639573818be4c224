"""The distributor's catalogue (ESD-1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _


class ProductQuerySet(models.QuerySet["Product"]):
    def esd_orderable(self) -> ProductQuerySet:
        """What a reseller may order as ESD: ESD-eligible, never a server product, still sold (ESD-1)."""
        return self.filter(esd_eligible=True, is_server=False, active=True)


class Product(models.Model):
    class Segment(models.TextChoices):
        COMMERCIAL = "commercial", _("Commercial")
        EDU = "edu", _("Education")
        GOV = "gov", _("Government")

    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    vendor = models.CharField(_("vendor"), max_length=100)
    family = models.CharField(_("family"), max_length=100, blank=True)
    edition = models.CharField(_("edition"), max_length=100, blank=True)
    platform = models.CharField(_("platform"), max_length=50, blank=True)
    esd_eligible = models.BooleanField(_("ESD-eligible"), default=False)
    is_server = models.BooleanField(_("server product"), default=False)
    segment = models.CharField(
        _("segment"), max_length=20, choices=Segment.choices, default=Segment.COMMERCIAL
    )
    is_filler = models.BooleanField(_("filler licence"), default=False)
    is_subscription = models.BooleanField(_("subscription"), default=False)
    support_months = models.PositiveSmallIntegerField(_("support months"), default=0)
    installer_url = models.URLField(_("installer download URL"), max_length=500, blank=True)
    active = models.BooleanField(_("active"), default=True)
    unit_price = models.DecimalField(_("unit price (net)"), max_digits=10, decimal_places=2, default=0)
    low_stock_threshold = models.PositiveIntegerField(
        _("low-stock warning below"),
        default=10,
        help_text=_("Staff are warned when fewer keys are available."),
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["vendor", "name"]
        constraints = [
            # ESD-1: a server product is never sold as ESD, whatever someone ticks in the admin.
            models.CheckConstraint(
                condition=~(Q(esd_eligible=True) & Q(is_server=True)), name="product_server_never_esd"
            ),
        ]
        indexes = [models.Index(fields=["esd_eligible", "is_server", "active"], name="product_esd_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


# --- releases and their files (CC-2, issue #14) ---------------------------------------------------------
class _ReleasesStorage(LazyObject):
    """The storage alias ``releases`` of ``settings.STORAGES`` (a volume by default, S3 or any Django
    storage when configured), looked up when first used and again after the setting changes."""

    def _setup(self) -> None:
        self._wrapped = storages[RELEASES_STORAGE_ALIAS]


RELEASES_STORAGE_ALIAS = "releases"
releases_storage = _ReleasesStorage()


def release_storage() -> Any:
    """The release files' storage (a callable, so migrations name it instead of a configured object)."""
    return releases_storage


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        releases_storage._wrapped = empty  # type: ignore[assignment]


def release_file_path(instance: ReleaseFile, filename: str) -> str:
    """``<sku>/<version>/<file name>``: one folder per release, names made safe by the storage."""
    release = instance.release
    return "/".join(
        [
            get_valid_filename(release.product.sku),
            get_valid_filename(release.version),
            get_valid_filename(filename.rsplit("/", 1)[-1]),
        ]
    )


class ReleaseQuerySet(models.QuerySet["Release"]):
    def published(self) -> ReleaseQuerySet:
        return self.filter(published=True)


class Release(models.Model):
    """A version of a product that customers holding a licence for it download (CC-2, SUP-11). Staff
    prepare it unpublished and publish it (``catalog.services.releases_publish``); only published ones are
    shown to customers."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="releases", verbose_name=_("product")
    )
    version = models.CharField(_("version"), max_length=60)
    release_date = models.DateField(_("release date"))
    notes = models.TextField(_("release notes"), blank=True)
    published = models.BooleanField(_("published"), default=False, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-release_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="release_version_once_per_product")
        ]
        indexes = [
            # The downloads page: the published releases of a customer's products, newest first.
            models.Index(
                fields=["product", "-release_date", "-id"],
                condition=Q(published=True),
                name="release_published_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} {self.version}"


class ReleaseFile(models.Model):
    """One file of a release, in the ``releases`` storage. Its size and SHA-256 are computed from the
    uploaded bytes by ``catalog.services.release_file_save`` (in chunks, never the whole file in memory)
    and shown to customers so they can check what they downloaded."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="files", verbose_name=_("release")
    )
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("Shown to customers; the file's name when empty.")
    )
    file = models.FileField(_("file"), upload_to=release_file_path, storage=release_storage, max_length=500)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("release file")
        verbose_name_plural = _("release files")
        ordering = ["release", "name", "id"]

    def __str__(self) -> str:
        return self.name or str(self.file.name)
