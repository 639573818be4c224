"""ESD-7, issue #10 item 3: the webhook target filter and the client read a URL the same way.

Every test runs behind the network guard (tests/webhooks/conftest.py): names resolve only through the fake
DNS, and any connection to an address other than 127.0.0.1 or ::1 fails the test. Addresses the filter must
refuse are only ever *returned* by the fake DNS, never connected to.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import unicodedata
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from tests.factories import org_of
from tests.webhooks.helpers import LocalCA, Receiver
from webhooks import services, targets
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

ATTACK_URL = "http://127.0.0.1:9911\\@1.1.1.1/"


def _create(reseller, url):
    return services.endpoint_create(
        organisation=org_of(reseller), user=reseller, url=url, events=["order.fulfilled"]
    )


def _refused(reseller, url) -> services.WebhookError:
    with pytest.raises(services.WebhookError) as caught:
        _create(reseller, url)
    assert caught.value.field == "url" and caught.value.message
    return caught.value


def _delivery(endpoint) -> WebhookDelivery:
    from django.utils import timezone

    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="evt_1",
        event_type="order.fulfilled",
        payload={"id": "evt_1", "type": "order.fulfilled", "data": {}},
        next_attempt_at=timezone.now(),
    )


def _deliver(endpoint) -> tuple[str, WebhookAttempt]:
    delivery = _delivery(endpoint)
    outcome, _retry_in = services.deliver(delivery_id=str(delivery.pk))
    return outcome, delivery.attempt_log.get()


# --- parsing: refused before anything is resolved --------------------------------------------------------
@pytest.mark.django_db
def test_webhook_target_backslash_attack_url_is_refused_before_any_lookup(reseller, dns):
    """ESD-7: the URL urlsplit read as host 1.1.1.1 and requests as 127.0.0.1:9911 is refused when parsed."""
    error = _refused(reseller, ATTACK_URL)
    assert error.code == "url_characters"
    assert dns.lookups == []  # not even the IP literals were looked up
    assert not WebhookEndpoint.objects.exists()


UNREADABLE_URLS = [
    ("http://hooks.shop.test\\.evil.test/x", "url_characters"),
    ("http://hooks.shop.test/x\\y", "url_characters"),
    ("http://user:secret@hooks.shop.test/x", "url_credentials"),
    ("http://hooks.shop.test@hooks.other.test/x", "url_credentials"),
    ("http://@hooks.shop.test/x", "url_credentials"),
    ("http://hooks.shop.test:99999/x", "invalid_port"),
    ("http://hooks.shop.test:65536/x", "invalid_port"),
    ("http://hooks.shop.test:0/x", "invalid_port"),
    ("http://hooks.shop.test:80a/x", "invalid_port"),
    ("http://hooks.shop.test:+80/x", "invalid_port"),
    ("http://hooks.shop.test:/x", "invalid_port"),
    ("http://hooks.shop.test:80:81/x", "invalid_port"),
    ("http://hooks.shop.test /x", "url_characters"),
    (" http://hooks.shop.test/x", "url_characters"),
    ("http://hooks.shop.test/x\ty", "url_characters"),
    ("http://hooks.shop.test/x\r\nHost: evil", "url_characters"),
    ("http://hooks.shop.test/x\x00", "url_characters"),
    ("http://hooks.shop.test/\x7f", "url_characters"),
    ("http://hoöks.shop.test/x", "url_characters"),
    ("http://127。0。0。1/x", "url_characters"),
    ("http://hooks.shop.test/\u202ex", "url_characters"),
    ("ftp://hooks.shop.test/x", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("http:///x", "invalid_url"),
    ("http:hooks.shop.test/x", "invalid_url"),
    ("//hooks.shop.test/x", "invalid_url"),
    ("", "invalid_url"),
    ("http://hooks.shop.test/" + "x" * 500, "invalid_url"),
    ("http://2130706433/x", "invalid_host"),
    ("http://127.1/x", "invalid_host"),
    ("http://0x7f.0.0.1/x", "invalid_host"),
    ("http://0177.0.0.1/x", "invalid_host"),
    ("http://hooks.0x7f/x", "invalid_host"),
    ("http://[::1%25lo]/x", "invalid_host"),
    ("http://[hooks.shop.test]/x", "invalid_host"),
    ("http://[::1/x", "invalid_host"),
    ("http://-hooks.shop.test/x", "invalid_host"),
    ("http://hooks..shop.test/x", "invalid_host"),
    ("http://hooks_shop.test/x", "invalid_host"),
    ("http://%68ooks.shop.test/x", "invalid_host"),
]


def _outcome(reseller, dns, url) -> str:
    """The refusal code for ``url`` (or what went wrong instead), and whether anything was looked up."""
    dns.lookups.clear()
    try:
        _create(reseller, url)
    except services.WebhookError as exc:
        outcome = exc.code if exc.field == "url" and exc.message else f"{exc.code} (field {exc.field})"
    except Exception as exc:  # noqa: BLE001 (a 500 is what the test must rule out)
        outcome = f"crashed: {exc!r}"
    else:
        outcome = "accepted"
    return outcome + (f" after looking up {dns.lookups}" if dns.lookups else "")


@pytest.mark.django_db
def test_webhook_target_urls_parsers_read_differently_are_refused(reseller, dns):
    """ESD-7: backslashes, credentials, bad ports, whitespace and control characters, other schemes and
    ambiguous hosts are refused cleanly (a WebhookError for the url field, never a 500), unresolved."""
    dns.answer("hooks.shop.test", ["127.0.0.1"])
    wrong = {}
    for url, code in UNREADABLE_URLS:
        outcome = _outcome(reseller, dns, url)
        if outcome != code:
            wrong[url] = outcome
    assert wrong == {}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_webhook_target_refusal_shows_next_to_the_url_field(client, reseller, dns):
    """ESD-7: the form says why next to the URL field and keeps what was typed (no 500 for port 99999)."""
    dns.answer("intranet.shop.test", ["10.1.2.3"])
    client.force_login(reseller)
    for url in (
        ATTACK_URL,
        "http://hooks.shop.test:99999/x",
        "http://user:secret@hooks.shop.test/x",
        "http://intranet.shop.test/x",
    ):
        response = client.post(reverse("webhooks:list"), {"url": url, "events": ["order.fulfilled"]})
        assert response.status_code == 200, url
        form = response.context["form"]
        assert form.errors.get("url") and not form.non_field_errors(), url
        assert form["url"].value() == url
    assert not WebhookEndpoint.objects.exists()


PORT_99999_URLS = [
    "http://hooks.shop.test:99999/x",
    "https://hooks.shop.test:99999/",
    "https://hooks.shop.test:99999",
    "http://[2606:4700::1111]:99999/x",
    "http://1.1.1.1:99999/x",
    "http://hooks.shop.test:4294967377/x",  # 2**32 + 81: must not wrap round to port 81
]


@pytest.mark.django_db
def test_all2_webhook_port_99999_is_a_field_error_never_a_500(client, reseller, dns):
    """ALL-2 (issue #11): a port out of range is refused as ``invalid_port`` by the service and next to the
    URL field of Settings → Webhooks, nothing looked up, nothing stored; urllib's ``.port`` raised ValueError."""
    dns.answer("hooks.shop.test", ["127.0.0.1"])
    client.force_login(reseller)
    for url in PORT_99999_URLS:
        dns.lookups.clear()
        assert _refused(reseller, url).code == "invalid_port", url
        assert dns.lookups == [], url
        response = client.post(reverse("webhooks:list"), {"url": url, "events": ["order.fulfilled"]})
        assert response.status_code == 200, url
        assert response.context["form"].errors.get("url"), url
    assert not WebhookEndpoint.objects.exists()


# --- addresses: every resolved address is checked ---------------------------------------------------------
REFUSED_ADDRESSES = [
    "127.0.0.1",  # loopback (not on the allow-list here)
    "10.1.2.3",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space
    "169.254.169.254",  # link-local (cloud metadata)
    "0.0.0.0",  # noqa: S104 (an answer of the fake DNS, never bound)
    "224.0.0.1",  # multicast, which ipaddress calls global
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fec0::1",  # site-local
    "ff02::1",
    "2001:db8::1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::101:101",  # NAT64 of a public address: still refused (it hides the IPv4 target)
    "64:ff9b:1::a01:203",  # local-use NAT64
    "2002:a9fe:a9fe::1",  # 6to4
    "2002:101:101::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:101:101",
    "::127.0.0.1",  # IPv4-compatible
    "::101:101",
]


@pytest.mark.django_db
def test_webhook_target_non_public_and_ipv4_embedding_addresses_are_refused(reseller, dns):
    """ESD-7: a name resolving to a private, special or IPv4-embedding address is refused at registration
    (the address comes from the fake DNS only; nothing connects to it)."""
    wrong = {}
    for address in REFUSED_ADDRESSES:
        dns.answer("hooks.shop.test", [address])
        outcome = _outcome(reseller, dns, "https://hooks.shop.test/x")
        if outcome != "private_target after looking up ['hooks.shop.test']":
            wrong[address] = outcome
    assert wrong == {}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_webhook_target_every_resolved_address_is_checked(reseller, dns, settings):
    """ESD-7: one refused address among the answers refuses the URL, even when another one is allowed."""
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1:9911"]
    dns.answer("hooks.shop.test", ["127.0.0.1", "10.1.2.3"])
    assert _refused(reseller, "http://hooks.shop.test:9911/x").code == "private_target"
    dns.answer("gone.shop.test", OSError("no such name"))
    assert _refused(reseller, "http://gone.shop.test/x").code == "unresolvable_host"


@pytest.mark.django_db
def test_webhook_target_allow_list_passes_exactly_that_ip_and_port(reseller, dns, settings):
    """ESD-7: WEBHOOK_ALLOWED_TARGETS lets exactly an ip:port past the address check, nothing more."""
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1:9911", "[::1]:9000"]
    dns.answer("hooks.shop.test", ["127.0.0.1"])
    dns.answer("dual.shop.test", ["127.0.0.1", "::1"])
    for url in (
        "http://127.0.0.1:9911/x",
        "http://hooks.shop.test:9911/x",
        "https://HOOKS.shop.test:9911/x?a=1#frag",
        "http://[::1]:9000/x",
    ):
        _create(reseller, url)  # registration never connects
    assert WebhookEndpoint.objects.count() == 4
    for url in (
        "http://127.0.0.1:9912/x",  # another port
        "http://127.0.0.1/x",
        "http://hooks.shop.test/x",
        "http://[::1]:9911/x",  # another address
        "http://[::ffff:127.0.0.1]:9911/x",
        "http://dual.shop.test:9911/x",  # ::1 is not allowed on 9911
    ):
        assert _refused(reseller, url).code == "private_target", url
    # The rest of the check still applies to allowed targets.
    assert _refused(reseller, "http://127.0.0.1:9911\\@hooks.shop.test/").code == "url_characters"
    settings.WEBHOOK_ALLOWED_TARGETS = ["hooks.shop.test:9911"]
    with pytest.raises(ImproperlyConfigured):
        _create(reseller, "http://hooks.shop.test:9911/x")


# --- delivery: resolved once, sent to the checked address -------------------------------------------------
@pytest.mark.django_db
def test_webhook_target_dns_rebinding_cannot_redirect_a_delivery(reseller, dns, settings):
    """ESD-7: the delivery resolves the name once and connects to that very address: a resolver that answers
    127.0.0.1 first and fails afterwards still sees the delivery arrive, with one lookup per delivery."""
    with Receiver() as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        dns.answer("hooks.shop.test", ["127.0.0.1"])
        endpoint, _secret = _create(reseller, f"http://hooks.shop.test:{receiver.port}/hooks?shop=1")
        dns.answer("hooks.shop.test", ["127.0.0.1"], OSError("rebound"))
        before = dns.count("hooks.shop.test")
        outcome, attempt = _deliver(endpoint)
        assert dns.count("hooks.shop.test") - before == 1
        assert outcome == "succeeded" and attempt.status_code == 200
        assert len(receiver.requests) == 1
        headers, _body = receiver.requests[0]
        assert headers["Host"] == f"hooks.shop.test:{receiver.port}"
        # The next delivery resolves again (and now fails): no connection, a retry later.
        outcome, attempt = _deliver(endpoint)
        assert outcome == "retry" and attempt.status_code is None
        assert attempt.error == "The host name does not resolve."
        assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_webhook_target_checked_again_at_every_delivery(reseller, dns, settings):
    """ESD-7: a name that moved to a private address after registration is refused at delivery, before any
    connection (the guard would fail the test), and the delivery fails at once."""
    with Receiver() as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        dns.answer("hooks.shop.test", ["127.0.0.1"])
        endpoint, _secret = _create(reseller, f"http://hooks.shop.test:{receiver.port}/hooks")
        dns.answer("hooks.shop.test", ["10.20.30.40"])
        outcome, attempt = _deliver(endpoint)
        assert outcome == "failed" and attempt.status_code is None
        assert "10.20.30.40" not in attempt.error and attempt.error
        assert receiver.requests == []


@pytest.mark.django_db
def test_webhook_target_connection_errors_name_no_address(client, reseller, dns, settings):
    """ESD-7: a failed connection is shown as what happened, without the address the name resolved to."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.WEBHOOK_ALLOWED_TARGETS = [f"127.0.0.1:{port}"]
    dns.answer("hooks.shop.test", ["127.0.0.1"])
    endpoint, _secret = _create(reseller, f"http://hooks.shop.test:{port}/hooks")
    outcome, attempt = _deliver(endpoint)
    assert outcome == "retry" and attempt.error == "The receiver could not be reached."
    client.force_login(reseller)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "The receiver could not be reached." in page and "127.0.0.1" not in page


# --- TLS: pinned to the IP, verified for the host name ----------------------------------------------------
@pytest.mark.django_db
def test_webhook_target_https_is_pinned_and_verified_for_the_host_name(reseller, dns, settings, tmp_path):
    """ESD-7: HTTPS to the pinned 127.0.0.1 sends the host name (SNI, Host) and verifies the certificate for
    it: refused while the CA is not trusted, delivered once it is, refused for a name it does not cover."""
    ca = LocalCA(tmp_path)
    with Receiver(tls=ca.server_context("hooks.shop.test")) as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        dns.answer("hooks.shop.test", ["127.0.0.1"])
        dns.answer("other.shop.test", ["127.0.0.1"])
        endpoint, _secret = _create(reseller, f"https://hooks.shop.test:{receiver.port}/hooks")
        other, _secret = _create(reseller, f"https://other.shop.test:{receiver.port}/hooks")

        settings.WEBHOOK_CA_BUNDLE = ""  # the public CAs: the test CA is unknown
        outcome, attempt = _deliver(endpoint)
        assert outcome == "retry" and attempt.status_code is None
        assert "TLS certificate" in attempt.error and receiver.requests == []

        settings.WEBHOOK_CA_BUNDLE = str(ca.bundle)
        outcome, attempt = _deliver(endpoint)
        assert outcome == "succeeded" and attempt.status_code == 200
        assert receiver.sni[-1] == "hooks.shop.test"
        assert receiver.requests[0][0]["Host"] == f"hooks.shop.test:{receiver.port}"

        outcome, attempt = _deliver(other)  # same address, certificate for another name
        assert outcome == "retry" and "TLS certificate" in attempt.error
        assert receiver.sni[-1] == "other.shop.test" and len(receiver.requests) == 1


# --- the answer: a short escaped excerpt -----------------------------------------------------------------
@pytest.mark.django_db
def test_webhook_target_answer_is_kept_as_a_short_excerpt_and_shown_escaped(client, reseller, dns, settings):
    """ESD-7: the page shows the status code and at most 200 printable characters of the answer, escaped."""
    answer = (
        b"<script>alert('x')</script>\x1b[31m\x00\r\nSet-Cookie: a=b \xe2\x80\xae\xe2\x80\x8b"
        + b"internal-secret " * 400
    )
    with Receiver(answers=[500], body=answer) as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        dns.answer("hooks.shop.test", ["127.0.0.1"])
        endpoint, _secret = _create(reseller, f"http://hooks.shop.test:{receiver.port}/hooks")
        _outcome, attempt = _deliver(endpoint)
    assert attempt.status_code == 500
    excerpt = attempt.response_body
    assert excerpt.startswith("<script>alert('x')</script>[31m Set-Cookie: a=b internal-secret")
    assert len(excerpt) <= 200
    assert not any(unicodedata.category(c).startswith("C") for c in excerpt)
    client.force_login(reseller)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "HTTP 500" in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script>alert(" not in page and "\u202e" not in page


# --- one deadline for the whole request ------------------------------------------------------------------
class SlowReceiver:
    """A raw server on 127.0.0.1 that answers one byte at a time: ``head`` at once, then one more byte every
    0.2 s, forever; or, with ``upstream``, a relay that passes the client's bytes on to that loopback port at
    once and the upstream's answer back one byte every 0.2 s. It records each request's first line, notes
    when the client has gone, and stops itself after 10 s whatever happens.
    """

    GIVE_UP = 10.0

    def __init__(self, head: bytes = b"", *, upstream: int | None = None, trickle: bool = True) -> None:
        self.head, self.upstream, self.trickle = head, upstream, trickle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.target = f"127.0.0.1:{self.port}"  # as WEBHOOK_ALLOWED_TARGETS lists it
        self.request_lines: list[bytes] = []
        self.client_gone = threading.Event()
        self.stop = threading.Event()
        self.until = time.monotonic() + self.GIVE_UP
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SlowReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(self.GIVE_UP + 2)
        self.listener.close()

    def _running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.until

    def _serve(self) -> None:
        while self._running():
            try:
                client, _address = self.listener.accept()
            except TimeoutError:
                continue
            with client:
                client.settimeout(0.5)
                try:
                    if self.upstream is None:
                        self._answer(client)
                    else:
                        self._relay(client)
                except OSError:
                    self.client_gone.set()

    def _answer(self, client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request and self._running():
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            request += chunk
        self.request_lines.append(request.split(b"\r\n", 1)[0])
        client.sendall(self.head)
        while self.trickle and not self.stop.wait(0.2) and self._running():
            client.sendall(b"a")

    def _relay(self, client: socket.socket) -> None:
        assert self.upstream is not None
        with socket.create_connection(("127.0.0.1", self.upstream), timeout=0.05) as upstream:
            relayed = threading.Event()

            def forward() -> None:  # client -> upstream, at once
                while not relayed.is_set():
                    try:
                        data = client.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    upstream.sendall(data)

            forwarder = threading.Thread(target=forward, daemon=True)
            forwarder.start()
            pending = b""
            try:
                while not self.stop.wait(0.2) and self._running():
                    with contextlib.suppress(TimeoutError):
                        pending += upstream.recv(65536)
                    if pending:
                        client.sendall(pending[:1])
                        pending = pending[1:]
            finally:
                relayed.set()
                forwarder.join(2)


def _timed_delivery(reseller, dns, settings, receiver: SlowReceiver, scheme: str = "http"):
    settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
    settings.WEBHOOK_TIMEOUT = 1
    dns.answer("hooks.shop.test", ["127.0.0.1"])
    endpoint, _secret = _create(reseller, f"{scheme}://hooks.shop.test:{receiver.port}/hooks")
    started = time.monotonic()
    outcome, attempt = _deliver(endpoint)
    return outcome, attempt, time.monotonic() - started


TRICKLES = {
    # the status line, then header bytes forever (the headers never end)
    "headers": b"HTTP/1.1 200 OK\r\nX-Slow: ",
    # the status line and headers, then the announced 2 KiB of body one byte at a time
    "body": b"HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n",
}


@pytest.mark.django_db
@pytest.mark.parametrize("phase", sorted(TRICKLES))
def test_webhook_target_trickling_receiver_is_cut_off_at_one_deadline(reseller, dns, settings, phase):
    """ESD-7, webhook target: a receiver that sends its status line and then one byte every 0.2 s (so no
    single read ever times out) is cut off once WEBHOOK_TIMEOUT (1 s) has passed for the whole request, not
    after ~2 KiB x the timeout; the attempt is a transient timeout naming no address, and the connection is
    closed (the receiver sees its client go)."""
    with SlowReceiver(TRICKLES[phase]) as receiver:
        outcome, attempt, elapsed = _timed_delivery(reseller, dns, settings, receiver)
        assert 1 <= elapsed < 3, elapsed
        assert outcome == "retry" and attempt.status_code is None
        assert attempt.error == "The receiver did not answer in time."
        assert len(receiver.request_lines) == 1
        assert receiver.client_gone.wait(2)


@pytest.mark.django_db
def test_webhook_target_trickled_tls_handshake_is_cut_off_at_the_deadline(reseller, dns, settings, tmp_path):
    """ESD-7, webhook target: the deadline covers the TLS handshake too: a relay that passes a real HTTPS
    receiver's handshake on one byte every 0.2 s is cut off after WEBHOOK_TIMEOUT, as a timeout (not as a
    certificate problem), and nothing reaches the receiver."""
    ca = LocalCA(tmp_path)
    settings.WEBHOOK_CA_BUNDLE = str(ca.bundle)
    with (
        Receiver(tls=ca.server_context("hooks.shop.test")) as upstream,
        SlowReceiver(upstream=upstream.port) as relay,
    ):
        outcome, attempt, elapsed = _timed_delivery(reseller, dns, settings, relay, scheme="https")
        assert 1 <= elapsed < 3, elapsed
        assert outcome == "retry" and attempt.error == "The receiver did not answer in time."
        assert upstream.requests == []
        assert relay.client_gone.wait(2)


def test_webhook_target_post_deadline_is_a_transient_timeout_error(settings):
    """ESD-7, webhook target: ``targets.post`` itself keeps the one deadline it is given and raises the
    translatable, address-free ``receiver_timeout`` error, which is not a permanent refusal."""
    with SlowReceiver(TRICKLES["headers"]) as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        target = targets.resolve(f"http://{receiver.target}/hooks")
        started = time.monotonic()
        with pytest.raises(targets.WebhookError) as caught:
            targets.post(target, body=b"{}", headers={}, timeout=0.5)
        assert time.monotonic() - started < 2
    assert caught.value.code == "receiver_timeout" and caught.value.code not in targets.PERMANENT
    assert caught.value.message == "The receiver did not answer in time."
    assert "127.0.0.1" not in caught.value.message


# --- the request target ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_webhook_target_query_without_path_is_sent_as_origin_form(reseller, dns, settings):
    """ESD-7, webhook target: a URL with a query but no path (``http://host?x=1``) is sent with the request
    target ``/?x=1`` (origin form), not ``?x=1``; no path at all stays ``/``."""
    assert targets.parse("http://hooks.shop.test?x=1").target == "/?x=1"
    assert targets.parse("http://hooks.shop.test?x=1#frag").target == "/?x=1"
    assert targets.parse("http://hooks.shop.test#frag").target == "/"
    assert targets.parse("http://hooks.shop.test").target == "/"
    answer = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with SlowReceiver(answer, trickle=False) as receiver:
        settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
        dns.answer("hooks.shop.test", ["127.0.0.1"])
        endpoint, _secret = _create(reseller, f"http://hooks.shop.test:{receiver.port}?x=1")
        outcome, attempt = _deliver(endpoint)
    assert outcome == "succeeded" and attempt.status_code == 204
    assert receiver.request_lines == [b"POST /?x=1 HTTP/1.1"]
