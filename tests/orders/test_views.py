import pytest
from django.core import mail
from django.urls import reverse

from orders.models import Order
from orders.services import LineIn, order_place
from tests.factories import make_product, org_of, stock


def _form(**overrides):
    data = {
        "end_customer_email": "new.customer@end.test",
        "end_customer_email_confirmation": "new.customer@end.test",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": "",
        "lines-0-quantity": "1",
        "lines-1-product": "",
        "lines-1-quantity": "1",
        "lines-2-product": "",
        "lines-2-quantity": "1",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_esd2_new_order_in_the_browser_form(
    client, reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-2: the address typed twice, several products and units; the order lands fulfilled."""
    stock(product, 2)
    stock(product2, 1)
    client.force_login(reseller)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:new"),
            _form(
                **{
                    "lines-0-product": product.pk,
                    "lines-0-quantity": "2",
                    "lines-1-product": product2.pk,
                    "lines-1-quantity": "1",
                    # Issue #13: placed from the confirmation step, at the prices it showed.
                    "lines-0-unit_price": str(product.unit_price),
                    "lines-1-unit_price": str(product2.unit_price),
                    "confirmed": "1",
                    "place": "1",
                }
            ),
        )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:detail", args=[order.pk])
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.reseller == org_of(reseller)


@pytest.mark.django_db
def test_esd2_all2_mismatched_addresses_keep_everything_typed(client, reseller, product):
    """ESD-2, ALL-2: the error sits next to the field and every value typed comes back."""
    client.force_login(reseller)
    response = client.post(
        reverse("orders:new"),
        _form(
            **{
                "end_customer_email": "typed@end.test",
                "end_customer_email_confirmation": "typo@end.test",
                "lines-0-product": product.pk,
                "lines-0-quantity": "7",
            }
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_end_customer_email_confirmation_error"' in html
    assert 'value="typed@end.test"' in html and 'value="typo@end.test"' in html
    assert 'value="7"' in html
    assert f'<option value="{product.pk}" selected>' in html
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_esd1_all2_form_offers_only_esd_products_and_rejects_others(client, reseller, product):
    """ESD-1, ALL-2: a server product is neither offered nor accepted; bad input is a message, not a 500."""
    server = make_product("WS2012-STD", esd_eligible=False, is_server=True, name="Windows Server 2012")
    client.force_login(reseller)
    html = client.get(reverse("orders:new")).content.decode()
    assert product.name in html and server.name not in html
    for overrides in (
        {"lines-0-product": server.pk},
        {"lines-0-product": "999999"},
        {"lines-0-product": "abc", "lines-0-quantity": "-3"},
        {"lines-0-product": product.pk, "lines-0-quantity": "100001"},
        {"lines-TOTAL_FORMS": "nonsense"},
        {},  # no product at all
    ):
        response = client.post(reverse("orders:new"), _form(**overrides))
        assert response.status_code == 200, overrides
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_all1_other_organisations_order_answers_404(client, reseller, other_reseller, product):
    """ALL-1: another organisation's order and a missing one answer the same 404; lists never mix."""
    theirs = order_place(
        reseller=org_of(other_reseller),
        placed_by=other_reseller,
        end_customer_email="theirs@end.test",
        lines=[LineIn(product_id=product.pk, quantity=1)],
    )
    mine = order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email="mine@end.test",
        lines=[LineIn(product_id=product.pk, quantity=1)],
    )
    client.force_login(reseller)
    assert client.get(reverse("orders:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("orders:detail", args=[999999])).status_code == 404
    assert client.get(reverse("orders:detail", args=[mine.pk])).status_code == 200
    listing = client.get(reverse("orders:list")).content.decode()
    assert "mine@end.test" in listing and "theirs@end.test" not in listing


@pytest.mark.django_db
def test_all1_only_resellers_reach_order_pages(client, end_customer, staff):
    for user in (end_customer, staff):
        client.force_login(user)
        assert client.get(reverse("orders:list")).status_code == 403
        assert client.get(reverse("orders:new")).status_code == 403
    client.logout()
    assert client.get(reverse("orders:list")).status_code == 302


@pytest.mark.django_db
def test_esd7_no_page_or_mail_the_reseller_can_reach_holds_a_key(
    client, reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-7: the reseller sees products, quantities, status, mail sent, accessed — never a key."""
    keys = stock(product, 2) + stock(product2, 1)
    client.force_login(reseller)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("orders:new"),
            _form(
                **{
                    "lines-0-product": product.pk,
                    "lines-0-quantity": "2",
                    "lines-1-product": product2.pk,
                    "lines-1-quantity": "1",
                    # Issue #13: placed from the confirmation step, at the prices it showed.
                    "lines-0-unit_price": str(product.unit_price),
                    "lines-1-unit_price": str(product2.unit_price),
                    "confirmed": "1",
                    "place": "1",
                }
            ),
        )
    order = Order.objects.get()
    assert order.status == Order.Status.FULFILLED
    # The customer reveals one, so the "accessed" state shows too.
    from locker.models import ProductKey

    customer = order.end_customer
    key = ProductKey.objects.filter(owner=customer).first()
    client.force_login(customer)
    client.post(reverse("locker:reveal", args=[key.pk]))
    client.force_login(reseller)

    pages = [
        reverse("orders:list"),
        reverse("orders:detail", args=[order.pk]),
        reverse("orders:new"),
        reverse("home") + "?x=1",
        reverse("locker:index"),
    ]
    bodies = [client.get(url, follow=True).content.decode() for url in pages]
    detail = bodies[1]
    assert "Yes" in detail and "Sent" in detail  # accessed, and welcome mail sent
    texts = bodies + [
        m.body + "".join(a[0] for a in getattr(m, "alternatives", [])) + m.subject for m in mail.outbox
    ]
    assert len(mail.outbox) == 1
    for text in texts:
        for k in keys:
            assert k not in text and k.replace("-", "") not in text


@pytest.mark.django_db
def test_order_list_query_count_does_not_grow(client, reseller, product, django_assert_max_num_queries):
    """The order list costs the same number of queries for 3 or 30 orders."""
    org = org_of(reseller)
    client.force_login(reseller)
    for i in range(30):
        order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email=f"c{i}@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
    with django_assert_max_num_queries(8):
        assert client.get(reverse("orders:list")).status_code == 200
