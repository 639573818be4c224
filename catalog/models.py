"""The distributor's catalogue (ESD-1)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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
