"""Staff public replies are mailed to the customer (SUP-7, SUP-12): the requester (or the web form's
confirmed address) gets the reply's text and the link to the request, once; an internal note never."""

from __future__ import annotations

import pytest
from django.core import mail

from support.mail import reply_send
from support.models import Category, Channel, Kind, ReplyMail, SupportRequest
from support.services.requests import request_file, request_staff_reply


def filed(customer, member, licence, **extra):
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category=Category.TECHNICAL_ADVICE,
        subject="Checkout fails",
        body="Body",
        **extra,
    )


@pytest.mark.django_db
def test_sup12_a_public_reply_is_mailed_to_the_requester_once_and_an_internal_note_never(
    customer, member, licence, django_capture_on_commit_callbacks
):
    request = filed(customer, member, licence)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_staff_reply(
            request_id=request.pk, author=None, body="Internal: check the logs", internal=True
        )
    assert not mail.outbox and not ReplyMail.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        reply = request_staff_reply(
            request_id=request.pk, author=None, body="Clear the cache <b>please</b>.", internal=False
        )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [member.email] and request.number in sent.subject
    assert "Clear the cache <b>please</b>." in sent.body and "Internal" not in sent.body
    assert f"/support/{request.pk}/" in sent.body
    record = ReplyMail.objects.get(message=reply)
    assert record.mail_sent_at is not None
    assert reply_send(reply_mail_id=record.pk) == "done" and len(mail.outbox) == 1  # sent once


@pytest.mark.django_db
def test_sup6_sup12_a_web_form_request_gets_the_reply_at_its_address_with_the_follow_link(
    customer, licence, django_capture_on_commit_callbacks
):
    request = request_file(
        organisation=customer,
        requester=None,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category=Category.TECHNICAL_ADVICE,
        subject="From the web",
        body="Body",
        channel=Channel.WEB_FORM,
        bind=False,
        contact_email="web@acme.test",
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_staff_reply(request_id=request.pk, author=None, body="Here is how.", internal=False)
    assert mail.outbox[-1].to == ["web@acme.test"] and "/help/r/" in mail.outbox[-1].body
    assert SupportRequest.objects.get().sla_state == SupportRequest.Sla.ANSWERED


@pytest.mark.django_db
def test_sup12_a_reply_mail_is_not_sent_for_a_request_with_nobody_to_tell(
    customer, licence, django_capture_on_commit_callbacks
):
    request = filed(customer, None, licence)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_staff_reply(request_id=request.pk, author=None, body="Answer", internal=False)
    assert not mail.outbox
    assert ReplyMail.objects.get().mail_error.startswith("Not sent")
