"""A record's mail, sent once (ALL-5), whatever app the record belongs to.

The record carries the mail's four columns (``core.models.SendOnceMail``, or the same four under another
prefix): a worker claims the mail by a conditional update (``core.claims``), checks that it is still
wanted, sends it and marks it sent. A copy of the task, a redelivery or a later run finds it claimed or
sent. An SMTP or network error releases the claim and is raised for the task, which retries with growing
gaps (``retry_or_give_up``) until it gives up and keeps the reason for staff. A sweeper re-enqueues the
mails a lost message left behind (``unsent``).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Model, Q
from django.utils import timezone

from .backoff import backoff
from .claims import claim, unclaimed

logger = logging.getLogger(__name__)

CLAIM_HOLD = timedelta(minutes=5)

R = TypeVar("R")


def is_permanent_smtp_error(exc: BaseException) -> bool:
    """A 5xx answer (no such mailbox, refused) will not change on retry; 4xx and network errors may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def send_once(
    model: type[Model],
    pk: Any,
    *,
    load: Callable[[], R | None],
    wanted: Callable[[R], bool],
    build: Callable[[R], EmailMessage],
    dropped: str,
    prefix: str = "mail",
    on_sent: Callable[[R, datetime], None] | None = None,
) -> str:
    """Send the mail of ``model``'s row ``pk`` once; its columns are ``{prefix}_claimed_until``,
    ``_attempts``, ``_sent_at`` and ``_error``.

    ``"sent"``; ``"done"`` (sent or given up before, another worker holds it, or the record is gone);
    ``"dropped"`` (``wanted`` says the mail has no reason to go any more; ``dropped`` is kept as the
    reason). ``load`` reads the record once claimed, ``build`` makes the message. ``on_sent`` is told the
    record and the moment it was marked sent. An SMTP or network error is raised after the claim is
    released, for the task to retry with backoff."""
    rows = model._default_manager.filter(pk=pk)
    claimed, _until = claim(
        model,
        [pk],
        field=f"{prefix}_claimed_until",
        hold=CLAIM_HOLD,
        counter=f"{prefix}_attempts",
        **{f"{prefix}_sent_at": None, f"{prefix}_error": ""},
    )
    if not claimed:
        return "done"
    record = load()
    if record is None:
        return "done"
    if not wanted(record):
        rows.update(**{f"{prefix}_claimed_until": None, f"{prefix}_error": dropped})
        return "dropped"
    try:
        build(record).send()
    except (smtplib.SMTPException, OSError):
        rows.update(**{f"{prefix}_claimed_until": None})
        raise
    now = timezone.now()
    rows.update(**{f"{prefix}_sent_at": now, f"{prefix}_claimed_until": None, f"{prefix}_error": ""})
    if on_sent is not None:
        on_sent(record, now)
    return "sent"


def give_up(model: type[Model], pk: Any, reason: str, *, prefix: str = "mail") -> None:
    """Stop trying a mail not sent yet: the reason (an SMTP answer, never a link) is kept for staff and
    nothing retries it (``send_once`` and ``unsent`` leave a row with a reason alone)."""
    model._default_manager.filter(pk=pk, **{f"{prefix}_sent_at": None}).update(
        **{f"{prefix}_error": reason[:300] or "failed", f"{prefix}_claimed_until": None}
    )


def retry_or_give_up(
    task: Any, model: type[Model], pk: Any, exc: BaseException, *, prefix: str = "mail"
) -> str:
    """What a task does when ``send_once`` raised ``exc`` (an SMTP or network error): retry after a
    growing gap, counted on the row (so however the task is redelivered the mail is tried at most
    ``MAIL_MAX_RETRIES`` + 1 times), or give up with the reason and return ``"failed"`` after the last try
    or at once for a permanent (5xx) refusal."""
    attempts = model._default_manager.filter(pk=pk).values_list(f"{prefix}_attempts", flat=True).first() or 0
    if is_permanent_smtp_error(exc) or attempts > settings.MAIL_MAX_RETRIES:
        give_up(model, pk, f"{exc.__class__.__name__}: {exc}", prefix=prefix)
        return "failed"
    logger.warning(
        "%s %s (%s): attempt %s failed (%s)", model.__name__, pk, prefix, attempts, exc.__class__.__name__
    )
    raise task.retry(countdown=backoff(settings.MAIL_RETRY_BASE_SECONDS, attempts - 1)) from None


def unsent(now: datetime, *, prefix: str = "mail") -> Q:
    """The mails a sweeper sends again: not sent, never tried (a mail being retried has its own retry
    chain), not given up or dropped, and held by nobody at ``now``."""
    never_tried = Q(**{f"{prefix}_sent_at": None, f"{prefix}_error": "", f"{prefix}_attempts": 0})
    return never_tried & unclaimed(f"{prefix}_claimed_until", now)
