"""Resellers and end customers in the help module (SUP-6, SUP-7, VL-10, SVC-6, ALL-1, ALL-2): a reseller
asks about its own orders (no entitlement), volume-licence ordering goes to the licensing specialists, an
end customer asks about a key of theirs through its order; each sees only their own; others' ids 404."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from accounts.models import User
from support.models import TEAM_GROUPS, Kind, SupportRequest, Team
from tests.factories import make_product, place_order, stock

NEW = reverse("support:new")
LIST = reverse("support:list")


@pytest.fixture
def goods(db):
    product = make_product(name="Windows 8.1 Pro")
    stock(product, 4)
    return product


@pytest.fixture
def order(reseller, end_customer, goods, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # fulfilled: the key reaches the locker
        placed = place_order(reseller, (goods, 1), email=end_customer.email)
    placed.refresh_from_db()
    return placed


@pytest.fixture
def other_order(other_reseller, goods):
    return place_order(other_reseller, (goods, 1), email="someone@else.test")


@pytest.mark.django_db
def test_vl10_the_staff_groups_of_the_teams_exist():
    """VL-10: the data migration makes the groups (run again here: transactional tests flush tables)."""
    from django.apps import apps

    migration = importlib.import_module("support.migrations.0003_reseller_end_customer_teams")
    Group.objects.filter(name__in=TEAM_GROUPS.values()).delete()
    migration.make_groups(apps, None)
    migration.make_groups(apps, None)  # idempotent
    assert Group.objects.filter(name__in=TEAM_GROUPS.values()).count() == 2
    assert set(Group.objects.values_list("name", flat=True)) >= set(TEAM_GROUPS.values())


@pytest.mark.django_db
def test_sup6_vl10_a_reseller_files_ordering_questions_about_its_own_orders_routed_by_kind(
    client, reseller, order, other_order, django_capture_on_commit_callbacks
):
    client.force_login(reseller)
    page = client.get(NEW).content.decode()
    assert f'value="{order.pk}"' in page and f'value="{other_order.pk}"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            NEW, {"kind": Kind.ORDERING, "order": order.pk, "subject": "Where is it?", "body": "Order late."}
        )
    request = SupportRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "support:detail", args=[request.pk]
    )
    assert request.organisation == order.reseller and request.order == order and request.licence is None
    assert request.team == Team.SUPPORT_AGENTS and request.number.startswith("SUP-")
    assert mail.outbox[-1].to == [reseller.email] and request.number in mail.outbox[-1].subject
    client.post(NEW, {"kind": Kind.VOLUME_ORDERING, "order": "", "subject": "50 seats", "body": "Price?"})
    assert SupportRequest.objects.get(subject="50 seats").team == Team.LICENSING_SPECIALISTS
    client.post(NEW, {"kind": Kind.PRE_SALES, "subject": "Pre-sales", "body": "Does it run on Linux?"})
    assert SupportRequest.objects.get(subject="Pre-sales").kind == Kind.PRE_SALES
    # Another reseller's order is refused by field, with what was typed kept (ALL-1, ALL-2).
    refused = client.post(
        NEW, {"kind": Kind.ORDERING, "order": other_order.pk, "subject": "Kept", "body": "x"}
    )
    html = refused.content.decode()
    assert refused.status_code == 200 and "Choose one of your orders." in html and 'value="Kept"' in html
    assert SupportRequest.objects.count() == 3
    # An order "number" int() refuses is a refusal by field too, not a server error (ALL-2).
    for odd in ("²", "9" * 5000):
        refused = client.post(NEW, {"kind": Kind.ORDERING, "order": odd, "subject": "Odd", "body": "x"})
        assert refused.status_code == 200 and "Choose one of your orders." in refused.content.decode()
    # A reseller cannot file a support request that needs an entitlement through its form.
    client.post(NEW, {"kind": Kind.SUPPORT, "subject": "Bogus kind", "body": "x"})
    assert not SupportRequest.objects.filter(subject="Bogus kind").exists()


@pytest.mark.django_db
def test_all1_a_reseller_sees_only_its_own_requests_and_another_resellers_ids_404(
    client, reseller, other_reseller, order, other_order
):
    client.force_login(other_reseller)
    client.post(NEW, {"kind": Kind.ORDERING, "order": other_order.pk, "subject": "Theirs", "body": "x"})
    theirs = SupportRequest.objects.get()
    client.force_login(reseller)
    client.post(NEW, {"kind": Kind.ORDERING, "order": order.pk, "subject": "Mine", "body": "x"})
    mine = SupportRequest.objects.get(subject="Mine")
    html = client.get(LIST).content.decode()
    assert "Mine" in html and "Theirs" not in html
    assert client.get(reverse("support:detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("support:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("support:detail", args=[999999])).status_code == 404
    assert client.post(reverse("support:detail", args=[theirs.pk]), {"body": "hi"}).status_code == 404
    answered = client.post(reverse("support:detail", args=[mine.pk]), {"body": "More <b>detail</b>"})
    assert answered.status_code == 302
    assert (
        "More &lt;b&gt;detail&lt;/b&gt;"
        in client.get(reverse("support:detail", args=[mine.pk])).content.decode()
    )


@pytest.mark.django_db
def test_sup6_an_end_customer_files_about_a_key_of_theirs_by_its_order_only(
    client, end_customer, order, other_order
):
    assert order.end_customer_id == end_customer.pk
    client.force_login(end_customer)
    page = client.get(NEW).content.decode()
    assert f'value="{order.pk}"' in page and f'value="{other_order.pk}"' not in page
    refused = client.post(NEW, {"order": other_order.pk, "subject": "Not mine", "body": "x"})
    assert "Choose the order of the key" in refused.content.decode()
    response = client.post(NEW, {"order": order.pk, "subject": "Activation fails", "body": "Error 0xC004"})
    request = SupportRequest.objects.get()
    assert response.status_code == 302 and request.kind == Kind.ACTIVATION and request.order == order
    assert request.requester == end_customer and request.organisation.kind == "distributor"
    assert "Activation fails" in client.get(LIST).content.decode()
    assert client.get(reverse("support:detail", args=[request.pk])).status_code == 200
    # Another end customer sees none of it (ALL-1).
    stranger = User.objects.create_user(email="stranger@end.test", password=None)
    client.force_login(stranger)
    assert "Activation fails" not in client.get(LIST).content.decode()
    assert client.get(reverse("support:detail", args=[request.pk])).status_code == 404
    assert client.post(NEW, {"order": order.pk, "subject": "Steal", "body": "x"}).status_code == 200
    for odd in ("²", "9" * 5000):  # ALL-2: refused by field, never a server error
        assert client.post(NEW, {"order": odd, "subject": "Odd", "body": "x"}).status_code == 200
    assert SupportRequest.objects.count() == 1


@pytest.mark.django_db
def test_the_reseller_and_end_customer_lists_cost_a_constant_number_of_queries(
    client, reseller, end_customer, order, django_assert_max_num_queries
):
    from support.services.intake import end_customer_request_file, reseller_request_file

    def counted(user, make, n):
        for i in range(n):
            make(i)
        client.force_login(user)
        client.get(LIST)  # the memberships are read once, then kept (accounts.membership_cache)
        with django_assert_max_num_queries(12) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    reseller_org = order.reseller
    few = counted(
        reseller,
        lambda i: reseller_request_file(
            reseller=reseller_org, requester=reseller, kind=Kind.ORDERING, subject=f"R{i}", body="x"
        ),
        2,
    )
    many = counted(
        reseller,
        lambda i: reseller_request_file(
            reseller=reseller_org, requester=reseller, kind=Kind.ORDERING, subject=f"S{i}", body="x"
        ),
        30,
    )
    assert few == many
    few = counted(
        end_customer,
        lambda i: end_customer_request_file(user=end_customer, order_id=order.pk, subject=f"E{i}", body="x"),
        2,
    )
    many = counted(
        end_customer,
        lambda i: end_customer_request_file(user=end_customer, order_id=order.pk, subject=f"F{i}", body="x"),
        30,
    )
    assert few == many
