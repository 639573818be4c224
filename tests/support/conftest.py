"""Fixtures of the support desk's tests: a customer with licences and a member with the *support requests*
right. Installation numbers are made at run time, never written in a file."""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from centre.models import Licence
from centre.services.licences import licence_book
from tests.factories import make_product, make_user


def random_number() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def book(customer: Organisation, product: Product, **extra: Any) -> Licence:
    extra.setdefault("purchase_date", timezone.localdate() - timedelta(days=10))
    return licence_book(
        customer=customer, product=product, installation_number=random_number(), actor=None, **extra
    )


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Acme Sp. z o.o.", customer_id="C-1", tax_id="PL5260250995"
    )


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Other S.A.", customer_id="C-2", tax_id="PL1234567890"
    )


@pytest.fixture
def member(customer: Organisation) -> User:
    """A member with only the *support requests* right."""
    user = make_user(customer, email="helpdesk@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_support=True)
    return user


@pytest.fixture
def outsider(other_customer: Organisation) -> User:
    user = make_user(other_customer, email="it@other.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_support=True)
    return user


@pytest.fixture
def pro(db: None) -> Product:
    return make_product(
        "CS-PRO", name="Commerce Suite", edition="PROFESSIONAL", support_months=6, esd_eligible=False
    )


@pytest.fixture
def standard(db: None) -> Product:
    return make_product(
        "CS-STD", name="Commerce Suite", edition="STANDARD", support_months=3, esd_eligible=False
    )


@pytest.fixture
def licence(customer: Organisation, pro: Product) -> Licence:
    return book(customer, pro)
