"""Idempotent demo data: the catalogue, the demo organisations and users, and keys in stock."""

from __future__ import annotations

import secrets
import string
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from locker.models import ProductKey
from locker.services import keys_import

DEMO_PRODUCTS: list[dict[str, Any]] = [
    {
        "sku": "W81",
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


def random_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo catalogue, organisations, users and key stock."

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

        distributor, _ = Organisation.objects.get_or_create(
            name="Demo Distribution", defaults={"kind": Organisation.Kind.DISTRIBUTOR}
        )
        reseller, _ = Organisation.objects.get_or_create(
            name="Demo Reseller", defaults={"kind": Organisation.Kind.RESELLER}
        )
        other, _ = Organisation.objects.get_or_create(
            name="Other Reseller", defaults={"kind": Organisation.Kind.RESELLER}
        )
        people = [
            ("admin@demo.test", distributor, Membership.Role.ADMIN, True, True),
            ("support@demo.test", distributor, Membership.Role.SUPPORT_AGENT, True, False),
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

        added = 0
        for product in products.values():
            if not product.esd_eligible:
                continue
            missing = stock - ProductKey.objects.available().filter(product=product).count()
            if missing > 0:
                added += keys_import(product=product, lines=[random_key() for _ in range(missing)]).imported

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  products: {', '.join(products)} (WS2012-STD is a server product, not ESD)")
        self.stdout.write(f"  keys added to stock: {added} (at least {stock} available per ESD product)")
        self.stdout.write("  logins (password: the --password given, default demo-pass-2026):")
        for email, org, role, _staff, _su in people:
            self.stdout.write(f"    {email:<22} {org.name} ({role})")
        # ESD-8: the admin opens only with a second factor. Authenticators are never made or reset here, so
        # a second run keeps the one a demo user set up.
        self.stdout.write(
            "  staff (admin@, support@) set up an authenticator app (TOTP) at their first visit to /admin/"
        )
