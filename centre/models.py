"""The customer centre's own records. People and their rights live on ``accounts.Membership`` (the one
place tenancy reads); what happened to them is here (ALL-3), with the invitations mailed to them. A
customer's licences carry their installation numbers sealed by ``locker.vault`` (LOCK-1), and every
showing of those numbers is recorded (``LicenceRevealEvent``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from core.models import AppendOnlyModel, Event, SendOnceMail
from core.sequences import YearlySequence

from .countries import country_name
from .richtext import safe_html


class PeopleEvent(Event):
    """Append-only history of a customer's people (CC-6, ALL-3): who (``actor``) did what to whom
    (``person``) in which organisation, and the person's role, state and rights before and after
    (``data["before"]``, ``data["after"]``: ``{"role", "active", "rights"}``). It points at the person and
    the organisation, not the membership, so it outlives a removal."""

    class Kind(models.TextChoices):
        INVITED = "invited", _("Invited")
        RIGHTS_CHANGED = "rights_changed", _("Rights changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")
        PROMOTED = "promoted", _("Made an administrator")
        DEMOTED = "demoted", _("No longer an administrator")
        HANDED_OVER = "handed_over", _("Handed the administrator role over")
        REMOVED = "removed", _("Removed from the organisation")
        REGISTERED = "registered", _("Registered as the first administrator")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="people_events", verbose_name=_("organisation")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("people event")
        verbose_name_plural = _("people events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["organisation", "person", "at"], name="peopleevent_org_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class Invitation(SendOnceMail):
    """The mail that tells an invited person they were added to a customer (CC-6): a set-password link for
    an account without a password, a login link for one with. Sent once by ``centre.tasks``: a worker
    claims it (``mail_claimed_until``) and marks it sent; a second delivery of the task finds it sent."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("invited at"), default=timezone.now)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(
                fields=["created_at"], name="invitation_unsent_idx", condition=models.Q(mail_sent_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} to {self.organisation_id}"


class RegistrationQuerySet(models.QuerySet["Registration"]):
    def pending(self) -> RegistrationQuerySet:
        return self.filter(status=Registration.Status.PENDING)

    def lapsed(self, *, now: Any = None) -> RegistrationQuerySet:
        """Pending and older than ``CENTRE_REGISTRATION_DAYS`` (CC-8): no longer confirmable."""
        return self.pending().filter(created_at__lt=Registration.lapse_boundary(now))

    def confirmable(self, *, now: Any = None) -> RegistrationQuerySet:
        return self.pending().filter(created_at__gte=Registration.lapse_boundary(now))


class Registration(SendOnceMail):
    """A person's request to become the first administrator of a customer (CC-7), waiting for the
    confirmation from the mail it sent (CC-8). Stored only when the customer id and tax id matched a
    customer without an active administrator; the password is kept hashed (``make_password``), never in
    clear, and is forgotten once confirmed. Pending ones older than ``CENTRE_REGISTRATION_DAYS`` lapse and
    are deleted by ``centre.tasks.sweep_registrations``. The mail is sent once by ``centre.tasks`` (a
    worker claims it, as for invitations); the link is signed and names the row, so it dies with it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="registrations", verbose_name=_("customer")
    )
    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    password_hash = models.CharField(max_length=256, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        indexes = [
            models.Index(
                fields=["created_at"], name="registration_pending_idx", condition=models.Q(status="pending")
            )
        ]
        constraints = [
            # One pending registration per customer and address: registering again replaces it.
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=models.Q(status="pending"),
                name="registration_pending_once_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} for {self.organisation_id} ({self.status})"

    @staticmethod
    def lapse_boundary(now: Any = None) -> Any:
        """Registrations made before this moment have lapsed."""
        return (now or timezone.now()) - timedelta(days=settings.CENTRE_REGISTRATION_DAYS)


# --- licences (CC-1, CC-9, SUP-2) --------------------------------------------------------------------
class SupportNumberSequence(YearlySequence):
    """The last support number issued in a year; ``core.sequences.take_numbers`` keeps it unique and
    gapless."""


class LicenceQuerySet(models.QuerySet["Licence"]):
    def for_org(self, organisation: Any) -> LicenceQuerySet:
        return self.filter(customer=organisation)


class Licence(models.Model):
    """A licence a customer holds (CC-1): bought directly from the distributor or registered after a
    partner's sale (CC-10), with its support term (SUP-2): the product's support months counted from the
    purchase date, kept in ``support_ends_on`` (support is active before that day).

    The installation number is a licence secret (LOCK-1): only its seal is stored, in the three
    ``number_*`` columns registered with ``locker.vault`` from ``CentreConfig.ready``, and opened through
    the vault for people with the *licences* right. ``number_fingerprint`` is the vault's keyed hash of the
    normalised number: it finds a licence by its number, and refuses a second licence with the same one,
    without decrypting anything (as product keys do, LOCK-5). No part of the number is kept in clear."""

    class Source(models.TextChoices):
        DIRECT = "direct", _("Direct from the distributor")
        REGISTERED = "registered", _("Registered after a partner's sale")

    SEAL_KIND = "installationnumber"

    # Indexed by ``licence_customer_recent_idx``, which starts with it.
    customer = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="licences",
        verbose_name=_("customer"),
        db_index=False,
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="licences", verbose_name=_("product")
    )
    edition = models.CharField(_("edition"), max_length=100, blank=True)
    number_ciphertext = models.BinaryField(editable=False)
    number_wrapped_key = models.BinaryField(editable=False)
    number_master_key_id = models.CharField(max_length=16, editable=False)
    number_fingerprint = models.CharField(max_length=64, editable=False)
    purchase_date = models.DateField(_("purchase date"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.DIRECT)
    support_number = models.CharField(_("support number"), max_length=40, unique=True)
    support_ends_on = models.DateField(_("support ends on"))
    created_at = models.DateTimeField(_("booked at"), default=timezone.now, editable=False)
    # SUP-11: staff withdrew this licence's download access for a licence breach (set and cleared only by
    # ``centre.services.downloads``, recorded as a ``LicenceEvent``); the reason is shown to the customer.
    downloads_withdrawn_at = models.DateTimeField(
        _("downloads withdrawn at"), null=True, blank=True, editable=False
    )
    downloads_withdrawn_reason = models.TextField(
        _("why downloads were withdrawn"), blank=True, editable=False
    )

    objects = LicenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["-purchase_date", "-id"]
        indexes = [
            # The list's keyset order within a customer (newest purchase first).
            models.Index(fields=["customer", "-purchase_date", "-id"], name="licence_customer_recent_idx"),
            # Reminders before support ends, and staff's filter.
            models.Index(fields=["support_ends_on"], name="licence_support_ends_idx"),
            # The list's search by the start of a support number (``LIKE 'S-2026%'``; PostgreSQL's
            # operator class, ignored elsewhere).
            models.Index(
                fields=["customer", "support_number"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="licence_customer_support_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number_fingerprint"], name="licence_number_unique"),
            models.CheckConstraint(
                condition=models.Q(support_ends_on__gte=models.F("purchase_date")),
                name="licence_support_after_purchase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.support_number} ({self.product_id})"

    def support_active(self, today: date | None = None) -> bool:
        """Support is active before ``support_ends_on`` (SUP-2)."""
        return (today or timezone.localdate()) < self.support_ends_on


class LicenceEvent(Event):
    """What happened to a licence (ALL-3): booked by staff, changed, its installation number replaced. The
    data names the fields changed, never the number."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHANGED = "changed", _("Changed")
        NUMBER_REPLACED = "number_replaced", _("Installation number replaced")
        REGISTERED = "registered", _("Registered by the customer")
        DOWNLOADS_WITHDRAWN = "downloads_withdrawn", _("Download access withdrawn")
        DOWNLOADS_RESTORED = "downloads_restored", _("Download access restored")

    # Indexed by ``licenceevent_licence_at_idx``, which starts with it.
    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, related_name="events", verbose_name=_("licence"), db_index=False
    )

    class Meta:
        verbose_name = _("licence event")
        verbose_name_plural = _("licence events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["licence", "at"], name="licenceevent_licence_at_idx")]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class LicenceRevealEvent(Event):
    """One showing of installation numbers (CC-1, LOCK-4, ALL-3): a page of the licence list, or an
    export, with who (``actor``), when, from which address and which licences (``licences``, one
    ``RevealedLicence`` row each, written in one statement). Recorded in the request that shows them."""

    class Kind(models.TextChoices):
        PAGE = "page", _("Shown on the licence list")
        CSV = "csv", _("Exported as CSV")
        XLSX = "xlsx", _("Exported as XLSX")

    # Indexed by ``licencereveal_org_at_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"), db_index=False
    )
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)
    licences = models.ManyToManyField(Licence, through="RevealedLicence", related_name="+")

    class Meta:
        verbose_name = _("installation number showing")
        verbose_name_plural = _("installation number showings")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "at"], name="licencereveal_org_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_id} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class RevealedLicence(AppendOnlyModel):
    """One licence whose installation number a ``LicenceRevealEvent`` showed."""

    # Indexed by the unique constraint, which starts with it.
    event = models.ForeignKey(
        LicenceRevealEvent, on_delete=models.PROTECT, related_name="shown", db_index=False
    )
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="reveals")

    class Meta:
        verbose_name = _("licence shown")
        verbose_name_plural = _("licences shown")
        constraints = [
            models.UniqueConstraint(fields=["event", "licence"], name="revealedlicence_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.licence_id} in {self.event_id}"


# --- downloads and the delivery preference (CC-2, CC-5, SUP-11) ------------------------------------------
class DownloadEvent(Event):
    """One download of a release file (CC-2, ALL-3): who (``actor``), when, which file, for which
    organisation, from which address. Recorded by the access check before the file is handed over."""

    class Kind(models.TextChoices):
        DOWNLOADED = "downloaded", _("Downloaded")

    # Indexed by ``downloadevent_org_at_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"), db_index=False
    )
    release_file = models.ForeignKey(
        "catalog.ReleaseFile", on_delete=models.PROTECT, related_name="+", verbose_name=_("file")
    )
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("download")
        verbose_name_plural = _("downloads")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "at"], name="downloadevent_org_at_idx")]

    def __str__(self) -> str:
        return f"{self.release_file_id} by {self.actor_id} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class DeliveryPreferenceQuerySet(models.QuerySet["DeliveryPreference"]):
    def for_org(self, organisation: Any) -> DeliveryPreferenceQuerySet:
        return self.filter(organisation=organisation)


class DeliveryPreference(models.Model):
    """How new versions reach a customer (CC-5): downloads (the default, also when no row exists) or
    media by post to its delivery address. Changed only by ``centre.services.downloads``."""

    class Method(models.TextChoices):
        DOWNLOAD = "download", _("Download from the customer centre")
        MEDIA = "media", _("Media by post to our delivery address")

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="delivery_preference",
        verbose_name=_("customer"),
    )
    method = models.CharField(_("delivery"), max_length=20, choices=Method.choices, default=Method.DOWNLOAD)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    objects = DeliveryPreferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery preference")
        verbose_name_plural = _("delivery preferences")
        # The media list on publishing: the customers who want media.
        indexes = [
            models.Index(
                fields=["organisation"], condition=models.Q(method="media"), name="deliverypref_media_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.method}"


class DeliveryPreferenceEvent(Event):
    """A change of a customer's delivery preference (CC-5, ALL-3): who, when, ``data`` {"before", "after"}."""

    class Kind(models.TextChoices):
        CHANGED = "changed", _("Delivery preference changed")

    # Indexed by ``deliveryprefevent_org_at_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"), db_index=False
    )

    class Meta:
        verbose_name = _("delivery preference change")
        verbose_name_plural = _("delivery preference changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "at"], name="deliveryprefevent_org_at_idx")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


# --- addresses (CC-4, SVC-4) ------------------------------------------------------------------------
class AddressQuerySet(models.QuerySet["Address"]):
    def for_org(self, organisation: Any) -> AddressQuerySet:
        return self.filter(organisation=organisation)

    def current(self) -> AddressQuerySet:
        """Not removed (a removed site is kept for the history and for what may point at it)."""
        return self.filter(removed_at=None)


class Address(models.Model):
    """One of a customer's addresses (CC-4): its billing address, its delivery address (at most one of
    each, a database constraint) and any number of site addresses, one per place a product stands (SVC-4).
    A site is removed by marking it (``removed_at``), never deleted: its history stays and what refers to
    it (a service contract) keeps pointing at the place it named. Changed only through
    ``centre.services.addresses``, which records each change as an ``AddressEvent``."""

    class Kind(models.TextChoices):
        BILLING = "billing", _("Billing address")
        DELIVERY = "delivery", _("Delivery address")
        SITE = "site", _("Site")

    # Indexed by ``address_org_kind_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="addresses",
        verbose_name=_("customer"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    label = models.CharField(
        _("site name"), max_length=100, blank=True, help_text=_("How your colleagues know the site.")
    )
    company = models.CharField(_("company"), max_length=200)
    attention = models.CharField(_("for the attention of"), max_length=200, blank=True)
    street = models.CharField(_("street and number"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country_code = models.CharField(_("country"), max_length=2)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True, editable=False)

    objects = AddressQuerySet.as_manager()

    # What a change records before and after (AddressEvent.data); never a secret.
    TRACKED = ("label", "company", "attention", "street", "postcode", "city", "country_code", "phone")

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["kind", "label", "id"]
        indexes = [models.Index(fields=["organisation", "kind", "id"], name="address_org_kind_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=models.Q(kind__in=["billing", "delivery"], removed_at=None),
                name="address_one_billing_one_delivery",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["billing", "delivery", "site"]), name="address_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label or self.company}".strip()

    def state(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.TRACKED}

    @property
    def lines(self) -> list[str]:
        """The address as printed on an envelope, one line each, leaving out what is empty."""
        town = f"{self.postcode} {self.city}".strip()
        parts = [self.company, self.attention, self.street, town, country_name(self.country_code)]
        return [part for part in parts if part]


class AddressEvent(Event):
    """A change of a customer's address (CC-4, ALL-3): who (``actor``), when, and the tracked fields
    before and after (``data["before"]``, ``data["after"]``; ``None`` before a creation)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Added")
        CHANGED = "changed", _("Changed")
        REMOVED = "removed", _("Removed")

    # Indexed by ``addressevent_org_at_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"), db_index=False
    )
    address = models.ForeignKey(
        Address, on_delete=models.PROTECT, related_name="events", verbose_name=_("address")
    )

    class Meta:
        verbose_name = _("address change")
        verbose_name_plural = _("address changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "at", "id"], name="addressevent_org_at_idx")]

    def __str__(self) -> str:
        return f"{self.address_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


# --- news (CC-6 *news* right) ----------------------------------------------------------------------
def _holds_product(organisation: Any) -> models.Q:
    """General items, and those of a product the organisation holds a direct or registered licence for."""
    held = Licence.objects.for_org(organisation).values("product_id")
    return models.Q(product__isnull=True) | models.Q(product_id__in=held)


class NewsItemQuerySet(models.QuerySet["NewsItem"]):
    def published(self, *, now: Any = None) -> NewsItemQuerySet:
        return self.filter(published_at__lte=now or timezone.now())

    def for_org(self, organisation: Any) -> NewsItemQuerySet:
        """What a customer may read: published, and general or about a product it holds (CC-6)."""
        return self.published().filter(_holds_product(organisation))


class NewsItem(models.Model):
    """A news item staff publish for customers (CC-6 *news* right). Shown from ``published_at`` on (empty:
    a draft); with a product, only to customers holding a licence for it. The body may hold HTML: it is
    sanitised with nh3 whenever it is shown (``body_html``), so nothing staff paste runs in a page."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"),
        help_text=_(
            "Plain text (line breaks kept) or simple HTML; scripts, styles and event handlers are removed."
        ),
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
        help_text=_("Only customers holding a licence for this product see the item. Empty: everyone."),
    )
    published_at = models.DateTimeField(
        _("published at"),
        null=True,
        blank=True,
        help_text=_("Empty: a draft. In the future: shown from then on."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NewsItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("news item")
        verbose_name_plural = _("news")
        ordering = ["-published_at", "-id"]
        indexes = [
            # The list's keyset order (newest first), published items only.
            models.Index(
                fields=["-published_at", "-id"],
                name="newsitem_published_idx",
                condition=models.Q(published_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title

    def body_html(self) -> str:
        """The body as safe HTML: sanitised by nh3 (tags and attributes on its allow-list, links with
        ``rel="noopener noreferrer"``); a body without tags is plain text with its line breaks kept."""

        return safe_html(self.body)


# --- documents (CC-6 *documents* right) ----------------------------------------------------------------
class DocumentQuerySet(models.QuerySet["Document"]):
    def for_org(self, organisation: Any) -> DocumentQuerySet:
        """What a customer may download: published, and general or about a product it holds (CC-6)."""
        return self.filter(published=True).filter(_holds_product(organisation))


class Document(models.Model):
    """A document staff publish for customers (CC-6 *documents* right): a manual, a price list, a
    leaflet. The file is kept in Django's storage (a volume or S3) and reached only through the access
    check of ``centre.documents_views``; with a product, only customers holding a licence for it see it."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    file = models.FileField(_("file"), upload_to="centre/documents/%Y/%m/", max_length=300)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
        help_text=_("Only customers holding a licence for this product see the document. Empty: everyone."),
    )
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES, help_text=_("Empty: any.")
    )
    published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list's keyset order (newest first), published documents only.
            models.Index(
                fields=["-created_at", "-id"],
                name="document_published_idx",
                condition=models.Q(published=True),
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def filename(self) -> str:
        return (self.file.name or "").rsplit("/", 1)[-1]


class DocumentDownloadEvent(Event):
    """One download of a document (ALL-3): who (``actor``), for which customer, when, from which address
    and browser. Written before the file is sent."""

    class Kind(models.TextChoices):
        DOWNLOADED = "downloaded", _("Downloaded")

    # Indexed by ``documentdownload_doc_at_idx``, which starts with it.
    document = models.ForeignKey(
        Document,
        on_delete=models.PROTECT,
        related_name="downloads",
        verbose_name=_("document"),
        db_index=False,
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("document download")
        verbose_name_plural = _("document downloads")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["document", "at"], name="documentdownload_doc_at_idx")]

    def __str__(self) -> str:
        return f"{self.document_id} by {self.actor_id} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


# --- reminders before support ends (SUP-2, CC-1; issue #14) --------------------------------------------
class SupportReminder(SendOnceMail):
    """The one reminder of a licence's support term (SUP-2): made when the term comes within
    ``SUPPORT_REMINDER_DAYS`` of its end, mailed once to the customer's active administrators
    (``centre.services.reminders``, ``centre.mail.support_reminder_send``: claimed, sent, marked sent, as the
    invitations). One per licence and end date (a database constraint), so a run twice, or two at once,
    make one; a term extended later gets its own reminder. The record of the reminder on the licence
    (``licence.support_reminders``): when it was due, when and to how many it went, or why not."""

    licence = models.ForeignKey(
        Licence, on_delete=models.CASCADE, related_name="support_reminders", verbose_name=_("licence")
    )
    support_ends_on = models.DateField(_("support ends on"))
    created_at = models.DateTimeField(_("due since"), default=timezone.now)
    recipients = models.PositiveSmallIntegerField(_("administrators mailed"), default=0)

    class Meta:
        verbose_name = _("support reminder")
        verbose_name_plural = _("support reminders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "support_ends_on"], name="supportreminder_once_per_term"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="supportreminder_unsent_idx",
                condition=models.Q(mail_sent_at=None),
            )
        ]

    def __str__(self) -> str:
        return f"{self.licence_id} ends {self.support_ends_on}"


# --- imports and product registration (CC-9, CC-10, SUP-3) -------------------------------------------
class IssuedNumberQuerySet(models.QuerySet["IssuedNumber"]):
    def unregistered(self) -> IssuedNumberQuerySet:
        return self.filter(licence=None)


class IssuedNumber(models.Model):
    """An installation number the distributor issued with a product sold through a partner, waiting for the
    end customer to register it (CC-10). Imported by staff (``import_licences`` with an empty customer id,
    or ``source=partner``) with the product, the sale date (the purchase date support counts from, SUP-2)
    and, where the ERP knows it, the customer it names and a support number already issued.

    The number is a licence secret (LOCK-1): sealed by ``locker.vault`` onto the three ``number_*`` columns
    (kind ``issuednumber``, registered in ``CentreConfig.ready`` so a master-key rotation re-wraps it,
    LOCK-3) and found by ``number_fingerprint``, the same keyed hash a ``Licence`` keeps, so a number is
    matched against issued numbers and licences alike without decrypting anything. Once registered,
    ``licence`` points at the licence it became; the row stays as the record of the issue."""

    SEAL_KIND = "issuednumber"

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="issued_numbers", verbose_name=_("product")
    )
    number_ciphertext = models.BinaryField(editable=False)
    number_wrapped_key = models.BinaryField(editable=False)
    number_master_key_id = models.CharField(max_length=16, editable=False)
    number_fingerprint = models.CharField(max_length=64, editable=False)
    sale_date = models.DateField(_("sale date"))
    customer = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer named"),
        help_text=_("Only this customer may register the number, when set."),
    )
    support_number = models.CharField(_("support number"), max_length=40, blank=True)
    licence = models.OneToOneField(
        Licence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_number",
        verbose_name=_("registered as"),
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = IssuedNumberQuerySet.as_manager()

    class Meta:
        verbose_name = _("issued installation number")
        verbose_name_plural = _("issued installation numbers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer"], name="issuednumber_customer_idx"),
            models.Index(fields=["-created_at", "-id"], name="issuednumber_recent_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number_fingerprint"], name="issuednumber_number_unique"),
            models.UniqueConstraint(
                fields=["support_number"],
                condition=~models.Q(support_number=""),
                name="issuednumber_support_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} issued {self.sale_date}"


class RegistrationConflict(Event):
    """A registration refused because the number belongs to someone else (CC-10): registered to or booked
    for another customer, or issued naming another one. The person trying got the answer a never-issued
    number gets; staff see the conflict here. ``organisation`` is who tried, ``actor`` the person."""

    class Kind(models.TextChoices):
        REGISTERED_ELSEWHERE = "registered_elsewhere", _("Already registered to another customer")
        BOOKED_ELSEWHERE = "booked_elsewhere", _("On another customer's licence")
        NAMES_ANOTHER = "names_another", _("Issued for another customer")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer trying")
    )
    issued_number = models.ForeignKey(
        IssuedNumber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conflicts",
        verbose_name=_("issued number"),
    )
    licence = models.ForeignKey(
        Licence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("licence holding the number"),
    )

    class Meta:
        verbose_name = _("registration conflict")
        verbose_name_plural = _("registration conflicts")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at"], name="regconflict_at_idx")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class ImportJob(models.Model):
    """A customers or licences file uploaded in the admin and imported by a worker (``centre.tasks``)
    through the same service as ``import_customers`` / ``import_licences``. The file is kept sealed by the
    vault (a licences file holds installation numbers, LOCK-1) until the run ends, then destroyed; what
    stays is the outcome: the counts, and the errors by line number (never a line's content)."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        LICENCES = "licences", _("Licences and issued numbers")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    SEAL_KIND = "centreimport"
    ERRORS_KEPT = 1000

    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveIntegerField(_("lines checked"), default=0)
    progress_total = models.PositiveIntegerField(_("lines"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)  # [{"line": n, "message": "..."}]
    error_count = models.PositiveIntegerField(_("errors found"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    payload_ciphertext = models.BinaryField(editable=False, default=b"")
    payload_wrapped_key = models.BinaryField(editable=False, default=b"")
    payload_master_key_id = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        verbose_name = _("centre import")
        verbose_name_plural = _("centre imports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="importjob_recent_idx"),
            models.Index(fields=["status"], name="importjob_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0
