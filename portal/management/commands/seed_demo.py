"""Idempotent demo data: the catalogue with prices, the demo organisations (with billing addresses) and
users, keys in stock, and a few orders in every state a reseller meets (issue #13).

Run twice, it changes nothing the second time: each demo order is known by its reseller and reference
(``DEMO_ORDERS``) and made only when missing; stock is topped up to ``--stock`` available keys per product.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from reportlab.pdfgen import canvas

from accounts.models import Membership, Organisation, User
from catalog.models import Product, Release
from catalog.services import release_file_add, releases_publish
from centre.models import Address, Document, IssuedNumber, Licence, NewsItem
from centre.services.addresses import AddressIn, address_set, site_add
from centre.services.imports import licences_import
from centre.services.licences import licence_book
from locker.models import ProductKey
from locker.services import key_reveal, keys_import
from orders.mail import welcome_mail_failed, welcome_mails_send
from orders.models import Order, VendorRequest
from orders.services import (
    LineIn,
    customer_password_set,
    order_cancel,
    order_fulfil,
    order_keys_accessed,
    order_place,
    vendor_request_failed,
)
from support.models import TEAM_GROUPS, Kind, SupportRequest, Team
from support.services.intake import reseller_request_file
from support.services.requests import request_assign, request_file, request_move, request_staff_reply

DEMO_PRODUCTS: list[dict[str, Any]] = [
    {
        "sku": "W81",
        "unit_price": Decimal("89.00"),
        "name": "Windows 8.1",
        "vendor": "Microsoft",
        "family": "Windows",
        "edition": "Core",
        "platform": "Windows",
        "esd_eligible": True,
        "installer_url": "https://www.microsoft.com/software-download/windows8",
    },
    {
        "sku": "W81-PRO",
        "unit_price": Decimal("129.00"),
        "name": "Windows 8.1 Pro",
        "vendor": "Microsoft",
        "family": "Windows",
        "edition": "Pro",
        "platform": "Windows",
        "esd_eligible": True,
        "installer_url": "https://www.microsoft.com/software-download/windows8",
    },
    {
        "sku": "O2013-HB",
        "unit_price": Decimal("219.00"),
        "name": "Office Home and Business 2013",
        "vendor": "Microsoft",
        "family": "Office",
        "edition": "Home and Business",
        "platform": "Windows",
        "esd_eligible": True,
        "installer_url": "https://setup.office.com/",
    },
    {
        "sku": "O365-BUS",
        "unit_price": Decimal("99.00"),
        "name": "Office 365 Business",
        "vendor": "Microsoft",
        "family": "Office 365",
        "edition": "Business",
        "platform": "Windows/Mac",
        "esd_eligible": True,
        "is_subscription": True,
        "installer_url": "https://portal.office.com/",
    },
    {
        "sku": "O2011-MAC",
        "unit_price": Decimal("149.00"),
        "name": "Office 2011 for Mac",
        "vendor": "Microsoft",
        "family": "Office",
        "edition": "Home and Student",
        "platform": "Mac",
        "esd_eligible": True,
        "installer_url": "https://setup.office.com/",
    },
    {
        "sku": "WS2012-STD",
        "unit_price": Decimal("749.00"),
        "name": "Windows Server 2012 Standard",
        "vendor": "Microsoft",
        "family": "Windows Server",
        "edition": "Standard",
        "platform": "Windows Server",
        "esd_eligible": False,
        "is_server": True,
        "installer_url": "https://www.microsoft.com/evalcenter/",
    },
]

DEMO_STOCK = 25  # keys per ESD product kept in stock by the command

# The distributor's own software, sold as licences with support (CC-1, SUP-2): never ESD.
DEMO_PRODUCTS += [
    {
        "sku": "CS-STD",
        "unit_price": Decimal("490.00"),
        "name": "Commerce Suite",
        "vendor": "Demo Software",
        "family": "Commerce Suite",
        "edition": "STANDARD",
        "esd_eligible": False,
        "support_months": 3,
        "installer_url": "",
    },
    {
        "sku": "CS-PRO",
        "unit_price": Decimal("1290.00"),
        "name": "Commerce Suite",
        "vendor": "Demo Software",
        "family": "Commerce Suite",
        "edition": "PROFESSIONAL",
        "esd_eligible": False,
        "support_months": 6,
        "installer_url": "",
    },
]
# Demo Customer's licences: (SKU, support number, bought so many days ago). One in support, one whose
# support ended, one bought last week. Installation numbers are made at random on the first run.
DEMO_LICENCES = [
    ("CS-PRO", "S-DEMO-000001", 40),
    ("CS-STD", "S-DEMO-000002", 400),
    ("CS-STD", "S-DEMO-000003", 7),
]
# A published release of each Commerce Suite edition (CC-2): (SKU, version, released so many days ago, notes);
# its one small file is generated bytes (a README of the release), written on the first run.
DEMO_RELEASES = [
    ("CS-STD", "5.2.0", 14, "Faster checkout; Polish and Czech invoices."),
    ("CS-PRO", "5.2.0", 14, "Faster checkout; multi-warehouse stock; Polish and Czech invoices."),
]

# Billing addresses: the buyer on the demo invoices.
DEMO_ORGANISATIONS: list[dict[str, Any]] = [
    {
        "name": "Demo Distribution",
        "kind": Organisation.Kind.DISTRIBUTOR,
        "tax_id": "PL5260001246",
        "street": "ul. Przykładowa 1",
        "postcode": "00-001",
        "city": "Warszawa",
        "country": "Poland",
    },
    {
        "name": "Demo Reseller",
        "kind": Organisation.Kind.RESELLER,
        "tax_id": "PL7792433421",
        "street": "ul. Półwiejska 32",
        "postcode": "61-888",
        "city": "Poznań",
        "country": "Poland",
    },
    {
        "name": "Other Reseller",
        "kind": Organisation.Kind.RESELLER,
        "tax_id": "DE811569869",
        "street": "Friedrichstraße 68",
        "postcode": "10117",
        "city": "Berlin",
        "country": "Germany",
    },
]

# The demo customer of the customer centre (CC-6, CC-7): its id and tax id, as the distributor's invoices
# print them; an administrator and a colleague who may only download.
DEMO_CUSTOMER_ORG: dict[str, Any] = {
    "name": "Demo Customer",
    "kind": Organisation.Kind.CUSTOMER,
    "customer_id": "C-100234",
    "tax_id": "PL 526-025-09-95",
    "country_code": "PL",
    "street": "ul. Marszałkowska 10",
    "postcode": "00-590",
    "city": "Warszawa",
    "country": "Poland",
}
DEMO_CUSTOMER_PEOPLE = [
    ("customer@demo.test", Membership.Role.ADMIN, frozenset(Membership.Right.values)),
    ("colleague@demo.test", Membership.Role.MEMBER, frozenset({Membership.Right.DOWNLOADS.value})),
]

# The demo end customer who has set a password and opened a key: signs in to the Digital Locker.
DEMO_CUSTOMER = "ewa.zielinska@customer.test"


@dataclass(frozen=True)
class DemoOrder:
    """One demo order and the state it is brought to. ``short`` lines ask for more keys than the stock
    holds (``--stock`` + 15), so the order waits for stock."""

    reseller: str
    reference: str
    email: str
    lines: tuple[tuple[str, int], ...]
    outcome: str  # opened | sent | mail_failed | awaiting | cancelled
    short: bool = False


DEMO_ORDERS = [
    DemoOrder("Demo Reseller", "PO-2026-0141", DEMO_CUSTOMER, (("W81-PRO", 2), ("O2013-HB", 1)), "opened"),
    DemoOrder("Demo Reseller", "PO-2026-0142", "biuro@zielona-apteka.test", (("O365-BUS", 3),), "sent"),
    DemoOrder(
        "Demo Reseller", "PO-2026-0143", "biuro@kancelaria-nowak.tset", (("W81-PRO", 1),), "mail_failed"
    ),
    DemoOrder(
        "Demo Reseller", "PO-2026-0144", "studio@pixel-forge.test", (("O2011-MAC", 0),), "awaiting", True
    ),
    DemoOrder(
        "Demo Reseller", "PO-2026-0145", "marek.wojcik@customer.test", (("O365-BUS", 0),), "cancelled", True
    ),
    DemoOrder("Other Reseller", "BG-4471", "office@bergmann-gmbh.test", (("O2013-HB", 2),), "sent"),
]

OUTCOMES = {
    "opened": "fulfilled, welcome mail sent, the customer opened a key",
    "sent": "fulfilled, welcome mail sent, keys not opened yet",
    "mail_failed": "fulfilled, welcome mail failed (mistyped address)",
    "awaiting": "awaiting stock, the vendor request failed",
    "cancelled": "cancelled while it waited for stock",
}


def random_group(length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def random_key() -> str:
    return "-".join(random_group(5) for _ in range(5))


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo catalogue, organisations, users, key stock and orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-pass-2026", help="password for every demo user")
        parser.add_argument(
            "--stock", type=int, default=DEMO_STOCK, help="available keys to keep per product"
        )

    @transaction.atomic
    def handle(self, *args: Any, password: str, stock: int, **options: Any) -> None:
        products = {}
        for spec in DEMO_PRODUCTS:
            product, _ = Product.objects.update_or_create(sku=spec["sku"], defaults=spec)
            products[product.sku] = product

        organisations = {}
        for org_spec in DEMO_ORGANISATIONS:
            values = dict(org_spec)
            name = values.pop("name")
            organisations[name], _ = Organisation.objects.update_or_create(name=name, defaults=values)
        distributor = organisations["Demo Distribution"]
        reseller = organisations["Demo Reseller"]
        other = organisations["Other Reseller"]
        people = [
            ("admin@demo.test", distributor, Membership.Role.ADMIN, True, True),
            ("support@demo.test", distributor, Membership.Role.SUPPORT_AGENT, True, False),
            ("licensing@demo.test", distributor, Membership.Role.LICENSING_SPECIALIST, True, False),
            ("reseller@demo.test", reseller, Membership.Role.ADMIN, False, False),
            ("other@demo.test", other, Membership.Role.ADMIN, False, False),
            # CC-11: one person in two organisations, switched between in the header.
            ("partner@demo.test", reseller, Membership.Role.MEMBER, False, False),
            ("partner@demo.test", other, Membership.Role.ADMIN, False, False),
        ]
        for email, org, role, is_staff, is_superuser in people:
            user = User.objects.filter(email=email).first() or User(email=email)
            user.is_staff, user.is_superuser, user.is_active = is_staff, is_superuser, True
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(user=user, organisation=org, defaults={"role": role})
        # SUP-12, VL-10: the desk's staff groups (made by migration support 0003) decide what each sees.
        for email, group in DEMO_STAFF_GROUPS:
            User.objects.get(email=email).groups.add(Group.objects.get_or_create(name=group)[0])

        customer_org = self._demo_customer(password)
        licences = self._demo_licences(
            customer_org, products, actor=User.objects.get(email="admin@demo.test")
        )
        releases = self._demo_releases(products, actor=User.objects.get(email="admin@demo.test"))

        centre_content = _demo_centre_content(customer_org, products)
        support_requests = _demo_support_requests(customer_org, reseller)
        issued = _demo_issued_number(customer_org, actor=User.objects.get(email="admin@demo.test"))

        added = self._top_up(products, stock)
        orders = [self._demo_order(demo, products, organisations, stock) for demo in DEMO_ORDERS]
        added += self._top_up(products, stock)  # what the demo orders took
        customer = User.objects.filter(email=DEMO_CUSTOMER).first()
        if customer is not None:
            customer.set_password(password)
            customer.save(update_fields=["password"])

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  products: {', '.join(products)} (WS2012-STD is a server product, not ESD)")
        self.stdout.write(f"  keys added to stock: {added} (at least {stock} available per ESD product)")
        self.stdout.write("  logins (password: the --password given, default demo-pass-2026):")
        for email, org, role, _staff, _su in people:
            self.stdout.write(f"    {email:<28} {org.name} ({role})")
        for email, role, rights in DEMO_CUSTOMER_PEOPLE:
            what = "every right" if role == Membership.Role.ADMIN else ", ".join(sorted(rights))
            self.stdout.write(f"    {email:<28} {customer_org.name} ({role}: {what}) at /centre/")
        self.stdout.write(
            f"    {DEMO_CUSTOMER:<28} an end customer: the Digital Locker of demo order PO-2026-0141"
        )
        self.stdout.write(
            f"  demo customer: {customer_org.name}, customer id {customer_org.customer_id}, "
            f"tax id {customer_org.tax_id}"
        )
        self.stdout.write(
            f"  releases (at /centre/downloads/ for the downloads right): {', '.join(releases)}"
        )
        self.stdout.write(f"  {customer_org.name}'s licences (at /centre/licences/): {', '.join(licences)}")
        self.stdout.write(f"  {customer_org.name}'s addresses, news and documents: {centre_content}")
        self.stdout.write(
            "  support requests (customer@ at /support/, reseller@ at /support/, staff at /admin/):"
        )
        for number, what in support_requests:
            self.stdout.write(f"    {number}: {what}")
        self.stdout.write(
            f"  an issued number of {issued.product.sku} sold through a partner, for {customer_org.name} "
            f"(support number {issued.support_number}), waits for registration at "
            "/centre/licences/register/; its installation number is a sealed secret, shown nowhere (not "
            "here, not in the admin)"
        )
        self.stdout.write("  demo orders (reference: state):")
        for demo, order in zip(DEMO_ORDERS, orders, strict=True):
            self.stdout.write(f"    {demo.reseller} {demo.reference} #{order.pk}: {OUTCOMES[demo.outcome]}")
        # ESD-8: the admin opens only with a second factor. Authenticators are never made or reset here, so
        # a second run keeps the one a demo user set up.
        self.stdout.write(
            "  staff (admin@, support@, licensing@) set up an authenticator app (TOTP) at their first visit "
            "to /admin/"
        )

    @staticmethod
    def _demo_customer(password: str) -> Organisation:
        """The demo customer organisation and its two people, brought to the same state on every run."""
        values = dict(DEMO_CUSTOMER_ORG)
        name = values.pop("name")
        organisation, _ = Organisation.objects.update_or_create(name=name, defaults=values)
        for email, role, rights in DEMO_CUSTOMER_PEOPLE:
            user = User.objects.filter(email=email).first() or User(email=email)
            user.is_active = True
            user.set_password(password)
            user.save()
            flags = {Membership.right_field(r): r in rights for r in Membership.Right.values}
            Membership.objects.update_or_create(
                user=user, organisation=organisation, defaults={"role": role, "active": True, **flags}
            )
        return organisation

    @staticmethod
    def _demo_releases(products: dict[str, Product], *, actor: User) -> list[str]:
        """A published release of each demo product with one small generated file, made once each."""
        today = timezone.localdate()
        made = []
        for sku, version, days_ago, notes in DEMO_RELEASES:
            release, created = Release.objects.get_or_create(
                product=products[sku],
                version=version,
                defaults={"release_date": today - timedelta(days=days_ago), "notes": notes},
            )
            if created or not release.files.exists():
                text = f"{products[sku].name} {products[sku].edition} {version}\n\n{notes}\n"
                release_file_add(
                    release=release,
                    upload=ContentFile(text.encode(), name=f"{sku.lower()}-{version}-readme.txt"),
                    name=f"{sku} {version} README",
                )
            releases_publish(release_ids=[release.pk], actor=actor)
            made.append(f"{sku} {version}")
        return made

    @staticmethod
    def _demo_licences(customer: Organisation, products: dict[str, Product], *, actor: User) -> list[str]:
        """Demo Customer's licences, booked through the service once each (found again by support number);
        the support numbers."""
        today = timezone.localdate()
        for sku, support_number, days_ago in DEMO_LICENCES:
            if Licence.objects.for_org(customer).filter(support_number=support_number).exists():
                continue
            licence_book(
                customer=customer,
                product=products[sku],
                edition=products[sku].edition,
                installation_number="-".join(random_group(5) for _ in range(4)),
                purchase_date=today - timedelta(days=days_ago),
                support_number=support_number,
                actor=actor,
            )
        return [number for _sku, number, _days in DEMO_LICENCES]

    @staticmethod
    def _top_up(products: dict[str, Product], stock: int) -> int:
        """Import keys until each ESD product has ``stock`` available; the number imported."""
        added = 0
        for product in products.values():
            if product.esd_eligible:
                added += _ensure_available(product, stock)
        return added

    @staticmethod
    def _demo_order(
        spec: DemoOrder, products: dict[str, Product], organisations: dict[str, Organisation], stock: int
    ) -> Order:
        """The demo order ``spec``, made and brought to its state through the services, once."""
        reseller = organisations[spec.reseller]
        existing = Order.objects.for_org(reseller).filter(reseller_reference=spec.reference).first()
        if existing is not None:
            return existing
        placed_by = Membership.objects.filter(organisation=reseller).order_by("pk").first()
        assert placed_by is not None, "the demo reseller has a member"
        lines = [(products[sku], stock + 15 if spec.short else quantity) for sku, quantity in spec.lines]
        if not spec.short:
            for product, quantity in lines:
                _ensure_available(product, quantity)
        order = order_place(
            reseller=reseller,
            placed_by=placed_by.user,
            end_customer_email=spec.email,
            reseller_reference=spec.reference,
            lines=[LineIn(product_id=product.pk, quantity=quantity) for product, quantity in lines],
        )
        order = order_fulfil(order_id=order.pk, enqueue_mail=False)
        if spec.outcome in ("opened", "sent"):
            welcome_mails_send(order_ids=[order.pk])
        elif spec.outcome == "mail_failed":
            welcome_mail_failed(
                order_id=order.pk,
                reason=f"SMTPRecipientsRefused: 550 5.1.2 <{spec.email}>: domain not found",
            )
        elif spec.outcome == "awaiting":
            for request in VendorRequest.objects.filter(order=order, status=VendorRequest.Status.PENDING):
                request.attempts = settings.VENDOR_MAX_RETRIES + 1
                vendor_request_failed(request=request, reason="The vendor's gateway did not answer in time.")
        elif spec.outcome == "cancelled":
            order_cancel(organisation=reseller, order_id=order.pk, actor=placed_by.user)
        if spec.outcome == "opened" and order.end_customer is not None:
            _open_a_key(order)
        return Order.objects.get(pk=order.pk)


def _ensure_available(product: Product, wanted: int) -> int:
    """Import keys until ``product`` has ``wanted`` available; the number imported."""
    missing = wanted - ProductKey.objects.available().filter(product=product).count()
    if missing <= 0:
        return 0
    return keys_import(product=product, lines=[random_key() for _ in range(missing)]).imported


def _open_a_key(order: Order) -> None:
    """The customer chose a password and revealed one key of ``order`` (recorded as the pages record it)."""
    customer = order.end_customer
    assert customer is not None
    now = timezone.now()
    if customer.password_set_at is None:  # the password itself is the demo password, set by the command
        customer.password_set_at = now
        customer.save(update_fields=["password_set_at"])
    customer_password_set(account=customer, at=now)
    key = ProductKey.objects.filter(allocation__line__order=order).order_by("pk").first()
    if key is not None:
        key_reveal(key_id=key.pk, user=customer, ip=None, user_agent="seed_demo")  # the key is not kept
        order_keys_accessed(key_id=key.pk, at=timezone.now())


# --- the customer centre's addresses, news and documents (CC-4, CC-6) -------------------------------
DEMO_SITE = {
    "label": "Warehouse Poznań",
    "company": "Demo Customer",
    "attention": "Warehouse office",
    "street": "ul. Głogowska 120",
    "postcode": "60-243",
    "city": "Poznań",
    "country_code": "PL",
}
DEMO_NEWS = [
    # (title, body, product SKU or None, published so many days ago)
    (
        "Holiday opening hours",
        "Our support desk is closed on 24–26 December.\nUrgent requests reach us by phone.",
        None,
        3,
    ),
    (
        "Commerce Suite PROFESSIONAL 6.2 is out",
        "<p>Version <strong>6.2</strong> brings faster imports and a new report designer.</p>"
        "<p>Download it from the customer centre.</p>",
        "CS-PRO",
        1,
    ),
]
DEMO_DOCUMENT = "Commerce Suite installation guide"


def _demo_centre_content(customer: Organisation, products: dict[str, Product]) -> str:
    """Demo Customer's billing, delivery and one site address (through the services, recorded as the
    administrator's), two news items (one about CS-PRO) and one document (a one-page PDF drawn here, not a
    committed file); each made once."""

    admin = User.objects.get(email="customer@demo.test")
    billing = AddressIn(
        company=customer.name,
        street=DEMO_CUSTOMER_ORG["street"],
        postcode=DEMO_CUSTOMER_ORG["postcode"],
        city=DEMO_CUSTOMER_ORG["city"],
        country_code="PL",
    )
    address_set(organisation=customer, actor=admin, kind=Address.Kind.BILLING, data=billing)
    delivery = AddressIn(
        company=customer.name,
        attention="Reception",
        street="ul. Prosta 20",
        postcode="00-850",
        city="Warszawa",
        country_code="PL",
        phone="+48 22 000 00 00",
    )
    address_set(organisation=customer, actor=admin, kind=Address.Kind.DELIVERY, data=delivery)
    if not Address.objects.for_org(customer).current().filter(label=DEMO_SITE["label"]).exists():
        site_add(organisation=customer, actor=admin, data=AddressIn(**DEMO_SITE))
    now = timezone.now()
    for title, body, sku, days_ago in DEMO_NEWS:
        NewsItem.objects.get_or_create(
            title=title,
            defaults={
                "body": body,
                "product": products[sku] if sku else None,
                "published_at": now - timedelta(days=days_ago),
            },
        )
    if not Document.objects.filter(title=DEMO_DOCUMENT).exists():
        pdf = BytesIO()
        page = canvas.Canvas(pdf)
        page.drawString(72, 770, DEMO_DOCUMENT)
        page.drawString(72, 750, "1. Run the installer. 2. Enter your installation number. 3. Done.")
        page.save()
        document = Document(
            title=DEMO_DOCUMENT, description="Step by step, for administrators.", published=True
        )
        document.file.save("commerce-suite-installation-guide.pdf", ContentFile(pdf.getvalue()), save=False)
        document.save()
    return (
        "billing, delivery and one site at /centre/addresses/, two news items at /centre/news/, "
        "one document at /centre/documents/"
    )


# --- the support desk (issue #15) -------------------------------------------------------------------
# The desk's staff and their groups: support agents see support requests, the licensing specialists the
# ordering questions on volume licences (VL-10).
DEMO_STAFF_GROUPS = [
    ("support@demo.test", TEAM_GROUPS[Team.SUPPORT_AGENTS]),
    ("licensing@demo.test", TEAM_GROUPS[Team.LICENSING_SPECIALISTS]),
]
DEMO_SUPPORT_HOST = "https://shop.demo-customer.test/"


@dataclass(frozen=True)
class DemoRequest:
    """One demo support request, known by its organisation and subject, and where it is brought."""

    subject: str
    body: str
    outcome: str  # open | waiting | answered | pre_sales | volume_ordering
    category: str = "technical_advice"


DEMO_REQUESTS = [
    DemoRequest(
        "Checkout ends with an error after the payment step",
        "Since this morning every order ends with “Payment could not be confirmed”, though the money "
        "arrives.",
        "open",
    ),
    DemoRequest(
        "Product images missing after moving the shop to a new server",
        "We moved the shop last weekend; since then no product shows its picture.",
        "waiting",
    ),
    DemoRequest(
        "How to install the 5.2.0 update",
        "Can we install 5.2.0 over 5.1.3 directly, or do we need 5.2.0 beta first?",
        "answered",
        "updates",
    ),
    DemoRequest(
        "Does the PROFESSIONAL edition handle several warehouses?",
        "We are thinking of upgrading from STANDARD: can PROFESSIONAL keep stock in two warehouses?",
        "pre_sales",
    ),
    DemoRequest(
        "Volume licences: 40 seats of Commerce Suite PROFESSIONAL",
        "A customer of ours needs 40 seats. Which volume tier applies, and can the seats be added later?",
        "volume_ordering",
    ),
]
DEMO_REQUEST_OUTCOMES = {
    "open": "open, the first-answer clock running, taken by support@",
    "waiting": "waiting for the customer (the clock paused), with an internal note",
    "answered": "answered with a public reply, and an internal note the customer never sees",
    "pre_sales": "a pre-sales question (no support number or address needed)",
    "volume_ordering": "Demo Reseller's ordering question on volume licences, for the licensing specialists",
}
DEMO_ISSUED_SUPPORT_NUMBER = "S-DEMO-000004"


def _demo_support_requests(customer: Organisation, reseller: Organisation) -> list[tuple[str, str]]:
    """Demo Customer's support requests in the states the desk meets and Demo Reseller's ordering question on
    volume licences, each filed and moved through the support services once (found again by subject)."""
    asker = User.objects.get(email="customer@demo.test")
    agent = User.objects.get(email="support@demo.test")
    made = []
    for demo in DEMO_REQUESTS:
        organisation = reseller if demo.outcome == "volume_ordering" else customer
        found = SupportRequest.objects.for_org(organisation).filter(subject=demo.subject).first()
        if found is None:
            found = _demo_request(demo, customer=customer, reseller=reseller, asker=asker, agent=agent)
        made.append((found.number, DEMO_REQUEST_OUTCOMES[demo.outcome]))
    return made


def _demo_request(
    demo: DemoRequest, *, customer: Organisation, reseller: Organisation, asker: User, agent: User
) -> SupportRequest:
    if demo.outcome == "volume_ordering":
        return reseller_request_file(
            reseller=reseller,
            requester=User.objects.get(email="reseller@demo.test"),
            kind=Kind.VOLUME_ORDERING,
            subject=demo.subject,
            body=demo.body,
        )
    if demo.outcome == "pre_sales":
        return request_file(
            organisation=customer, requester=asker, kind=Kind.PRE_SALES, subject=demo.subject, body=demo.body
        )
    request = request_file(
        organisation=customer,
        requester=asker,
        kind=Kind.SUPPORT,
        support_number=DEMO_LICENCES[0][1],
        url=DEMO_SUPPORT_HOST,
        category=demo.category,
        subject=demo.subject,
        body=demo.body,
        now=timezone.now() - timedelta(hours=2),
    )
    request_assign(request_id=request.pk, assignee=agent, actor=agent)
    if demo.outcome == "open":
        request_move(request_id=request.pk, to=SupportRequest.Status.OPEN, actor=agent)
    elif demo.outcome == "waiting":
        request_staff_reply(
            request_id=request.pk,
            author=agent,
            body="Called the customer: they will send the server's error log and the new image path.",
            internal=True,
            status=SupportRequest.Status.WAITING,
        )
    elif demo.outcome == "answered":
        request_staff_reply(
            request_id=request.pk,
            author=agent,
            body="The customer runs 5.1.3 with two custom payment modules: check those first.",
            internal=True,
        )
        request_staff_reply(
            request_id=request.pk,
            author=agent,
            body="Yes: 5.2.0 installs directly over 5.1.3. Back up the database first and run the updater "
            "from the admin panel (System > Updates).",
            internal=False,
        )
    return SupportRequest.objects.get(pk=request.pk)


def _demo_issued_number(customer: Organisation, *, actor: User) -> IssuedNumber:
    """An installation number of CS-PRO issued with a partner's sale naming Demo Customer (CC-10), stored
    once through the licences import the staff use; the number is made at random and never printed."""
    issued = IssuedNumber.objects.filter(support_number=DEMO_ISSUED_SUPPORT_NUMBER).first()
    if issued is None:
        number = "-".join(random_group(5) for _ in range(4))
        sold = (timezone.localdate() - timedelta(days=20)).isoformat()
        result = licences_import(
            content=(
                "customer_id,sku,installation_number,purchase_date,support_number,source\n"
                f"{customer.customer_id},CS-PRO,{number},{sold},{DEMO_ISSUED_SUPPORT_NUMBER},partner\n"
            ),
            actor=actor,
        )
        assert result.written and result.issued == 1, [str(e) for e in result.errors]
        issued = IssuedNumber.objects.get(support_number=DEMO_ISSUED_SUPPORT_NUMBER)
    return issued
