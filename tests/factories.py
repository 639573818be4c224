"""Small factories for tests. Keys are generated per test run, never stored in a fixture file."""

from __future__ import annotations

import itertools
import secrets
import string
from typing import Any

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from locker.services import keys_import

_seq = itertools.count(1)
DEFAULT_PASSWORD = "Tr1cky-Pass-2026"


def make_org(kind: str = Organisation.Kind.RESELLER, name: str | None = None) -> Organisation:
    return Organisation.objects.create(kind=kind, name=name or f"Org {next(_seq)}")


def make_user(
    org: Organisation | None = None,
    *,
    email: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    role: str = Membership.Role.ADMIN,
    **extra: Any,
) -> User:
    user = User.objects.create_user(
        email=email or f"user{next(_seq)}@example.test", password=password, **extra
    )
    if org is not None:
        Membership.objects.create(user=user, organisation=org, role=role)
    return user


def make_product(sku: str | None = None, **extra: Any) -> Product:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "name": f"Product {n}",
        "vendor": "Microsoft",
        "esd_eligible": True,
        "installer_url": f"https://downloads.example.test/p{n}/setup.exe",
    }
    defaults.update(extra)
    return Product.objects.create(sku=sku or f"SKU-{n}", **defaults)


def random_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))


def stock(product: Product, n: int) -> list[str]:
    """Import ``n`` fresh random keys for ``product`` and return them, so tests can search for them."""
    keys = [random_key() for _ in range(n)]
    report = keys_import(product=product, lines=keys)
    assert report.imported == n
    return keys


def place_order(reseller: Any, *lines: tuple[Product, int], email: str = "customer@end.test") -> Any:
    """An order placed by ``reseller`` (a member of a reseller organisation) through the service."""
    from orders.services import LineIn, order_place

    return order_place(
        reseller=reseller.membership.organisation,
        placed_by=reseller,
        end_customer_email=email,
        lines=[LineIn(product_id=p.pk, quantity=q) for p, q in lines],
    )
