"""Webhooks: signed deliveries to a real local HTTP server, retries, the portal pages, SSRF refusal."""

import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from locker.models import ProductKey
from locker.services import key_reveal
from orders.models import OrderEvent
from orders.services import LineIn, order_cancel, order_place
from tests.factories import make_user, org_of, stock
from tests.webhooks.helpers import Receiver, guard_network
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """The fake DNS, and no connection beyond loopback (issue #10: this machine's network is loopback only)."""
    return guard_network(monkeypatch)


@pytest.fixture
def allow(settings):
    """Let exactly this receiver's address and port past the public-address check (webhook target)."""

    def _allow(receiver: Receiver) -> Receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [*settings.WEBHOOK_ALLOWED_TARGETS, receiver.target]
        return receiver

    return _allow


def _verify_as_documented(secret: str, header: str, body: bytes) -> bool:
    """The recipe from the README, written out independently of the portal's code."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    if abs(time.time() - int(fields["t"])) > 300:
        return False
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.mark.django_db
def test_webhook_order_fulfilled_is_signed_and_verifies(
    allow, reseller, product, django_capture_on_commit_callbacks
):
    """order.fulfilled arrives signed; the documented recipe verifies it; the body holds no key (ESD-7)."""
    keys = stock(product, 2)
    org = org_of(reseller)
    with allow(Receiver()) as receiver:
        endpoint, secret = services.endpoint_create(
            organisation=org,
            user=reseller,
            url=receiver.url,
            events=["order.fulfilled", "order.keys_accessed"],
        )
        with django_capture_on_commit_callbacks(execute=True):
            order = order_place(
                reseller=org,
                placed_by=reseller,
                end_customer_email="hook@end.test",
                lines=[LineIn(product_id=product.pk, quantity=2)],
            )
        services.dispatch_events()  # whatever the nudge already dispatched is not dispatched twice
        for delivery in WebhookDelivery.objects.filter(status="pending"):
            services.deliver(delivery_id=str(delivery.pk))
        assert len(receiver.requests) == 1
        headers, body = receiver.requests[0]
    assert headers["Portal-Event-Type"] == "order.fulfilled"
    assert _verify_as_documented(secret, headers["Portal-Signature"], body)
    assert services.verify(secret, headers["Portal-Signature"], body)
    assert not _verify_as_documented(secret, headers["Portal-Signature"], body.replace(b"hook@", b"evil@"))
    assert not _verify_as_documented("whsec_wrong", headers["Portal-Signature"], body)
    payload = json.loads(body)
    assert payload["type"] == "order.fulfilled" and payload["data"]["order"]["id"] == order.pk
    assert payload["data"]["order"]["status"] == "fulfilled"
    assert all(k.encode() not in body for k in keys)
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED
    # Secrets are sealed at rest.
    assert secret.encode() not in bytes(WebhookEndpoint.objects.get().secret_ciphertext)


@pytest.mark.django_db
def test_webhook_retries_after_a_500_and_records_each_answer(allow, reseller, product):
    org = org_of(reseller)
    with allow(Receiver(answers=[500, 503])) as receiver:
        endpoint, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.cancelled"]
        )
        order = order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        from orders.services import order_fulfil

        order_fulfil(order_id=order.pk)
        order_cancel(organisation=org, order_id=order.pk, actor=reseller)
        assert services.dispatch_events() == 1
        assert services.dispatch_events() == 0  # each event once
        delivery = WebhookDelivery.objects.get()
        outcomes = []
        for _ in range(3):
            outcomes.append(services.deliver(delivery_id=str(delivery.pk)))
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert len(receiver.requests) == 3
    assert [o[0] for o in outcomes] == ["retry", "retry", "succeeded"]
    assert outcomes[1][1] > outcomes[0][1]  # growing gaps
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.status == "succeeded"
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]


@pytest.mark.django_db
def test_webhook_gives_up_after_a_day(allow, reseller, product, settings):
    org = org_of(reseller)
    with allow(Receiver(answers=[500])) as receiver:
        services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.awaiting_stock"]
        )
        from orders.services import order_fulfil

        order = order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        order_fulfil(order_id=order.pk)
        services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            created_at=timezone.now() - timezone.timedelta(hours=25)
        )
        assert services.deliver(delivery_id=str(delivery.pk))[0] == "failed"


@pytest.mark.django_db
def test_webhook_to_private_or_loopback_addresses_is_refused(reseller, dns):
    # Made-up names stand for the private addresses: nothing is ever resolved or connected beyond loopback.
    dns.answer("intranet.shop.test", ["10.1.2.3"])
    dns.answer("metadata.shop.test", ["169.254.169.254"])
    org = org_of(reseller)
    for url in (
        "http://127.0.0.1:9/x",
        "http://intranet.shop.test/x",
        "http://[::1]/x",
        "http://metadata.shop.test/latest",
        "ftp://example.com/x",
    ):
        with pytest.raises(services.WebhookError):
            services.endpoint_create(organisation=org, user=reseller, url=url, events=["order.fulfilled"])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_webhook_keys_accessed_event_is_recorded_once(reseller, product, django_capture_on_commit_callbacks):
    stock(product, 2)
    org = org_of(reseller)
    with django_capture_on_commit_callbacks(execute=True):
        order = order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email="open@end.test",
            lines=[LineIn(product_id=product.pk, quantity=2)],
        )
    for key in ProductKey.objects.filter(owner__email="open@end.test"):
        with django_capture_on_commit_callbacks(execute=True):
            key_reveal(key_id=key.pk, user=key.owner, ip=None, user_agent="")
    assert order.events.filter(kind=OrderEvent.Kind.KEYS_ACCESSED).count() == 1


@pytest.mark.django_db
def test_webhook_portal_pages_list_deliveries_and_redeliver(client, allow, reseller, other_reseller, product):
    org = org_of(reseller)
    client.force_login(reseller)
    with allow(Receiver(answers=[500])) as receiver:
        response = client.post(
            reverse("webhooks:list"), {"url": receiver.url, "events": ["order.awaiting_stock"]}
        )
        html = response.content.decode()
        assert 'id="secret-value"' in html and response["Cache-Control"].startswith("no-store")
        endpoint = WebhookEndpoint.objects.get()
        from orders.services import order_fulfil

        order = order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email="c@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        order_fulfil(order_id=order.pk)
        services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        services.deliver(delivery_id=str(delivery.pk))
        page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
        assert "order.awaiting_stock" in page and "HTTP 500" in page
        client.post(reverse("webhooks:redeliver", args=[delivery.pk]))
        copy = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
        assert copy.event_id == delivery.event_id and copy.redelivery_of == delivery
        services.deliver(delivery_id=str(copy.pk))
        assert len(receiver.requests) == 2
        assert "HTTP 200" in client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    # Another organisation sees nothing of it; a member who is not an administrator neither.
    client.force_login(other_reseller)
    assert client.get(reverse("webhooks:detail", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhooks:redeliver", args=[delivery.pk])).status_code == 404
    client.force_login(make_user(org, role="member"))
    assert client.get(reverse("webhooks:list")).status_code == 403
    # The form keeps what was typed and says what is wrong next to the field.
    client.force_login(reseller)
    response = client.post(reverse("webhooks:list"), {"url": "not a url", "events": []})
    assert 'value="not a url"' in response.content.decode() and "errorlist" in response.content.decode()


def _awaiting_stock_event(org, user, product):
    """An order with no stock: recording its order.awaiting_stock event, the one the tests below subscribe to."""
    from orders.services import order_fulfil

    order = order_place(
        reseller=org,
        placed_by=user,
        end_customer_email="c@end.test",
        lines=[LineIn(product_id=product.pk, quantity=1)],
    )
    order_fulfil(order_id=order.pk)
    return order


def _deliver_all_due():
    """What the sweeper does: every due delivery gets one try."""
    for delivery_id in services.deliveries_due():
        services.deliver(delivery_id=delivery_id)


@pytest.mark.django_db
def test_webhook_redeliver_on_a_disabled_endpoint_is_refused(allow, reseller, product):
    """ALL-5, webhook: a disabled endpoint gets no redelivery; the refusal says why, nothing is posted."""
    org = org_of(reseller)
    with allow(Receiver()) as receiver:
        endpoint, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.awaiting_stock"]
        )
        _awaiting_stock_event(org, reseller, product)
        services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        assert services.deliver(delivery_id=str(delivery.pk))[0] == "succeeded"
        services.endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, active=False)
        with pytest.raises(services.WebhookError) as refused:
            services.redeliver(organisation=org, delivery_id=str(delivery.pk))
        assert refused.value.code == "endpoint_disabled" and "disabled" in refused.value.message
        assert WebhookDelivery.objects.count() == 1
        _deliver_all_due()
        assert (
            len(receiver.requests) == 1
        )  # only the original delivery, from before the endpoint was disabled


@pytest.mark.django_db
def test_webhook_portal_redeliver_on_a_disabled_endpoint(client, allow, reseller, other_reseller, product):
    """ALL-1, ALL-5, webhook: the page offers no Redeliver while disabled, a POST is refused with a message,
    nothing is posted; another organisation gets 404 for the redeliver page either way."""
    org = org_of(reseller)
    with allow(Receiver()) as receiver:
        endpoint, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.awaiting_stock"]
        )
        _awaiting_stock_event(org, reseller, product)
        services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        services.deliver(delivery_id=str(delivery.pk))
        redeliver_url = reverse("webhooks:redeliver", args=[delivery.pk])
        detail_url = reverse("webhooks:detail", args=[endpoint.pk])
        client.force_login(reseller)
        assert redeliver_url in client.get(detail_url).content.decode()
        client.force_login(other_reseller)
        assert client.post(redeliver_url).status_code == 404
        client.force_login(reseller)
        client.post(reverse("webhooks:toggle", args=[endpoint.pk]), {"active": "0"})
        assert redeliver_url not in client.get(detail_url).content.decode()
        response = client.post(redeliver_url, follow=True)
        assert response.redirect_chain[-1][0] == detail_url
        page = response.content.decode()
        assert 'class="msg msg--error"' in page and "enable it before redelivering" in page
        assert redeliver_url not in page
        assert WebhookDelivery.objects.count() == 1
        _deliver_all_due()
        assert len(receiver.requests) == 1
        client.force_login(other_reseller)
        assert client.post(redeliver_url).status_code == 404
        assert client.get(detail_url).status_code == 404
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_webhook_pending_delivery_of_an_endpoint_disabled_meanwhile_is_held(allow, reseller, product):
    """ALL-5, webhook: a pending delivery whose endpoint was disabled posts nothing, makes no attempt row and
    is not handed out by the sweep again and again; re-enabled within the retry window, it goes out."""
    org = org_of(reseller)
    with allow(Receiver()) as receiver:
        endpoint, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.awaiting_stock"]
        )
        _awaiting_stock_event(org, reseller, product)
        services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        services.endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, active=False)
        assert services.deliver(delivery_id=str(delivery.pk))[0] == "held"  # the task does not reschedule
        for _ in range(3):
            WebhookDelivery.objects.update(next_attempt_at=timezone.now())
            assert services.deliveries_due() == []
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 0
        assert not delivery.attempt_log.exists()
        assert receiver.requests == []
        services.endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, active=True)
        _deliver_all_due()
        assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1


@pytest.mark.django_db
def test_webhook_held_delivery_fails_when_the_retry_window_ends(allow, reseller, product):
    """ALL-5, webhook: a delivery held by a disabled endpoint past WEBHOOK_RETRY_HOURS is marked failed, with
    the reason, by the sweep (no attempt, nothing posted), and re-enabling does not send it any more."""
    org = org_of(reseller)
    with allow(Receiver()) as receiver:
        endpoint, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.awaiting_stock"]
        )
        _awaiting_stock_event(org, reseller, product)
        services.dispatch_events()
        services.endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, active=False)
        WebhookDelivery.objects.update(created_at=timezone.now() - timezone.timedelta(hours=25))
        assert services.deliveries_due() == []
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed" and delivery.failed_because == "endpoint_disabled"
        assert not delivery.attempt_log.exists()
        services.endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, active=True)
        _deliver_all_due()
        assert receiver.requests == []


@pytest.mark.django_db
def test_webhook_endpoint_gets_only_events_from_after_it_was_created(allow, reseller, product):
    """ALL-5, webhook: an endpoint created after an order event gets no delivery of it; one created before
    does. A disabled endpoint is not subscribed: events from while it was disabled are not delivered."""
    org = org_of(reseller)
    with allow(Receiver()) as early, allow(Receiver()) as late:
        before, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=early.url, events=["order.awaiting_stock"]
        )
        first = _awaiting_stock_event(org, reseller, product)
        after, _secret = services.endpoint_create(
            organisation=org, user=reseller, url=late.url, events=["order.awaiting_stock"]
        )
        assert services.dispatch_events() == 1
        assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [before.pk]
        # Disabled, an event happens, enabled again before any dispatch ran: that event is not delivered.
        services.endpoint_set_active(organisation=org, endpoint_id=before.pk, active=False)
        second = _awaiting_stock_event(org, reseller, product)
        services.endpoint_set_active(organisation=org, endpoint_id=before.pk, active=True)
        third = _awaiting_stock_event(org, reseller, product)
        assert services.dispatch_events() == 3  # the second to `after` only, the third to both
        _deliver_all_due()
        orders = [[json.loads(body)["data"]["order"]["id"] for _h, body in r.requests] for r in (early, late)]
        assert sorted(orders[0]) == [first.pk, third.pk]
        assert sorted(orders[1]) == [second.pk, third.pk]
