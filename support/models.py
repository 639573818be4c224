"""The support desk's records (SUP-1..9, SVC-6).

A ``SupportRequest`` belongs to one organisation (``objects.for_org``), names the licence that entitles it
(SUP-1..4) and the host it is bound to (SUP-5, ``EntitlementBinding``), and carries the first-answer clock
(SUP-8): the columns below say where the clock stands, and every move of it is a ``SupportEvent`` so that a
due time can be explained in words. Messages are the conversation (public replies, internal notes that the
customer never sees, the customer's messages, the automatic acknowledgement); attachments are files in
Django's storage, served only through a view that checks who asks.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organisation
from core.models import Event, SendOnceMail
from core.sequences import YearlySequence


class RequestNumberSequence(YearlySequence):
    """The last request number given in a year (``SUP-<year>-<n>``, SUP-7): gapless, one after another."""


class Kind(models.TextChoices):
    SUPPORT = "support", _("Support")
    PRE_SALES = "pre_sales", _("Pre-sales question")
    ORDERING = "ordering", _("Ordering question")
    ACTIVATION = "activation", _("Activation")
    # VL-10: resellers' ordering questions on volume licences, routed to the licensing specialists (sup15b).
    VOLUME_ORDERING = "volume_ordering", _("Ordering question on volume licences")


class Team(models.TextChoices):
    """Who handles a request, set by the service from its kind (VL-10): each is a staff ``Group``."""

    SUPPORT_AGENTS = "support_agents", _("Support agents")
    LICENSING_SPECIALISTS = "licensing_specialists", _("Licensing specialists")


# The staff group behind each team (made by migration support 0003).
TEAM_GROUPS = {Team.SUPPORT_AGENTS: "Support agents", Team.LICENSING_SPECIALISTS: "Licensing specialists"}


def team_for(kind: str) -> str:
    """VL-10: ordering questions on volume licences go to the licensing specialists, the rest to support."""
    return Team.LICENSING_SPECIALISTS if kind == Kind.VOLUME_ORDERING else Team.SUPPORT_AGENTS


class Channel(models.TextChoices):
    MODULE = "module", _("Help module")
    WEB_FORM = "web_form", _("Web form")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


# SUP-6/SUP-7: the order in which channels are handled, the help module first, e-mail last (lower first).
CHANNEL_RANK = {Channel.MODULE: 0, Channel.PHONE: 1, Channel.WEB_FORM: 2, Channel.EMAIL: 3}


class Category(models.TextChoices):
    """SUP-9: what support covers (the first four) and what it does not."""

    INSTALLATION = "installation", _("Installation help")
    TECHNICAL_ADVICE = "technical_advice", _("Technical advice")
    UPDATES = "updates", _("Updates and patches")
    RUNNING = "running", _("Advice on running the software")
    CUSTOM_MODIFICATIONS = "custom_modifications", _("Custom modifications")
    OWN_CHANGES_REPAIR = "own_changes_repair", _("Repairs after your own changes")
    FAILED_UPDATE_MALWARE = "failed_update_malware", _("A failed update or malware")
    TEMPLATE_CHANGES = "template_changes", _("Template changes")
    REPEAT_INSTALLATION = "repeat_installation", _("Repeat installation")
    INSTALLING_UPDATES = "installing_updates", _("Installing updates for you")
    IMPORT_FILES = "import_files", _("Checking import files")
    SERVER_CONFIGURATION = "server_configuration", _("Server configuration")


COVERED_CATEGORIES = frozenset(
    {Category.INSTALLATION, Category.TECHNICAL_ADVICE, Category.UPDATES, Category.RUNNING}
)


class SupportRequestQuerySet(models.QuerySet["SupportRequest"]):
    def for_org(self, organisation: Any) -> SupportRequestQuerySet:
        return self.filter(organisation=organisation)

    def clocks_to_check(self, now: Any) -> SupportRequestQuerySet:
        """Running clocks past their warning or their due time and not yet flagged for it (SUP-8)."""
        return self.filter(sla_state=SupportRequest.Sla.RUNNING).filter(
            models.Q(sla_warned=False, warn_at__lte=now) | models.Q(sla_breached=False, due_at__lte=now)
        )


class SupportRequest(SendOnceMail):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", pgettext_lazy("request status", "Open")
        WAITING = "waiting", _("Waiting for you")
        ANSWERED = "answered", pgettext_lazy("request status", "Answered")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Sla(models.TextChoices):
        NONE = "none", _("No guaranteed time")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        ANSWERED = "answered", pgettext_lazy("first answer given, in the due-time column", "Answered")

    class NotCovered(models.TextChoices):
        """Why a request is not covered by support (SUP-9); empty when it is."""

        CATEGORY = "category", _("This category is not covered by support")
        STANDARD_EDITION = "standard_edition", _("Installation help is not part of the STANDARD edition")
        REPEAT_INSTALLATION = "repeat_installation", _("Installation help was already given once")

    number = models.CharField(_("number"), max_length=30, unique=True)
    # Indexed by ``supportrequest_org_recent_idx``, which starts with it.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="support_requests",
        verbose_name=_("organisation"),
        db_index=False,
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_requests",
        verbose_name=_("requester"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SUPPORT)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.MODULE)
    channel_rank = models.PositiveSmallIntegerField(_("channel rank"), default=0, editable=False)
    licence = models.ForeignKey(
        "centre.Licence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_requests",
        verbose_name=_("licence"),
    )
    url = models.CharField(_("address (URL)"), max_length=500, blank=True)
    host = models.CharField(_("host"), max_length=255, blank=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    covered = models.BooleanField(_("covered by support"), default=True)
    not_covered = models.CharField(
        _("why not covered"), max_length=30, choices=NotCovered.choices, blank=True
    )
    subject = models.CharField(_("subject"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    created_at = models.DateTimeField(_("arrived at"), default=timezone.now)
    # The first-answer clock (SUP-8): working seconds used before the running stretch began, when it began,
    # and, while it runs, when the answer is due and when the queue warns.
    sla_state = models.CharField(_("clock"), max_length=20, choices=Sla.choices, default=Sla.NONE)
    sla_used_seconds = models.PositiveIntegerField(default=0, editable=False)
    sla_running_since = models.DateTimeField(null=True, blank=True, editable=False)
    due_at = models.DateTimeField(_("first answer due"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_warned = models.BooleanField(_("warned"), default=False)
    sla_breached = models.BooleanField(_("breached"), default=False)
    first_answered_at = models.DateTimeField(_("first answered at"), null=True, blank=True)
    # The confirmation mail with the number (SUP-7), sent once (``core.mail.send_once``).
    mail_sent_at = models.DateTimeField(_("confirmation mailed at"), null=True, blank=True)
    # A web-form request's confirmed address (no requester): its mails go there (SUP-6; sup15b).
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    # A reseller's or an end customer's request names one of their orders (the order stands in for the
    # support number of an end customer's key); the team is set from the kind (VL-10; sup15b).
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_requests",
        verbose_name=_("order"),
    )
    team = models.CharField(_("team"), max_length=30, choices=Team.choices, default=Team.SUPPORT_AGENTS)

    objects = SupportRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        indexes = [
            # The help module's list: an organisation's requests, newest first (keyset).
            models.Index(fields=["organisation", "-created_at", "-id"], name="supportrequest_org_recent_idx"),
            # The clock check: running clocks by their warning and due times.
            models.Index(
                fields=["due_at"], name="supportrequest_due_idx", condition=models.Q(sla_state="running")
            ),
            models.Index(
                fields=["warn_at"], name="supportrequest_warn_idx", condition=models.Q(sla_state="running")
            ),
            # The admin's filters (the triage queue of SUP-12 will refine them).
            models.Index(fields=["status", "-priority"], name="supportrequest_status_idx"),
            models.Index(fields=["priority"], name="supportrequest_priority_idx"),
            models.Index(fields=["channel"], name="supportrequest_channel_idx"),
            models.Index(fields=["category"], name="supportrequest_category_idx"),
            models.Index(fields=["sla_state"], name="supportrequest_sla_idx"),
            # Installation help once per entitlement (SUP-9), and a licence's requests.
            models.Index(fields=["licence", "category"], name="supportrequest_licence_cat_idx"),
            # Confirmation mails a lost message left unsent.
            models.Index(
                fields=["created_at"],
                name="supportrequest_unmailed_idx",
                condition=models.Q(mail_sent_at=None),
            ),
            # An end customer's own requests, newest first (keyset; sup15b), and the queue's team filter.
            models.Index(fields=["requester", "-created_at", "-id"], name="supportrequest_req_recent_idx"),
            models.Index(fields=["team", "status"], name="supportrequest_team_idx"),
            # The triage queue (SUP-12): its default order, the kinds a staff group sees, the SLA flags.
            models.Index(fields=["-priority", "due_at", "-id"], name="supportrequest_triage_idx"),
            models.Index(fields=["kind", "-priority", "due_at"], name="supportrequest_kind_idx"),
            models.Index(
                fields=["due_at"],
                name="supportrequest_breached_idx",
                condition=models.Q(sla_breached=True),
            ),
            models.Index(
                fields=["due_at"],
                name="supportrequest_due_soon_idx",
                condition=models.Q(sla_state="running", sla_warned=True, sla_breached=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Message(models.Model):
    class Kind(models.TextChoices):
        PUBLIC_REPLY = "public_reply", _("Reply from support")
        INTERNAL_NOTE = "internal_note", _("Internal note")
        CUSTOMER = "customer", _("Message from the customer")
        ACKNOWLEDGEMENT = "acknowledgement", _("Automatic acknowledgement")

    PUBLIC_KINDS = (Kind.PUBLIC_REPLY, Kind.CUSTOMER, Kind.ACKNOWLEDGEMENT)

    # Indexed by ``supportmessage_request_at_idx``, which starts with it.
    request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Plain text: shown escaped, never as HTML.
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"], name="supportmessage_request_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.request_id}"

    @property
    def is_public(self) -> bool:
        return self.kind in self.PUBLIC_KINDS


def attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under a random name (the name typed by the customer is kept in ``name`` only)."""
    return f"support/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file sent with a request or a message. Uploaded before the request exists it is *pending*: bound to
    the person and organisation only, so a refused form can show it again (ALL-2) and the request takes it
    when it is filed."""

    # Indexed by ``supportattachment_org_idx``, which starts with it.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organisation", "uploaded_by"], name="supportattachment_org_idx"),
            models.Index(
                fields=["created_at"], name="supportattachment_pending_idx", condition=models.Q(request=None)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SupportEvent(Event):
    """What happened to a request (ALL-3): status moves and every move of the clock (SUP-8), each with its
    moment, so that a due time can be explained."""

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        STATUS = "status", _("Status changed")
        CLOCK_STARTED = "clock_started", _("Clock started")
        CLOCK_PAUSED = "clock_paused", _("Clock paused")
        CLOCK_RESUMED = "clock_resumed", _("Clock resumed")
        CLOCK_ANSWERED = "clock_answered", _("First answer given")
        # xgettext:no-python-format
        CLOCK_WARNED = "clock_warned", _("80 % of the time used")
        CLOCK_BREACHED = "clock_breached", _("Time exceeded")
        CLOCK_LEFT = "clock_left", _("Not covered: no guaranteed time")
        NO_CLOCK = "no_clock", _("No guaranteed time")
        PRIORITY = "priority", _("Priority changed")
        ASSIGNED = "assigned", _("Assigned")
        # Added for phone intake (SUP-6) and credentials (SUP-10).
        PHONE_CALL = "phone_call", _("Phone call recorded by staff")
        CREDENTIAL_ADDED = "credential_added", _("Credentials added")
        CREDENTIAL_REVEALED = "credential_revealed", _("Credentials revealed")
        CREDENTIAL_DESTROYED = "credential_destroyed", _("Credentials destroyed")

    CLOCK_KINDS = (
        Kind.CLOCK_STARTED,
        Kind.CLOCK_PAUSED,
        Kind.CLOCK_RESUMED,
        Kind.CLOCK_ANSWERED,
        Kind.CLOCK_WARNED,
        Kind.CLOCK_BREACHED,
        Kind.CLOCK_LEFT,
        Kind.NO_CLOCK,
    )

    # Indexed by ``supportevent_request_at_idx``, which starts with it.
    request = models.ForeignKey(
        SupportRequest, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("support event")
        verbose_name_plural = _("support events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="supportevent_request_at_idx")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class EntitlementBinding(models.Model):
    """SUP-5: one entitlement (licence), one host. Made by the first signed-in request; staff may move it
    (a customer moved its shop), each move a ``BindingEvent``."""

    licence = models.OneToOneField(
        "centre.Licence", on_delete=models.PROTECT, related_name="support_binding", verbose_name=_("licence")
    )
    host = models.CharField(_("host"), max_length=255)
    bound_at = models.DateTimeField(_("bound at"), default=timezone.now)
    bound_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("entitlement binding")
        verbose_name_plural = _("entitlement bindings")

    def __str__(self) -> str:
        return f"{self.licence_id} → {self.host}"


class BindingEvent(Event):
    class Kind(models.TextChoices):
        BOUND = "bound", _("Bound by the first request")
        REBOUND = "rebound", _("Moved by staff")

    # Indexed by ``bindingevent_binding_at_idx``, which starts with it.
    binding = models.ForeignKey(
        EntitlementBinding, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("binding event")
        verbose_name_plural = _("binding events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["binding", "at"], name="bindingevent_binding_at_idx")]

    def __str__(self) -> str:
        return f"{self.binding_id} {self.kind}"


class ClosedDay(models.Model):
    """A day the support desk is closed besides weekends and public holidays (SUP-8): the clock skips it."""

    day = models.DateField(_("day"), unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"


class Escalation(SendOnceMail):
    """A breached clock's escalation mail to ``SUPPORT_ESCALATION_EMAILS`` (SUP-8): one per request, sent
    once (``core.mail.send_once``)."""

    request = models.OneToOneField(SupportRequest, on_delete=models.CASCADE, related_name="escalation")
    created_at = models.DateTimeField(default=timezone.now)
    mail_sent_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"{self.request_id}"


# --- The public web form (SUP-6, SUP-7, SVC-6; sup15b) ---------------------------------------------------


class HeldWebRequest(SendOnceMail):
    """A request typed into the public web form (``/help/``), held until its address is confirmed from a
    mail: not in the queue, no number (SUP-7). Confirmed, it becomes a ``SupportRequest`` (or is refused
    with the reason); unconfirmed, it lapses after ``SUPPORT_WEB_FORM_HOLD_DAYS``. The mail with the
    confirmation link is sent once (``core.mail.send_once``)."""

    class State(models.TextChoices):
        HELD = "held", _("Waiting for the address to be confirmed")
        FILED = "filed", _("Filed")
        REFUSED = "refused", _("Refused")

    email = models.EmailField(_("e-mail"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SUPPORT)
    support_number = models.CharField(_("support number"), max_length=40, blank=True)
    url = models.CharField(_("address (URL)"), max_length=500, blank=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.HELD)
    refusal = models.CharField(_("why refused"), max_length=500, blank=True)
    request = models.OneToOneField(
        SupportRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="held_web_request"
    )
    created_at = models.DateTimeField(_("typed at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("held web-form request")
        verbose_name_plural = _("held web-form requests")
        indexes = [
            # The lapse sweep: held requests by age.
            models.Index(
                fields=["created_at"], name="heldwebrequest_held_idx", condition=models.Q(state="held")
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.state}"


class ReplyMail(SendOnceMail):
    """A staff public reply mailed to the customer (SUP-12), once (``core.mail.send_once``). Internal
    notes never get one."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="reply_mail")
    created_at = models.DateTimeField(default=timezone.now)
    mail_sent_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reply mail")
        verbose_name_plural = _("reply mails")
        indexes = [
            models.Index(
                fields=["created_at"], name="replymail_unsent_idx", condition=models.Q(mail_sent_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id}"


class RequestCredential(models.Model):
    """Access the customer gives support with a request (SUP-10): an admin panel's or an FTP account's. The
    secret is sealed by the vault (a registered field: master-key rotation re-wraps it, LOCK-3), revealed
    only to the staff member assigned (each reveal a ``SupportEvent``), and destroyed — ciphertext wiped,
    ``destroyed_at`` set — when the request closes."""

    SEAL_KIND = "supportcredential"

    class Kind(models.TextChoices):
        ADMIN_PANEL = "admin_panel", _("Admin panel")
        FTP = "ftp", _("FTP")
        OTHER = "other", _("Other")

    # Indexed by ``supportcredential_request_idx``, which starts with it.
    request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, related_name="credentials", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.ADMIN_PANEL)
    host = models.CharField(_("host or URL"), max_length=500)
    username = models.CharField(_("user name"), max_length=200, blank=True)
    secret_ciphertext = models.BinaryField(editable=False, default=b"")
    secret_wrapped_key = models.BinaryField(editable=False, default=b"")
    secret_master_key_id = models.CharField(max_length=16, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now)
    destroyed_at = models.DateTimeField(_("destroyed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("request credential")
        verbose_name_plural = _("request credentials")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at"], name="supportcredential_request_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.request_id}"
