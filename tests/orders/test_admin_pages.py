"""The admin as staff read it (issue #13): read-only pages offer no Save, an order's history shows once, an
import's rejected lines read as numbers, event rows in local time (ESD-8, ALL-3)."""

import re

import pytest
from django.urls import reverse

from locker.models import KeyImport
from orders.models import Order
from tests.factories import login_staff_with_mfa, make_product, place_order, stock


@pytest.mark.django_db
def test_all3_order_page_is_read_only_with_one_history(
    client, staff, reseller, django_capture_on_commit_callbacks
):
    """ALL-3: an order's page shows its history once (events, reveals, key events together) and offers no
    Save button: orders change only through their services; a POST to the page is refused."""
    product = make_product()
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(reseller, (product, 1), email="c@end.test")
    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED
    login_staff_with_mfa(client, staff)
    url = reverse("admin:orders_order_change", args=[order.pk])
    html = client.get(url).content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert html.count("Order placed") == 1  # the placed event, in the one history
    assert client.post(url, {}).status_code == 403
    invoice_html = client.get(reverse("admin:orders_invoice_changelist")).content.decode()
    assert "Add invoice" not in invoice_html


@pytest.mark.django_db
def test_esd8_key_import_lines_read_as_numbers(client, staff):
    """An import's rejected lines are listed as line numbers (never their content), without list brackets."""
    product = make_product()
    job = KeyImport.objects.create(
        product=product,
        uploaded_by=staff,
        status=KeyImport.Status.DONE,
        duplicate_lines=[3, 7, 12],
        malformed_lines=list(range(1, 61)),
    )
    login_staff_with_mfa(client, staff)
    html = client.get(reverse("admin:locker_keyimport_change", args=[job.pk])).content.decode()
    assert "3, 7, 12" in html and "[3, 7, 12]" not in html
    assert re.search(r"1, 2, 3, .*?, 50 and 10 more", html)
