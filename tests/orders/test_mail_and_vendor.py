"""The welcome mail against a real SMTP server that refuses (ESD-12), and the vendor gateway (ESD-4, ESD-5)."""

import pytest
from django.urls import reverse

from locker.models import ProductKey
from orders.models import Order, OrderEvent, VendorRequest
from orders.services import LineIn, order_place
from orders.tasks import backoff
from orders.vendor import SimulatedVendor, VendorTemporaryError
from tests.conftest import SmtpCatcher
from tests.factories import login_staff_with_mfa, org_of, stock


@pytest.fixture(autouse=True)
def _eager_retries():
    """In-process tasks run their retries only when errors are not propagated (Celery's eager apply)."""
    from portal.celery import app

    old = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = old


class RefusingSmtp(SmtpCatcher):
    """A real SMTP server that answers "try again later" to the first ``refusals`` messages."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.attempts += 1
        if self.attempts <= self.refusals:
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_smtp(request, settings):
    server = RefusingSmtp(request.param)
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.MAIL_RETRY_BASE_SECONDS = 0
    settings.MAIL_MAX_RETRIES = 4
    yield server
    server.controller.stop()


def _place(reseller, product, email="c@end.test", quantity=1):
    return order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email=email,
        lines=[LineIn(product_id=product.pk, quantity=quantity)],
    )


@pytest.mark.parametrize("refusing_smtp", [3], indirect=True)
@pytest.mark.django_db
def test_esd12_smtp_refusing_three_times_then_accepting_delivers(
    refusing_smtp, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-12: SMTP errors are retried; the mail goes out on a later attempt."""
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(reseller, product)
    order.refresh_from_db()
    assert refusing_smtp.attempts == 4 and len(refusing_smtp.messages) == 1
    assert order.welcome_mail_status == Order.MailStatus.SENT and order.welcome_mail_error == ""
    assert order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_SENT).count() == 1


@pytest.mark.parametrize("refusing_smtp", [1000], indirect=True)
@pytest.mark.django_db
def test_esd12_smtp_never_accepting_ends_failed_and_visible(
    client, refusing_smtp, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-12: a mail that cannot be delivered ends in a failed state the reseller sees, with the reason."""
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(reseller, product)
    order.refresh_from_db()
    assert refusing_smtp.attempts == 5  # the first try and MAIL_MAX_RETRIES retries
    assert order.welcome_mail_status == Order.MailStatus.FAILED
    assert "Mailbox busy" in order.welcome_mail_error
    assert order.events.get(kind=OrderEvent.Kind.WELCOME_MAIL_FAILED).data["reason"]
    client.force_login(reseller)
    html = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Failed" in html and "Mailbox busy" in html and "Resend welcome mail" in html


class PermanentlyRefusingSmtp(SmtpCatcher):
    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.attempts += 1
        return "550 5.1.1 No such mailbox"


@pytest.mark.django_db
def test_esd12_permanent_refusal_fails_at_once(
    settings, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-12: a 5xx answer (no such mailbox) is not retried; the reseller sees it at once."""
    server = PermanentlyRefusingSmtp()
    server.controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        stock(product, 1)
        with django_capture_on_commit_callbacks(execute=True):
            order = _place(reseller, product)
    finally:
        server.controller.stop()
    order.refresh_from_db()
    assert server.attempts == 1
    assert (
        order.welcome_mail_status == Order.MailStatus.FAILED and "No such mailbox" in order.welcome_mail_error
    )


@pytest.mark.django_db
def test_all5_a_mail_being_sent_is_not_sent_twice(reseller, product, django_capture_on_commit_callbacks):
    """ALL-5: while one sender holds the claim, a duplicate of the task sends nothing."""
    from datetime import timedelta

    from django.core import mail as outbox
    from django.utils import timezone

    from orders.mail import welcome_mail_send

    stock(product, 1)
    order = _place(reseller, product)
    from orders.services import order_fulfil

    order_fulfil(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(welcome_mail_claimed_until=timezone.now() + timedelta(minutes=1))
    assert welcome_mail_send(order_id=order.pk) is False
    Order.objects.filter(pk=order.pk).update(welcome_mail_claimed_until=timezone.now() - timedelta(seconds=1))
    assert welcome_mail_send(order_id=order.pk) is True  # an expired claim (a dead sender) is taken over
    assert welcome_mail_send(order_id=order.pk) is False
    assert len(outbox.outbox) == 1


def test_esd12_retry_gaps_grow():
    gaps = [backoff(10, attempt) for attempt in range(8)]
    assert gaps == [10, 20, 40, 80, 160, 320, 640, 1280]
    assert backoff(10, 20) == 3600


@pytest.mark.django_db
def test_esd4_short_pool_is_topped_up_by_the_vendor(
    reseller, product, settings, django_capture_on_commit_callbacks
):
    """ESD-4, ESD-5: keys missing from the pool are requested from the vendor; the order completes by itself."""
    settings.VENDOR_GATEWAY = "simulated"
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(reseller, product, quantity=3)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    request = VendorRequest.objects.get(order=order)
    assert (
        request.quantity == 2 and request.status == VendorRequest.Status.DELIVERED and request.attempts == 1
    )
    assert ProductKey.objects.filter(owner=order.end_customer).count() == 3
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[:3] == ["placed", "awaiting_stock", "vendor_requested"] and "fulfilled" in kinds


@pytest.mark.django_db
def test_esd4_transient_vendor_errors_are_retried(
    reseller, product, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.VENDOR_GATEWAY = "simulated"
    real = SimulatedVendor.issue_keys
    calls = {"n": 0}

    def flaky(self, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise VendorTemporaryError("vendor: 503")
        return real(self, **kwargs)

    monkeypatch.setattr(SimulatedVendor, "issue_keys", flaky)
    monkeypatch.setattr("orders.tasks.backoff", lambda base, attempt, cap=3600.0: 0)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(reseller, product, quantity=2)
    order.refresh_from_db()
    assert calls["n"] == 3
    assert order.status == Order.Status.FULFILLED
    assert VendorRequest.objects.get(order=order).attempts == 3


@pytest.mark.django_db
def test_esd5_vendor_giving_up_leaves_the_order_waiting_and_visible(
    reseller, product, settings, django_capture_on_commit_callbacks
):
    settings.VENDOR_GATEWAY = "simulated"
    settings.VENDOR_SIM_FAILURE_RATE = 1.0
    settings.VENDOR_MAX_RETRIES = 2
    import orders.tasks

    orig = orders.tasks.backoff
    orders.tasks.backoff = lambda base, attempt, cap=3600.0: 0
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = _place(reseller, product, quantity=2)
    finally:
        orders.tasks.backoff = orig
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_STOCK
    request = VendorRequest.objects.get(order=order)
    assert request.status == VendorRequest.Status.FAILED and request.attempts == 3
    assert order.events.filter(kind=OrderEvent.Kind.VENDOR_FAILED).exists()


@pytest.mark.django_db
def test_esd5_staff_see_stock_available_delivered_awaited_and_low(
    client, staff, reseller, product, product2, django_capture_on_commit_callbacks
):
    """ESD-5: per product, staff see keys available, delivered and awaited, and a low-stock warning."""
    product.low_stock_threshold = 5
    product.save()
    stock(product, 3)
    stock(product2, 30)
    with django_capture_on_commit_callbacks(execute=True):
        _place(reseller, product, quantity=1)
        _place(reseller, product, email="d@end.test", quantity=7)
    login_staff_with_mfa(client, staff)
    html = client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "Low stock" in html
    low = client.get(reverse("admin:catalog_product_changelist") + "?stock=low").content.decode()
    assert product.sku in low and product2.sku not in low
    awaited = client.get(reverse("admin:catalog_product_changelist") + "?stock=awaited").content.decode()
    assert product.sku in awaited and product2.sku not in awaited
    cells = client.get(reverse("admin:catalog_product_changelist") + f"?q={product.sku}").content.decode()
    assert '<td class="field-delivered">1</td>' in cells and '<td class="field-awaited">7</td>' in cells


@pytest.mark.parametrize("refusing_smtp", [1000], indirect=True)
@pytest.mark.django_db
def test_esd12_final_mail_failure_raises_a_staff_alert(
    client, refusing_smtp, staff, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-12: a mail that fails for good alerts staff in the admin."""
    from django.urls import reverse

    from orders.models import StaffAlert

    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = _place(reseller, product)
    alert = StaffAlert.objects.get()
    assert (
        alert.order_id == order.pk and alert.kind == "welcome_mail_failed" and "Mailbox busy" in alert.message
    )
    login_staff_with_mfa(client, staff)
    html = client.get(reverse("admin:orders_staffalert_changelist")).content.decode()
    assert f"#{order.pk}" in html
