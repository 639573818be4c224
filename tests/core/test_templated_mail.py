"""core.templated_mail: one builder for every app's mails; what a builder may tell it (the sender, the time
zone, a mail without HTML) and what it does by default."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from core.templated_mail import templated_mail

NOTICE = "accounts/email/email_change_notice"
CONTEXT = {
    "changed_at": datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    "to_masked": "a***@e***.example",
    "support_email": "help@portal.example",
}


def test_by_default_from_the_portal_with_html_in_the_active_time_zone():
    with timezone.override("UTC"):
        message = templated_mail(NOTICE, CONTEXT, to=["old@example.test"])
    assert message.from_email == settings.DEFAULT_FROM_EMAIL and message.to == ["old@example.test"]
    assert message.subject and "\n" not in message.subject
    assert [kind for _html, kind in message.alternatives] == ["text/html"]
    assert "12:00" in message.body


def test_the_sender_and_time_zone_a_builder_gives_are_used():
    with timezone.override("UTC"):
        message = templated_mail(
            NOTICE, CONTEXT, to=["old@example.test"], from_email="locker@example.test", tz="Asia/Tokyo"
        )
    assert message.from_email == "locker@example.test"
    assert "21:00" in message.body and "21:00" in str(message.alternatives[0][0])
    assert timezone.get_current_timezone_name() != "Asia/Tokyo"


def test_a_text_only_mail_has_no_alternative():
    message = templated_mail(NOTICE, CONTEXT, to=["old@example.test"], html=False)
    assert message.alternatives == [] and message.body
