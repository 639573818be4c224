"""core.mail: a record's mail sent once (ALL-5), the one path of the invitations (CC-6), registrations
(CC-8), support reminders (SUP-2), the support desk's mails (SUP-6, SUP-7, SUP-8, SUP-12) and a person's
address change (issue #14). Against real PostgreSQL and a real SMTP server; the held web-form request
(SUP-6) stands in for any record with the columns."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core import mail
from django.utils import timezone

from accounts.mail import build_email_change_notice
from accounts.models import AccountEvent, EmailChange
from core.claims import claim
from core.mail import CLAIM_HOLD, give_up, send_once, unsent
from core.models import SendOnceMail
from portal.celery import app as celery_app
from support.mail import build_web_confirm_mail
from support.models import HeldWebRequest
from support.tasks import send_web_confirm
from tests.conftest import run_concurrently
from tests.factories import make_user
from tests.orders.test_mail_and_vendor import PermanentlyRefusingSmtp, RefusingSmtp

DROPPED = "Not sent: no longer held."


def _held(email: str = "ada@web.test") -> HeldWebRequest:
    return HeldWebRequest.objects.create(email=email, subject="The printer", body="It prints nothing.")


def _send(held_id: int, *, wanted: Any = None) -> str:
    """The held request's confirmation link through ``send_once``, as ``support.mail`` sends it."""
    return send_once(
        HeldWebRequest,
        held_id,
        load=lambda: HeldWebRequest.objects.filter(pk=held_id).first(),
        wanted=wanted or (lambda held: held.state == HeldWebRequest.State.HELD),
        build=build_web_confirm_mail,
        dropped=DROPPED,
    )


@pytest.fixture
def smtp_at(settings: Any) -> Any:
    """Point the mail settings at a real SMTP server; retries wait no time, and run in-process (Celery's
    eager apply retries only when it does not propagate errors)."""

    def use(server: Any) -> Any:
        server.controller.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.MAIL_RETRY_BASE_SECONDS, settings.MAIL_MAX_RETRIES = 0, 2
        servers.append(server)
        return server

    servers: list[Any] = []
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield use
    celery_app.conf.task_eager_propagates = propagates
    for server in servers:
        server.controller.stop()


def test_all5_every_record_mailed_once_takes_its_mail_columns_from_core():
    """The send-once columns exist once (issue #12): every model that holds a mail claim is a
    ``SendOnceMail`` (EmailChange's second mail, the notice, has the same four under ``notice_``)."""
    holders = [m for m in apps.get_models() if any(f.name == "mail_claimed_until" for f in m._meta.fields)]
    assert {m.__name__ for m in holders} >= {
        "Invitation",
        "Registration",
        "SupportReminder",
        "SupportRequest",
        "Escalation",
        "HeldWebRequest",
        "ReplyMail",
        "EmailChange",
    }
    assert [m.__name__ for m in holders if not issubclass(m, SendOnceMail)] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_all5_sup6_four_workers_at_the_same_moment_send_the_mail_once():
    """ALL-5: four copies of the task at the same moment, each in its own connection: one claims the mail
    and sends it, the others find it held or sent. One mail, one attempt counted."""
    held = _held()
    results = run_concurrently([lambda: _send(held.pk) for _ in range(4)])
    assert sorted(results) == ["done", "done", "done", "sent"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@web.test"]
    held.refresh_from_db()
    assert held.mail_sent_at is not None and held.mail_attempts == 1
    assert held.mail_claimed_until is None and held.mail_error == ""


@pytest.mark.django_db
def test_all5_a_mail_sent_before_or_held_by_another_worker_is_not_sent_again():
    held, other = _held(), _held("grace@web.test")
    assert _send(held.pk) == "sent"
    assert _send(held.pk) == "done"
    claimed, _until = claim(HeldWebRequest, [other.pk], field="mail_claimed_until", hold=CLAIM_HOLD)
    assert claimed == [other.pk]
    assert _send(other.pk) == "done"  # another worker holds it
    assert [m.to for m in mail.outbox] == [["ada@web.test"]]


@pytest.mark.django_db
def test_sup6_a_mail_with_no_reason_to_go_is_dropped_with_its_reason_and_never_retried():
    """A link to a request that is no longer held is not sent: the reason is kept for staff, the claim is
    released, and neither a later task nor the sweeper tries it again."""
    held = _held()
    HeldWebRequest.objects.filter(pk=held.pk).update(state=HeldWebRequest.State.REFUSED)
    assert _send(held.pk) == "dropped"
    held.refresh_from_db()
    assert held.mail_error == DROPPED and held.mail_sent_at is None and held.mail_claimed_until is None
    assert _send(held.pk) == "done"
    assert not HeldWebRequest.objects.filter(unsent(timezone.now()), pk=held.pk).exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_all5_an_smtp_error_releases_the_claim_so_the_retry_sends(smtp_at):
    """A "try again later" answer is raised for the task to retry, after the claim is released: the retry
    sends at once instead of waiting for the claim to lapse; both attempts are counted."""
    server = smtp_at(RefusingSmtp(1))
    held = _held()
    with pytest.raises(smtplib.SMTPDataError, match="try again later"):
        _send(held.pk)
    held.refresh_from_db()
    assert held.mail_claimed_until is None and held.mail_sent_at is None and held.mail_attempts == 1
    assert _send(held.pk) == "sent"
    held.refresh_from_db()
    assert held.mail_attempts == 2 and len(server.messages) == 1


@pytest.mark.django_db
def test_all5_give_up_keeps_the_reason_releases_the_claim_and_leaves_a_sent_mail_alone():
    held, sent = _held(), _held("grace@web.test")
    assert _send(sent.pk) == "sent"
    claim(HeldWebRequest, [held.pk], field="mail_claimed_until", hold=CLAIM_HOLD, counter="mail_attempts")
    give_up(HeldWebRequest, held.pk, "SMTPDataError: " + "x" * 400)
    give_up(HeldWebRequest, sent.pk, "too late")
    held.refresh_from_db()
    sent.refresh_from_db()
    assert held.mail_error.startswith("SMTPDataError: ") and len(held.mail_error) == 300
    assert held.mail_claimed_until is None and held.mail_sent_at is None
    assert sent.mail_error == "" and sent.mail_sent_at is not None
    assert _send(held.pk) == "done"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_all5_the_sweeper_sees_only_mails_never_tried_and_held_by_nobody():
    """``unsent``: a lost message's mail (never tried, no claim or a lapsed one) goes again; one sent,
    given up, being retried or held right now is not the sweeper's."""
    now = timezone.now()
    lost, lapsed, held_now, retrying, given_up, sent = (_held(f"p{i}@web.test") for i in range(6))
    HeldWebRequest.objects.filter(pk=lapsed.pk).update(mail_claimed_until=now - timedelta(seconds=1))
    HeldWebRequest.objects.filter(pk=held_now.pk).update(mail_claimed_until=now + timedelta(minutes=1))
    HeldWebRequest.objects.filter(pk=retrying.pk).update(mail_attempts=1)
    HeldWebRequest.objects.filter(pk=given_up.pk).update(mail_error="SMTPDataError: 550")
    HeldWebRequest.objects.filter(pk=sent.pk).update(mail_sent_at=now)
    due = set(HeldWebRequest.objects.filter(unsent(now)).values_list("pk", flat=True))
    assert due == {lost.pk, lapsed.pk}


@pytest.mark.django_db
def test_all5_a_refused_mail_is_retried_with_the_attempts_counted_then_given_up(smtp_at):
    """The task's retries (``retry_or_give_up``): "try again later" is retried up to ``MAIL_MAX_RETRIES``
    times, counted on the record however the task is redelivered, then given up with the SMTP answer."""
    server = smtp_at(RefusingSmtp(1000))
    held = _held()
    send_web_confirm.delay(held.pk)
    held.refresh_from_db()
    assert server.attempts == 3 and held.mail_attempts == 3  # the first try and MAIL_MAX_RETRIES retries
    assert "Mailbox busy" in held.mail_error and held.mail_sent_at is None
    assert _send(held.pk) == "done"


@pytest.mark.django_db
def test_all5_a_permanent_refusal_is_given_up_at_once(smtp_at):
    """A 5xx answer (no such mailbox) will not change on retry: one attempt, the answer kept for staff."""
    server = smtp_at(PermanentlyRefusingSmtp())
    held = _held()
    send_web_confirm.delay(held.pk)
    held.refresh_from_db()
    assert server.attempts == 1 and held.mail_attempts == 1
    assert "No such mailbox" in held.mail_error and held.mail_sent_at is None


@pytest.mark.django_db
def test_all3_a_second_mail_of_a_record_has_its_own_columns_and_is_recorded_when_sent():
    """An address change's notice to the previous address (``prefix="notice"``) is sent once under its
    own columns, leaving the link's alone; ``on_sent`` records it with the moment it was marked sent."""
    user = make_user(email="new@example.test")
    change = EmailChange.objects.create(
        user=user,
        from_email="old@example.test",
        to_email="new@example.test",
        status=EmailChange.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )

    def told(record: EmailChange, at: Any) -> None:
        AccountEvent.objects.create(
            user_id=record.user_id, at=at, kind=AccountEvent.Kind.EMAIL_CHANGE_NOTICE_SENT, data={}
        )

    def notice() -> str:
        return send_once(
            EmailChange,
            change.pk,
            load=lambda: EmailChange.objects.filter(pk=change.pk).first(),
            wanted=lambda record: True,
            build=build_email_change_notice,
            dropped="",
            prefix="notice",
            on_sent=told,
        )

    assert notice() == "sent" and notice() == "done"
    change.refresh_from_db()
    assert change.notice_sent_at is not None and change.notice_attempts == 1
    assert change.mail_sent_at is None and change.mail_attempts == 0
    assert [m.to for m in mail.outbox] == [["old@example.test"]]
    event = AccountEvent.objects.get(user=user, kind=AccountEvent.Kind.EMAIL_CHANGE_NOTICE_SENT)
    assert event.at == change.notice_sent_at
