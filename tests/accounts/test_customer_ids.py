"""Customers' ids and tax ids (CC-7's pair, stored now for the registration to come) and the rights and
state memberships carry (CC-6), as accounts keeps them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Membership, Organisation, normalise_tax_id, tax_id_matches
from accounts.tenancy import tenancy_for
from tests.factories import make_org, make_user


def test_cc7_tax_ids_are_normalised_without_separators_in_upper_case():
    assert normalise_tax_id("pl 526-025-09.95") == "PL5260250995"
    assert normalise_tax_id(" 526 025 09 95 ") == "5260250995"
    assert normalise_tax_id("") == ""


@pytest.mark.django_db
def test_cc7_a_tax_id_matches_with_or_without_separators_and_the_customers_country_prefix():
    org = Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Acme", tax_id="PL 526-025-09-95", country_code="PL"
    )
    assert org.tax_id_normalised == "PL5260250995"
    for typed in ("5260250995", "PL5260250995", "pl 526-025-09-95", "526.025.09.95"):
        assert tax_id_matches(org, typed), typed
    for typed in ("DE5260250995", "526025099", "", "PL"):
        assert not tax_id_matches(org, typed), typed
    # Stored without its prefix, typed with it: the same.
    bare = Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Bare", tax_id="5260250995", country_code="PL"
    )
    assert tax_id_matches(bare, "PL 5260250995")
    bare.tax_id = "111-222"
    bare.save(update_fields=["tax_id"])
    bare.refresh_from_db()
    assert bare.tax_id_normalised == "111222"


@pytest.mark.django_db
def test_cc7_customer_ids_are_unique_among_customers_and_only_for_customers():
    Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="A", customer_id="C-1")
    Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="No id yet")
    Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="No id either")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="B", customer_id="C-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(kind=Organisation.Kind.RESELLER, name="R", customer_id="C-2")


@pytest.mark.django_db
def test_cc6_rights_combine_administrators_have_all_and_inactive_memberships_act_for_nobody():
    org = make_org(Organisation.Kind.CUSTOMER, "Acme")
    member = make_user(org, role=Membership.Role.MEMBER)
    Membership.objects.filter(user=member).update(right_news=True, right_documents=True)
    tenancy = tenancy_for(member)
    assert tenancy.has_right("news") and tenancy.has_right("documents")
    assert not tenancy.has_right("licences") and not tenancy.has_right("user_management")
    boss = make_user(org, role=Membership.Role.ADMIN)
    assert all(tenancy_for(boss).has_right(right) for right in Membership.Right.values)
    Membership.objects.filter(user=member).update(active=False)
    gone = tenancy_for(member)
    assert gone.organisation is None and gone.memberships == () and not gone.has_right("news")
    with pytest.raises(ValueError):
        Membership.right_field("everything")
