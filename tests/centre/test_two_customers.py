"""CC-11, ALL-1: a person who works for two customers (an IT firm, an accountant) acts for one at a time,
chosen in the header. Whatever page they open, the licences, downloads, addresses and support requests
are the chosen customer's only, and the other customer's ids answer 404 like missing ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation
from catalog.models import Product
from centre.models import Address, Licence
from centre.services.licences import licence_book
from support.services.requests import request_file
from tests.factories import make_org, make_product, make_release, make_user, random_key

ALL_RIGHTS = {f"right_{name}": True for name in Membership.Right.values}


def _customer(name: str, product: Product, staff: Any) -> dict[str, Any]:
    organisation = make_org(Organisation.Kind.CUSTOMER, name)
    licence = licence_book(
        customer=organisation,
        product=product,
        installation_number=random_key(),
        purchase_date=timezone.localdate() - timedelta(days=10),
        actor=staff,
    )
    site = Address.objects.create(
        organisation=organisation,
        kind=Address.Kind.SITE,
        label=f"{name} warehouse",
        company=name,
        street=f"{name} Street 1",
        postcode="00-001",
        city="Warszawa",
        country_code="PL",
    )
    return {"organisation": organisation, "licence": licence, "site": site}


@pytest.mark.django_db
def test_cc11_all1_a_person_in_two_customers_sees_only_the_chosen_ones_data(client, settings):
    staff = make_user(None, email="licensing@distributor.test", is_staff=True)
    alpha_product = make_product("ALPHA-SUITE", name="Alpha Suite", support_months=6)
    beta_product = make_product("BETA-SUITE", name="Beta Suite", support_months=6)
    alpha_release = make_release(alpha_product, "1.0", files={"alpha.zip": b"alpha"})
    beta_release = make_release(beta_product, "2.0", files={"beta.zip": b"beta"})
    alpha = _customer("Alpha Customer", alpha_product, staff)
    beta = _customer("Beta Customer", beta_product, staff)
    person = make_user(alpha["organisation"], email="it@firm.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=person).update(**ALL_RIGHTS)
    Membership.objects.create(
        user=person, organisation=beta["organisation"], role=Membership.Role.MEMBER, **ALL_RIGHTS
    )
    requests = {
        name: request_file(
            organisation=data["organisation"],
            requester=person,
            kind="support",
            support_number=data["licence"].support_number,
            url=f"https://{name}.example.test/",
            category="technical_advice",
            subject=f"{name} checkout question",
            body="How do I change the checkout?",
        )
        for name, data in (("alpha", alpha), ("beta", beta))
    }
    client.force_login(person)

    def pages() -> str:
        return "".join(
            client.get(reverse(name)).content.decode()
            for name in ("centre:licences", "centre:downloads", "centre:addresses", "support:list")
        )

    # Alpha first (by name): its licence, release, site and request, nothing of Beta's.
    seen = pages()
    assert alpha["licence"].support_number in seen and beta["licence"].support_number not in seen
    assert "Alpha Customer warehouse" in seen and "Beta Customer warehouse" not in seen
    assert "Alpha Suite" in seen and "alpha.zip" in seen
    assert "Beta Suite" not in seen and "beta.zip" not in seen
    assert requests["alpha"].number in seen and requests["beta"].number not in seen
    for url in (
        reverse("centre:release", args=[beta_release.pk]),
        reverse("centre:download_file", args=[beta_release.files.get().pk]),
        reverse("centre:site_edit", args=[beta["site"].pk]),
        reverse("support:detail", args=[requests["beta"].pk]),
    ):
        assert client.get(url).status_code == 404, url

    # Switched to Beta: the other way round.
    assert (
        client.post(reverse("organisation_switch"), {"organisation": beta["organisation"].pk}).status_code
        == 302
    )
    seen = pages()
    assert beta["licence"].support_number in seen and alpha["licence"].support_number not in seen
    assert "Beta Customer warehouse" in seen and "Alpha Customer warehouse" not in seen
    assert "Beta Suite" in seen and "beta.zip" in seen
    assert "Alpha Suite" not in seen and "alpha.zip" not in seen
    assert requests["beta"].number in seen and requests["alpha"].number not in seen
    for url in (
        reverse("centre:release", args=[alpha_release.pk]),
        reverse("centre:download_file", args=[alpha_release.files.get().pk]),
        reverse("centre:site_edit", args=[alpha["site"].pk]),
        reverse("support:detail", args=[requests["alpha"].pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("centre:release", args=[beta_release.pk])).status_code == 200
    assert Licence.objects.count() == 2
