"""ESD order lifecycle: corrections (ESD-14), resends (ESD-12), cancellation (ESD-10), invoices (ESD-6)."""

import re
import threading
from functools import partial

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from locker.models import KeyEvent, ProductKey
from locker.services import key_reveal
from orders.mail import set_password_url
from orders.models import Invoice, Order, OrderEvent
from orders.services import (
    LineIn,
    OrderError,
    order_cancel,
    order_correct_email,
    order_fulfil,
    order_place,
    welcome_mail_resend,
)
from tests.conftest import run_concurrently
from tests.factories import make_product, org_of, stock

NEW_PASSWORD = "Amber-Window-Castle-77"


@pytest.fixture
def fulfilled(reseller, product, django_capture_on_commit_callbacks):
    stock(product, 3)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="wrong@typo.test",
            lines=[LineIn(product_id=product.pk, quantity=2)],
        )
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    mail.outbox.clear()
    return order


def _correct(order, reseller, new_email="right@customer.test"):
    return order_correct_email(
        organisation=org_of(reseller), order_id=order.pk, actor=reseller, new_email=new_email
    )


def _link_works(client, url: str) -> bool:
    path = re.sub(r"^https?://[^/]+", "", url)
    html = client.get(path, follow=True).content.decode()
    client.logout()
    return 'name="password1"' in html


# --- ESD-14 ----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd14_correction_moves_keys_kills_old_links_and_sends_nothing(client, fulfilled, reseller):
    """ESD-14: unused mail → keys move to the corrected address, old links die, no mail, event recorded."""
    old_account = fulfilled.end_customer
    old_link = set_password_url(old_account)
    assert _link_works(client, old_link)

    _correct(fulfilled, reseller, "Right@Customer.test")

    fulfilled.refresh_from_db()
    new_account = User.objects.get(email="right@customer.test")
    assert fulfilled.end_customer == new_account and fulfilled.end_customer_email == "right@customer.test"
    assert ProductKey.objects.filter(owner=new_account).count() == 2
    assert not ProductKey.objects.filter(owner=old_account).exists()
    assert not _link_works(client, old_link)
    assert mail.outbox == []
    assert fulfilled.welcome_mail_status == Order.MailStatus.NOT_SENT
    event = fulfilled.events.get(kind=OrderEvent.Kind.CORRECTED)
    assert event.actor == reseller
    assert event.data == {"from": "wrong@typo.test", "to": "right@customer.test", "keys_moved": 2}
    assert KeyEvent.objects.filter(kind=KeyEvent.Kind.REASSIGNED, actor=reseller).count() == 2
    # The new address gets in through "forgot password" and sees the keys.
    assert _link_works(client, set_password_url(new_account))


@pytest.mark.django_db
def test_esd14_refused_after_a_key_was_revealed(fulfilled, reseller):
    key = ProductKey.objects.filter(owner=fulfilled.end_customer).first()
    key_reveal(key_id=key.pk, user=fulfilled.end_customer, ip="198.51.100.1", user_agent="test")
    with pytest.raises(OrderError) as exc:
        _correct(fulfilled, reseller)
    assert exc.value.code == "correction_refused" and "revealed" in exc.value.message
    fulfilled.refresh_from_db()
    assert fulfilled.end_customer_email == "wrong@typo.test"
    assert not fulfilled.events.filter(kind=OrderEvent.Kind.CORRECTED).exists()


@pytest.mark.django_db
def test_esd14_refused_after_the_locker_account_set_a_password(fulfilled, reseller):
    from accounts.adapter import PortalAccountAdapter

    PortalAccountAdapter().set_password(fulfilled.end_customer, NEW_PASSWORD)
    with pytest.raises(OrderError) as exc:
        _correct(fulfilled, reseller)
    assert "can no longer be corrected" in exc.value.message  # no account fact named (ESD-15)


@pytest.mark.django_db
def test_esd14_refused_after_the_locker_account_logged_in(fulfilled, reseller):
    User.objects.filter(pk=fulfilled.end_customer_id).update(last_login=timezone.now())
    with pytest.raises(OrderError):
        _correct(fulfilled, reseller)


@pytest.mark.django_db
def test_esd14_order_not_yet_fulfilled_is_simply_readdressed(
    reseller, product, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="wrong@typo.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_STOCK
    _correct(order, reseller)
    with django_capture_on_commit_callbacks(execute=True):
        stock(product, 1)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.end_customer.email == "right@customer.test"
    assert mail.outbox[-1].to == ["right@customer.test"]


@pytest.mark.django_db
def test_esd14_all1_all2_bad_input_and_other_organisations(fulfilled, reseller, other_reseller):
    for bad in ("", "nope", "wrong@typo.test"):
        with pytest.raises(OrderError) as exc:
            _correct(fulfilled, reseller, bad)
        assert exc.value.field == "new_email"
    with pytest.raises(Order.DoesNotExist):
        order_correct_email(
            organisation=org_of(other_reseller),
            order_id=fulfilled.pk,
            actor=other_reseller,
            new_email="x@y.test",
        )


@pytest.mark.django_db
def test_esd14_correction_in_the_browser_form(client, fulfilled, reseller, other_reseller):
    """ESD-14: the page tells the reseller to have the customer use "forgot password"; refusals say why."""
    url = reverse("orders:correct_email", args=[fulfilled.pk])
    client.force_login(other_reseller)
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"new_email": "a@b.test", "new_email_confirmation": "a@b.test"}).status_code == 404
    )
    client.force_login(reseller)
    response = client.post(
        url, {"new_email": "right@customer.test", "new_email_confirmation": "other@customer.test"}
    )
    assert response.status_code == 200 and 'value="right@customer.test"' in response.content.decode()
    response = client.post(
        url,
        {"new_email": "right@customer.test", "new_email_confirmation": "right@customer.test"},
        follow=True,
    )
    html = response.content.decode()
    assert "Forgot password" in html and "right@customer.test" in html
    key = ProductKey.objects.filter(owner__email="right@customer.test").first()
    key_reveal(key_id=key.pk, user=key.owner, ip=None, user_agent="")
    html = client.get(url).content.decode()
    assert 'id="correction-refused"' in html and 'name="new_email"' not in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_esd14_reveal_and_correction_racing_end_with_exactly_one_winner(reseller, product):
    """ESD-14, LOCK-4: a reveal and a correction at the same moment: exactly one of them happens."""
    outcomes = {"reveal": 0, "correction": 0}
    stock(product, 40)
    for i in range(20):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email=f"race{i}@typo.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        order_fulfil(order_id=order.pk)
        order.refresh_from_db()
        customer = order.end_customer
        key = ProductKey.objects.get(owner=customer)
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def reveal(key_id=key.pk, customer=customer, results=results, barrier=barrier):
            barrier.wait()
            try:
                results["reveal"] = key_reveal(
                    key_id=key_id, user=customer, ip="192.0.2.1", user_agent="t"
                ).plaintext
            except ProductKey.DoesNotExist:
                results["reveal"] = None
            finally:
                connection.close()

        def correct(order=order, i=i, results=results, barrier=barrier):
            barrier.wait()
            try:
                _correct(order, reseller, f"race{i}@right.test")
                results["correction"] = True
            except OrderError:
                results["correction"] = False
            finally:
                connection.close()

        threads = [threading.Thread(target=reveal), threading.Thread(target=correct)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        revealed, corrected = results["reveal"] is not None, results["correction"]
        assert revealed != corrected, f"round {i}: revealed={revealed} corrected={corrected}"
        key.refresh_from_db()
        if corrected:
            outcomes["correction"] += 1
            assert key.owner.email == f"race{i}@right.test" and key.revealed_at is None
        else:
            outcomes["reveal"] += 1
            assert key.owner == customer and key.revealed_at is not None
    assert sum(outcomes.values()) == 20


# --- ESD-12: resend ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd12_resend_issues_a_fresh_link_and_kills_the_previous(
    client, fulfilled, reseller, settings, django_capture_on_commit_callbacks
):
    settings.WELCOME_MAIL_RESENDS_PER_HOUR = 2
    first_link = set_password_url(fulfilled.end_customer, fulfilled)
    reset_link = set_password_url(fulfilled.end_customer)  # "forgot password": per account, not the order's
    org = org_of(reseller)
    with django_capture_on_commit_callbacks(execute=True):
        welcome_mail_resend(organisation=org, order_id=fulfilled.pk, actor=reseller)
    assert len(mail.outbox) == 1
    fresh_link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)
    assert fresh_link != first_link
    assert not _link_works(client, first_link)
    assert _link_works(client, fresh_link)
    assert _link_works(client, reset_link)
    fulfilled.refresh_from_db()
    assert fulfilled.welcome_mail_status == Order.MailStatus.SENT
    assert fulfilled.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_RESENT, actor=reseller).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        welcome_mail_resend(organisation=org, order_id=fulfilled.pk, actor=reseller)
    with pytest.raises(OrderError) as exc:
        welcome_mail_resend(organisation=org, order_id=fulfilled.pk, actor=reseller)
    assert exc.value.code == "resend_throttled"
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_esd12_resend_button_for_the_reseller_only(
    client, fulfilled, reseller, other_reseller, django_capture_on_commit_callbacks
):
    url = reverse("orders:resend_welcome", args=[fulfilled.pk])
    client.force_login(other_reseller)
    assert client.post(url).status_code == 404
    client.force_login(reseller)
    assert client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "fresh link" in response.content.decode()
    assert len(mail.outbox) == 1


# --- ESD-10: no returns ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd10_fulfilled_order_cannot_be_cancelled(client, fulfilled, reseller):
    with pytest.raises(OrderError) as exc:
        order_cancel(organisation=org_of(reseller), order_id=fulfilled.pk, actor=reseller)
    assert exc.value.code == "not_cancellable"
    client.force_login(reseller)
    html = client.get(reverse("orders:detail", args=[fulfilled.pk])).content.decode()
    assert reverse("orders:cancel", args=[fulfilled.pk]) not in html
    client.post(reverse("orders:cancel", args=[fulfilled.pk]))
    assert Order.objects.get(pk=fulfilled.pk).status == Order.Status.FULFILLED


@pytest.mark.django_db
def test_esd10_order_awaiting_stock_can_be_cancelled_releasing_nothing(
    client, reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    other = make_product()
    kept = stock(other, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=other.pk, quantity=1), LineIn(product_id=product.pk, quantity=1)],
        )
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_STOCK
    url = reverse("orders:cancel", args=[order.pk])
    client.force_login(other_reseller)
    assert client.post(url).status_code == 404
    client.force_login(reseller)
    assert url in client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    client.post(url)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancelled_at is not None
    assert order.events.get(kind="cancelled").actor == reseller
    assert ProductKey.objects.filter(product=other, status="available").count() == len(kept)
    with django_capture_on_commit_callbacks(execute=True):
        stock(product, 1)  # stock arriving later does not revive it
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert not Invoice.objects.filter(order=order).exists()


# --- ESD-6: invoices -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd6_invoice_exists_if_and_only_if_fulfilled(
    client, reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    product.unit_price = Decimal("120.50")
    product.save()
    with django_capture_on_commit_callbacks(execute=True):
        waiting = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=product.pk, quantity=2)],
        )
    assert not Invoice.objects.filter(order=waiting).exists()
    keys = stock(product, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order_fulfil(order_id=waiting.pk)
    invoice = Invoice.objects.get(order=waiting)
    year = timezone.localtime(invoice.issued_at).year
    assert invoice.number == f"ESD/{year}/000001"
    assert invoice.net_total == Decimal("241.00") and invoice.vat_total == Decimal("55.43")
    assert invoice.gross_total == Decimal("296.43")

    url = reverse("orders:invoice_pdf", args=[waiting.pk])
    client.force_login(other_reseller)
    assert client.get(url).status_code == 404
    client.force_login(reseller)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF") and invoice.number.encode() in pdf
    assert all(k.encode() not in pdf for k in keys)
    assert url in client.get(reverse("orders:detail", args=[waiting.pk])).content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_esd6_twenty_concurrent_fulfilments_number_invoices_without_gaps(reseller, product):
    """ESD-6: 20 fulfilments at once on PostgreSQL: 20 invoices numbered 1..20, no gap, no duplicate."""
    stock(product, 20)
    orders = [
        order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email=f"i{i}@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        for i in range(20)
    ]
    run_concurrently([partial(order_fulfil, order_id=o.pk) for o in orders])
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 20
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 21))
    assert Invoice.objects.values("number").distinct().count() == 20
