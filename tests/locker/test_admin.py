import pytest
from django.urls import reverse

from locker import crypto
from locker.models import ProductKey
from orders.models import Order
from orders.services import LineIn, order_place
from tests.factories import login_staff_with_mfa, make_product, org_of, stock


@pytest.mark.django_db
def test_esd8_admin_shows_keys_masked_and_never_decrypts(
    client, staff, reseller, monkeypatch, django_capture_on_commit_callbacks
):
    """ESD-8: staff see the last five characters in the admin; no admin page decrypts anything."""
    product = make_product()
    keys = stock(product, 3)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=product.pk, quantity=2)],
        )
    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED

    def no_decrypt(*args, **kwargs):
        raise AssertionError("the admin must not decrypt")

    login_staff_with_mfa(client, staff)  # signing in opens the staff member's own TOTP key, nothing else
    monkeypatch.setattr(crypto, "unseal", no_decrypt)
    record = ProductKey.objects.filter(status="allocated").first()
    pages = [
        reverse("admin:locker_productkey_changelist"),
        reverse("admin:locker_productkey_change", args=[record.pk]),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[order.pk]),
    ]
    html = ""
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html += response.content.decode()
    assert record.last5 in html
    for k in keys:
        assert k not in html and k[:-5] not in html
    # Sealed material cannot be edited or added by hand.
    assert client.get(reverse("admin:locker_productkey_add")).status_code == 403
