"""The public web form (SUP-5, SUP-6, SUP-7, SVC-6, ALL-1, ALL-2): held until the address is confirmed
from a mail, no number before; expired, forged and used links; rate limits and the honeypot; a web-form
request never binds an entitlement; the follow link shows the public conversation and takes answers."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from support.models import (
    Category,
    Channel,
    EntitlementBinding,
    HeldWebRequest,
    Kind,
    Message,
    SupportRequest,
)
from support.services.requests import request_file, request_staff_reply
from support.services.web_form import CONFIRM_SALT, held_sweep

FORM = reverse("help:form")


def _ip() -> str:
    n = uuid.uuid4().int
    return f"198.51.{n % 200 + 1}.{(n >> 8) % 250 + 1}"


def data(licence, **extra):
    values = {
        "kind": Kind.SUPPORT,
        "email": "owner@acme.test",
        "support_number": licence.support_number if licence else "",
        "url": "https://shop.acme.test",
        "category": Category.TECHNICAL_ADVICE,
        "subject": "Checkout fails",
        "body": "Since the update the checkout shows an error.",
        "website": "",
    }
    values.update(extra)
    return values


def submit(client, values, captured):
    with captured(execute=True):
        return client.post(FORM, values, REMOTE_ADDR=_ip())


def link(pattern: str) -> str:
    found = re.search(r"https?://\S*(/help/" + pattern + r"/[^/\s]+/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


@pytest.mark.django_db
def test_sup6_sup7_a_web_request_has_no_number_until_its_address_is_confirmed_by_post(
    client, licence, django_capture_on_commit_callbacks
):
    """SUP-6/SUP-7: held (not in the queue, no number) until confirmed; GET on the link changes nothing;
    POST files it with its number, the clock runs, and the number and follow link are mailed."""
    response = submit(client, data(licence), django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == reverse("help:sent")
    assert "owner@acme.test" in client.get(reverse("help:sent")).content.decode()
    assert SupportRequest.objects.count() == 0
    held = HeldWebRequest.objects.get()
    assert held.state == HeldWebRequest.State.HELD and held.request is None
    assert mail.outbox[-1].to == ["owner@acme.test"] and licence.support_number not in mail.outbox[-1].body
    confirm = link("confirm")
    page = client.get(confirm)
    assert page.status_code == 200 and "Confirm and send the request" in page.content.decode()
    assert SupportRequest.objects.count() == 0  # a mail scanner following the link files nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(confirm)
    request = SupportRequest.objects.get()
    assert request.number in done.content.decode()
    assert request.channel == Channel.WEB_FORM and request.requester is None
    assert request.contact_email == "owner@acme.test" and request.organisation == licence.customer
    assert request.sla_state == SupportRequest.Sla.RUNNING and request.due_at is not None
    assert mail.outbox[-1].to == ["owner@acme.test"] and request.number in mail.outbox[-1].subject
    follow = link("r")
    assert request.subject in client.get(follow).content.decode()
    # The link is used: a second POST (or GET) gets the neutral page, nothing filed twice.
    again = client.post(confirm)
    assert "no longer valid" in again.content.decode() and SupportRequest.objects.count() == 1


@pytest.mark.django_db
def test_sup7_forged_and_expired_confirmation_links_file_nothing(
    client, licence, settings, django_capture_on_commit_callbacks
):
    submit(client, data(licence), django_capture_on_commit_callbacks)
    held = HeldWebRequest.objects.get()
    forged = signing.dumps([held.pk, held.email], salt="another.salt", compress=True)
    other_mail = signing.dumps([held.pk, "thief@evil.test"], salt=CONFIRM_SALT, compress=True)
    for token in (forged, other_mail, "garbage"):
        response = client.post(reverse("help:confirm", args=[token]))
        assert response.status_code == 200 and "no longer valid" in response.content.decode()
    HeldWebRequest.objects.filter(pk=held.pk).update(created_at=timezone.now() - timedelta(days=3))
    settings.SUPPORT_WEB_FORM_HOLD_DAYS = 0  # the signature's age is past the hold too
    response = client.post(link("confirm"))
    assert "no longer valid" in response.content.decode()
    assert SupportRequest.objects.count() == 0


@pytest.mark.django_db
def test_sup7_unconfirmed_held_requests_lapse_after_the_hold(
    licence, client, django_capture_on_commit_callbacks
):
    submit(client, data(licence), django_capture_on_commit_callbacks)
    submit(client, data(licence, subject="Fresh"), django_capture_on_commit_callbacks)
    HeldWebRequest.objects.exclude(subject="Fresh").update(created_at=timezone.now() - timedelta(days=3))
    assert held_sweep() == 1
    assert list(HeldWebRequest.objects.values_list("subject", flat=True)) == ["Fresh"]
    assert held_sweep() == 0


@pytest.mark.django_db
def test_sup6_all2_the_honeypot_drops_a_bot_silently_with_the_same_answer(
    client, licence, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    response = submit(client, data(licence, website="http://spam.test"), django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == reverse("help:sent")
    assert not HeldWebRequest.objects.exists() and not mail.outbox


@pytest.mark.ratelimits
@pytest.mark.django_db
def test_sup6_submissions_are_limited_per_client_and_per_email(settings, licence):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "support_web_form_ip": "2/h/ip",
        "support_web_form_email": "3/h/key",
    }
    client, ip = Client(), _ip()
    email = f"rl-{uuid.uuid4().hex[:8]}@acme.test"
    for _ in range(2):
        assert client.post(FORM, data(licence, email=email), REMOTE_ADDR=ip).status_code == 302
    refused = client.post(FORM, data(licence, email=email, subject="Third"), REMOTE_ADDR=ip)
    assert refused.status_code == 200 and "Too many requests" in refused.content.decode()
    assert 'value="Third"' in refused.content.decode()  # what was typed is kept
    # Per address, from another client (any case counts as one address).
    assert Client().post(FORM, data(licence, email=email.upper()), REMOTE_ADDR=_ip()).status_code == 302
    refused = Client().post(FORM, data(licence, email=email), REMOTE_ADDR=_ip())
    assert "Too many requests" in refused.content.decode()
    assert HeldWebRequest.objects.count() == 3


@pytest.mark.django_db
def test_all2_a_malformed_form_is_refused_by_field_and_keeps_what_was_typed(client, licence):
    response = client.post(
        FORM, data(licence, email="not-an-address", url="no host at all"), REMOTE_ADDR=_ip()
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Enter a valid e-mail address." in html
    assert 'value="Checkout fails"' in html and not HeldWebRequest.objects.exists()
    response = client.post(FORM, data(licence, url=""), REMOTE_ADDR=_ip())
    assert "Enter the address (URL)" in response.content.decode()
    for junk in ({"kind": "bogus"}, {"body": "\x00" * 5}, {"subject": "x" * 5000}):
        response = client.post(FORM, data(licence, **junk), REMOTE_ADDR=_ip())
        assert response.status_code == 200
    assert not HeldWebRequest.objects.exists()


@pytest.mark.django_db
def test_svc6_a_pre_sales_question_from_the_web_needs_neither_number_nor_url(
    client, django_capture_on_commit_callbacks
):
    values = data(None, kind=Kind.PRE_SALES, url="", category="")
    assert submit(client, values, django_capture_on_commit_callbacks).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link("confirm"))
    request = SupportRequest.objects.get()
    assert request.kind == Kind.PRE_SALES and request.licence is None
    assert request.organisation.kind == "distributor"


@pytest.mark.django_db
def test_sup5_a_web_request_never_binds_and_is_refused_for_another_domain(
    client, customer, member, licence, django_capture_on_commit_callbacks
):
    """SUP-5: unbound, the web request is accepted without binding; bound to the same host, accepted;
    bound elsewhere, refused with a reason that does not name the bound domain."""
    submit(client, data(licence, url="https://www.shop.acme.test/x"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link("confirm"))
    assert SupportRequest.objects.count() == 1 and not EntitlementBinding.objects.exists()
    request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://elsewhere.test",
        category=Category.TECHNICAL_ADVICE,
        subject="Signed in",
        body="Body",
    )
    assert EntitlementBinding.objects.get().host == "elsewhere.test"
    submit(client, data(licence), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(link("confirm"))
    html = refused.content.decode()
    assert "covers another domain" in html and "elsewhere.test" not in html
    assert HeldWebRequest.objects.filter(state=HeldWebRequest.State.REFUSED).count() == 1
    assert EntitlementBinding.objects.get().host == "elsewhere.test"
    submit(client, data(licence, url="https://elsewhere.test/shop"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link("confirm"))
    assert SupportRequest.objects.filter(channel=Channel.WEB_FORM).count() == 2


@pytest.mark.django_db
def test_sup6_all1_unknown_foreign_and_ended_numbers_get_one_neutral_refusal_after_confirmation(
    client, customer, pro, licence, django_capture_on_commit_callbacks
):
    from .conftest import book

    ended = book(customer, pro, purchase_date=timezone.localdate() - timedelta(days=800))
    answers = set()
    for number in ("NOPE-0000", ended.support_number):
        response = submit(client, data(licence, support_number=number), django_capture_on_commit_callbacks)
        assert response.status_code == 302  # the form's answer is the same whatever was typed
        with django_capture_on_commit_callbacks(execute=True):
            html = client.post(link("confirm")).content.decode()
        answers.add(re.search(r'role="alert">([^<]*)<', html).group(1))
    assert len(answers) == 1 and "ended on" not in next(iter(answers))
    assert SupportRequest.objects.count() == 0


@pytest.mark.django_db
def test_sup7_sup8_all1_the_follow_link_shows_public_replies_only_and_takes_answers(
    client, licence, django_capture_on_commit_callbacks
):
    submit(client, data(licence), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link("confirm"))
    follow = link("r")
    request = SupportRequest.objects.get()
    request_staff_reply(request_id=request.pk, author=None, body="Secret <b>note</b>", internal=True)
    request_staff_reply(
        request_id=request.pk, author=None, body="Please send a log", internal=False, status="waiting"
    )
    html = client.get(follow).content.decode()
    assert "Please send a log" in html and "Secret" not in html
    assert SupportRequest.objects.get().sla_state == SupportRequest.Sla.ANSWERED
    response = client.post(follow, {"body": "Here <script>it</script> is"})
    assert response.status_code == 302
    assert Message.objects.filter(request=request, kind=Message.Kind.CUSTOMER).count() == 2
    assert SupportRequest.objects.get().status == SupportRequest.Status.OPEN
    assert "<script>it" not in client.get(follow).content.decode()
    # A forged follow link, or one naming another address, answers 404.
    forged = signing.dumps([request.pk, "thief@evil.test"], salt="support.web_form.follow", compress=True)
    assert client.get(reverse("help:follow", args=[forged])).status_code == 404
    assert client.get(reverse("help:follow", args=["nothing"])).status_code == 404
