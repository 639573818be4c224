from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import token_hash
from tests.factories import make_user, org_of


@pytest.mark.django_db
def test_token_is_shown_once_stored_as_a_hash_and_revocable(client, reseller, other_reseller):
    client.force_login(reseller)
    response = client.post(reverse("api_tokens:list"), {"name": "Web shop"})
    html = response.content.decode()
    token = html.split('id="token-value">')[1].split("<")[0]
    assert token.startswith("rp_") and response["Cache-Control"].startswith("no-store")
    record = ApiToken.objects.get()
    assert record.token_hash == token_hash(token) and token not in str(record.__dict__)
    assert token not in client.get(reverse("api_tokens:list")).content.decode()  # never again
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/orders/").status_code == 200
    client.force_login(other_reseller)
    assert client.post(reverse("api_tokens:revoke", args=[record.pk])).status_code == 404
    client.force_login(reseller)
    client.post(reverse("api_tokens:revoke", args=[record.pk]))
    assert api.get("/api/v1/orders/").status_code == 401


@pytest.mark.django_db
def test_only_reseller_administrators_manage_tokens(client, reseller, end_customer, staff):
    member = make_user(org_of(reseller), role="member")
    for user in (member, end_customer, staff):
        client.force_login(user)
        assert client.get(reverse("api_tokens:list")).status_code == 403
    client.force_login(reseller)
    response = client.post(reverse("api_tokens:list"), {"name": ""})
    assert response.status_code == 200 and "errorlist" in response.content.decode()


@pytest.mark.django_db
def test_create_api_token_command(reseller, end_customer):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", reseller.email, "--name", "Scripts", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert ApiToken.objects.get(name="Scripts").token_hash == token_hash(token)
    with pytest.raises(CommandError):
        call_command("create_api_token", end_customer.email, stdout=out, stderr=err)
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody@x.test", stdout=out, stderr=err)


@pytest.mark.django_db
def test_api_docs_and_schema_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/orders/" in schema.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "jsdelivr" not in docs


@pytest.mark.django_db
@pytest.mark.parametrize("departure", ["membership_removed", "moved_to_another_reseller", "deactivated"])
def test_all1_a_token_acts_only_while_its_creator_is_a_member_of_its_organisation(
    departure, reseller, other_reseller, product
):
    """ALL-1: after its creator left the organisation, a token neither lists nor creates orders (it did)."""
    from accounts.models import Membership
    from api.services import api_token_create
    from orders.models import Order

    _record, token = api_token_create(organisation=org_of(reseller), user=reseller, name="shop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/orders/").status_code == 200
    if departure == "membership_removed":
        Membership.objects.filter(user=reseller).delete()
    elif departure == "moved_to_another_reseller":
        Membership.objects.filter(user=reseller).update(organisation=org_of(other_reseller))
    else:
        type(reseller).objects.filter(pk=reseller.pk).update(is_active=False)
    listed = api.get("/api/v1/orders/")
    created = api.post(
        "/api/v1/orders/",
        {"end_customer_email": "c@end.test", "lines": [{"sku": product.sku, "quantity": 1}]},
        format="json",
    )
    assert listed.status_code == 401 and created.status_code == 401
    assert listed["Content-Type"].startswith("application/problem+json")
    assert not Order.objects.exists()
