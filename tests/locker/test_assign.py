"""Keys handed to the orders of a fulfilment batch in a few statements (ESD-4, ESD-5)."""

import pytest
from django.db import transaction

from locker.models import ProductKey
from locker.services import KeyConflict, keys_assign, keys_reserve
from tests.factories import make_product, make_user, stock


@pytest.mark.django_db
def test_esd4_keys_of_several_owners_across_update_batches_each_reach_their_owner():
    """2,100 keys for three customers, updated 1,000 at a time with each batch's owners mixed: every key
    goes to its own customer, once."""
    product = make_product()
    stock(product, 2_100)
    owners = [make_user(email=f"owner{i}@example.test") for i in range(3)]
    with transaction.atomic():
        ids = keys_reserve(product_id=product.pk, quantity=2_100)
        wanted = {owner.pk: ids[i::3] for i, owner in enumerate(owners)}
        keys_assign(wanted)
    for owner in owners:
        got = set(ProductKey.objects.filter(owner=owner).values_list("id", flat=True))
        assert got == set(wanted[owner.pk]) and len(got) == 700
    assert ProductKey.objects.filter(status=ProductKey.Status.ALLOCATED).count() == 2_100


@pytest.mark.django_db
def test_esd4_one_key_for_two_owners_is_refused():
    product = make_product()
    stock(product, 2)
    first, second = make_user(email="first@example.test"), make_user(email="second@example.test")
    with pytest.raises(KeyConflict), transaction.atomic():
        ids = keys_reserve(product_id=product.pk, quantity=2)
        keys_assign({first.pk: ids, second.pk: ids[:1]})
    assert ProductKey.objects.filter(owner__isnull=False).count() == 0
