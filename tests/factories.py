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


def org_of(user: User) -> Organisation:
    """The organisation of a test user who belongs to exactly one."""
    return Membership.objects.select_related("organisation").get(user=user).organisation


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
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email=email,
        lines=[LineIn(product_id=p.pk, quantity=q) for p, q in lines],
    )


# --- staff logins with the second factor (ESD-8: no admin page without TOTP) --------------------------
def totp_code(secret: str, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    """The RFC 6238 code of ``secret`` (base32) at ``at`` (now by default), computed here, not by allauth."""
    import base64
    import hashlib
    import hmac
    import struct
    import time

    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(
        base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def fresh_totp_code(secret: str, margin: float = 3.0) -> str:
    """A code with at least ``margin`` seconds of its 30-second step left (waits for the next step if not),
    so it is still current when the server checks it."""
    import time

    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.05)
    return totp_code(secret)


def give_totp(user: User) -> str:
    """A real TOTP authenticator and recovery codes for ``user``, made through allauth's own API (as its
    activation page does); returns the authenticator's secret. Reuses one the user already has."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from allauth.mfa.utils import decrypt

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        return str(decrypt(existing.data["secret"]))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_codes(user: User) -> list[str]:
    """The user's unused recovery codes (what the recovery-codes page shows its owner)."""
    from allauth.mfa.models import Authenticator

    return list(
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    )


def login_staff_with_mfa(client: Any, user: User, password: str = DEFAULT_PASSWORD) -> str:
    """Sign ``user`` in as a person would: e-mail and password at /accounts/login/, then the TOTP code of a
    real authenticator (given to the user if missing). Returns the secret, for tests that need more codes."""
    from django.urls import reverse

    secret = give_totp(user)
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate"), response
    response = client.post(reverse("mfa_authenticate"), {"code": fresh_totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


def make_release(
    product: Product,
    version: str = "1.0",
    *,
    files: dict[str, bytes] | None = None,
    published: bool = True,
    release_date: Any = None,
    notes: str = "",
) -> Any:
    """A release of ``product`` with ``files`` (name → bytes, stored through ``catalog.services`` so size
    and SHA-256 are computed), published unless told otherwise. Needs the ``releases_dir`` fixture."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from catalog.models import Release
    from catalog.services import release_file_add, releases_publish

    release = Release.objects.create(
        product=product, version=version, release_date=release_date or timezone.localdate(), notes=notes
    )
    for name, content in (files or {}).items():
        release_file_add(release=release, upload=ContentFile(content, name=name))
    if published:
        releases_publish(release_ids=[release.pk], actor=None)
        release.refresh_from_db()
    return release
