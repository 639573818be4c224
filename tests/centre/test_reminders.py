"""Reminders before a licence's support ends (SUP-2, CC-1; issue #14): the window's edges, one mail per
licence to the customer's active administrators only, never the installation number, the way to renew, and
a run twice or two runs at once send each reminder once.

Installation numbers are generated at run time, never written in a file."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from accounts.models import Membership, Organisation
from centre.models import Licence, SupportReminder
from centre.services.licences import licence_book
from centre.tasks import send_support_reminders
from tests.centre.test_licences import random_number
from tests.conftest import run_concurrently
from tests.factories import make_product, make_user

ADMIN, MEMBER = Membership.Role.ADMIN, Membership.Role.MEMBER


def _customer(customer_id: str, name: str) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name=name, customer_id=customer_id)


def _licence(customer: Organisation, product: Any, ends_in_days: int) -> tuple[Licence, str]:
    """A licence of ``customer`` whose support ends ``ends_in_days`` from today, and its number."""
    number = random_number()
    licence = licence_book(
        customer=customer,
        product=product,
        installation_number=number,
        purchase_date=timezone.localdate() - timedelta(days=400),
        actor=None,
    )
    ends_on = timezone.localdate() + timedelta(days=ends_in_days)
    Licence.objects.filter(pk=licence.pk).update(support_ends_on=ends_on)
    licence.refresh_from_db()
    return licence, number


@pytest.fixture
def acme(db: None) -> Organisation:
    return _customer("C-10", "Acme Sp. z o.o.")


@pytest.fixture
def product(db: None) -> Any:
    return make_product("CS-PRO-REM", name="Commerce Suite PROFESSIONAL", support_months=6)


@pytest.mark.django_db
def test_sup2_the_window_runs_from_tomorrow_to_support_reminder_days(settings, acme, product):
    """SUP-2: support is active before its end date; a licence whose support ends after today and at most
    ``SUPPORT_REMINDER_DAYS`` (30) on is reminded; one ending today (ended), in 31 days, or in the past is
    not."""
    settings.SUPPORT_REMINDER_DAYS = 30
    make_user(acme, email="boss@acme.test", role=ADMIN)
    due = {days: _licence(acme, product, days)[0] for days in (-5, 0, 1, 15, 30, 31, 200)}
    assert send_support_reminders() == {"due": 3, "enqueued": 3}
    reminded = set(SupportReminder.objects.values_list("licence_id", flat=True))
    assert reminded == {due[1].pk, due[15].pk, due[30].pk}
    assert len(mail.outbox) == 3
    assert {m.subject for m in mail.outbox} == {
        f"Support for Commerce Suite PROFESSIONAL ends on {timezone.localdate() + timedelta(days=d):%-d %b %Y}"
        for d in (1, 15, 30)
    }


@pytest.mark.django_db
def test_sup2_cc1_one_mail_per_licence_to_active_administrators_without_the_installation_number(
    settings, acme, product
):
    """SUP-2, CC-1: each due licence gets ONE mail, to every active administrator of its customer and to no one
    else (not a deactivated administrator, a closed account, a member with the licences right, another
    customer's administrator); it names the product, the support number, the end date and the renewal
    address, never the installation number; a second run sends nothing."""
    settings.SUPPORT_RENEWAL_URL = "https://distributor.example/renew-support"
    boss = make_user(acme, email="boss@acme.test", role=ADMIN)
    make_user(acme, email="deputy@acme.test", role=ADMIN)
    gone = make_user(acme, email="gone@acme.test", role=ADMIN)
    Membership.objects.filter(user=gone).update(active=False)
    make_user(acme, email="closed@acme.test", role=ADMIN, is_active=False)
    member = make_user(acme, email="member@acme.test", role=MEMBER)
    Membership.objects.filter(user=member).update(right_licences=True)
    other = _customer("C-11", "Other S.A.")
    make_user(other, email="boss@other.test", role=ADMIN)
    first, first_number = _licence(acme, product, 10)
    second, second_number = _licence(acme, product, 20)
    _licence(other, product, 400)  # the other customer's licence is not due

    send_support_reminders()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert (
            sorted(message.to) == ["boss@acme.test", "deputy@acme.test"]
            and not message.cc
            and not message.bcc
        )
        everything = message.subject + message.body + message.alternatives[0][0]
        assert first_number not in everything and second_number not in everything
        assert first_number.replace("-", "") not in everything.replace("-", "")
        assert "https://distributor.example/renew-support" in message.body
    bodies = sorted(m.body for m in mail.outbox)
    assert first.support_number in bodies[0] + bodies[1] and second.support_number in bodies[0] + bodies[1]
    assert all("Commerce Suite PROFESSIONAL" in body for body in bodies)
    reminder = SupportReminder.objects.get(licence=first)
    assert reminder.mail_sent_at is not None and reminder.recipients == 2
    assert boss.email in mail.outbox[0].to

    mail.outbox.clear()
    assert send_support_reminders() == {"due": 0, "enqueued": 0}
    assert not mail.outbox


@pytest.mark.django_db
def test_sup2_without_renewal_url_the_support_address_and_without_administrator_nothing(
    settings, acme, product
):
    """SUP-2: with no ``SUPPORT_RENEWAL_URL`` the mail names the distributor's support address; a customer
    with no active administrator gets no mail, and the reminder records why (staff see it)."""
    settings.SUPPORT_RENEWAL_URL = ""
    make_user(acme, email="boss@acme.test", role=ADMIN)
    lonely = _customer("C-12", "Lonely GmbH")
    _licence(acme, product, 5)
    orphan, _number = _licence(lonely, product, 5)
    send_support_reminders()
    assert [m.to for m in mail.outbox] == [["boss@acme.test"]]
    assert django_settings.PORTAL_SUPPORT_EMAIL in mail.outbox[0].body
    dropped = SupportReminder.objects.get(licence=orphan)
    assert dropped.mail_sent_at is None and "no active administrator" in dropped.mail_error


@pytest.mark.django_db
def test_sup2_a_term_extended_later_is_reminded_again_before_its_new_end(acme, product):
    """SUP-2: one reminder per licence and support term: extending the term makes a new one due when the new
    end comes within the window, never a second mail for the same term."""
    make_user(acme, email="boss@acme.test", role=ADMIN)
    licence, _number = _licence(acme, product, 7)
    send_support_reminders()
    Licence.objects.filter(pk=licence.pk).update(support_ends_on=timezone.localdate() + timedelta(days=12))
    send_support_reminders()
    send_support_reminders()
    assert len(mail.outbox) == 2
    assert SupportReminder.objects.filter(licence=licence).count() == 2


@pytest.mark.django_db
def test_sup2_the_reminder_runs_from_the_beat_schedule():
    """ALL-5: the reminder run is a periodic task of the beat."""
    entry = django_settings.CELERY_BEAT_SCHEDULE["support-reminders"]
    assert entry["task"] == "centre.tasks.send_support_reminders"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sup2_all5_runs_at_the_same_moment_send_each_reminder_once(settings):
    """SUP-2, ALL-5: four reminder runs at the same moment, each in its own transaction and connection (the
    beat fired twice, a worker redelivered the task): each due licence is reminded once, by one mail."""
    customer = _customer("C-20", "Race Sp. z o.o.")
    product = make_product("CS-RACE", name="Commerce Suite STANDARD", support_months=3)
    make_user(customer, email="boss@race.test", role=ADMIN)
    licences = [_licence(customer, product, days)[0] for days in (3, 4, 5, 6, 7)]
    run_concurrently([send_support_reminders for _ in range(4)])
    assert SupportReminder.objects.count() == len(licences)
    assert SupportReminder.objects.filter(mail_sent_at__isnull=False).count() == len(licences)
    assert len(mail.outbox) == len(licences)
    numbers = sorted(licence.support_number for licence in licences)
    assert sorted(n for m in mail.outbox for n in numbers if n in m.body) == numbers
