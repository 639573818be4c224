"""The public web form (``/help/``, SUP-6, SUP-7, SVC-6, SUP-5, ALL-2).

Anyone may type a request; it is *held* (no number, not in the queue) until the address it names is
confirmed from a mail (a signed link that expires with the hold, ``SUPPORT_WEB_FORM_HOLD_DAYS``): so a form
cannot file in someone's name. The support number and the URL are checked only then, by the module's own
entitlement rules (``request_file``), so the form's first answer is the same whatever was typed; the
result is shown on the confirmation page (and the number comes in the confirmation mail). Refusals from
the web are neutral: an unknown, a partner's or an ended support number get one answer, and a licence bound
to another domain is refused without naming it. A web-form request never binds an entitlement (SUP-5).

A pre-sales question (SVC-6) needs neither support number nor URL; it is filed under the distributor's own
organisation (there is no customer to file it under). The customer follows and answers a filed request
through a second signed link (``support.tokens.follow_token``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from centre.models import Licence
from core.links import link_values
from core.tasking import enqueue_on_commit

from ..errors import SupportError
from ..models import Category, Channel, HeldWebRequest, Kind, Message, SupportRequest
from ..tokens import CONFIRM_SALT, FOLLOW_SALT
from . import entitlement
from .requests import BODY_MAX, SUBJECT_MAX, _clean_text, request_customer_reply, request_file


def _hold_age() -> timedelta:
    return timedelta(days=int(settings.SUPPORT_WEB_FORM_HOLD_DAYS))


def web_request_hold(
    *,
    email: str,
    kind: str,
    subject: str,
    body: str,
    support_number: str = "",
    url: str = "",
    category: str = "",
) -> HeldWebRequest:
    """Keep a web-form request until its address is confirmed, and mail the link (after commit). Only the
    form's own shape is checked here (ALL-2: refusals by field); the entitlement waits for confirmation."""
    address = (email or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise SupportError("email_invalid", _("Enter a valid e-mail address."), field="email") from None
    if kind not in (Kind.SUPPORT, Kind.PRE_SALES):
        raise SupportError(
            "kind_invalid", _("Choose a support request or a pre-sales question."), field="kind"
        )
    subject = _clean_text(subject, field="subject", limit=SUBJECT_MAX, missing=_("Enter a subject."))
    body = _clean_text(body, field="body", limit=BODY_MAX, missing=_("Describe what you need."))
    number = "".join(ch for ch in (support_number or "") if ch.isprintable()).strip().upper()[:40]
    clean_url = ""
    if kind == Kind.SUPPORT:
        if not number:
            raise SupportError(
                "support_number_missing",
                _("Enter the support number of your licence."),
                field="support_number",
            )
        clean_url, _host = entitlement.url_clean(url)
        if category not in Category.values:
            raise SupportError("category_missing", _("Choose what your request is about."), field="category")
    else:
        number, category = "", ""
        if (url or "").strip():
            clean_url, _host = entitlement.url_clean(url)
    with transaction.atomic():
        held = HeldWebRequest.objects.create(
            email=address,
            kind=kind,
            support_number=number,
            url=clean_url,
            category=category,
            subject=subject,
            body=body,
        )
        enqueue_on_commit("support.tasks.send_web_confirm", held.pk)
    return held


def _unavailable() -> SupportError:
    return SupportError("link_unavailable", _("This link is no longer valid."))


def held_from_token(token: str) -> HeldWebRequest:
    """The held request a confirmation link names; ``link_unavailable`` for a forged, lapsed or used link
    alike."""
    values = link_values(token, salt=CONFIRM_SALT, size=2, max_age=_hold_age())
    if values is None:
        raise _unavailable()
    pk, email = values
    held = HeldWebRequest.objects.filter(pk=pk, email=email, state=HeldWebRequest.State.HELD).first()
    if held is None:
        raise _unavailable()
    return held


def _distributor() -> Organisation:
    found = Organisation.objects.filter(kind=Organisation.Kind.DISTRIBUTOR).order_by("pk").first()
    if found is None:
        found = Organisation.objects.create(kind=Organisation.Kind.DISTRIBUTOR, name=_("Distributor"))
    return found


def _no_entitlement() -> str:
    return _(
        "We found no licence with active support under this support number. Check the number on your "
        "licence; if you bought the product from a partner, contact your seller or register the product in "
        "the customer centre; if support ended, renew it."
    )


NEUTRAL: dict[str, Callable[[], str]] = {
    "no_entitlement": _no_entitlement,
    "support_ended": _no_entitlement,
    "bound_elsewhere": lambda: _(
        "This support number covers another domain. One entitlement covers one domain: a shop at another "
        "address needs its own licence. If you moved your shop, sign in to the customer centre or call us."
    ),
}


def web_request_confirm(*, held_id: int, now: datetime | None = None) -> HeldWebRequest:
    """Confirm a held request (the link's POST): it is filed (number, queue, clock; never a binding:
    SUP-5) or refused with a neutral reason kept on the held record. Twice: ``link_unavailable``."""
    now = now or timezone.now()
    with transaction.atomic():
        held = (
            HeldWebRequest.objects.select_for_update()
            .filter(pk=held_id, state=HeldWebRequest.State.HELD, created_at__gte=now - _hold_age())
            .first()
        )
        if held is None:
            raise _unavailable()
        held.confirmed_at = now
        try:
            with transaction.atomic():
                if held.kind == Kind.SUPPORT:
                    licence = (
                        Licence.objects.select_related("customer")
                        .filter(support_number=held.support_number)
                        .first()
                    )
                    if licence is None:
                        raise SupportError("no_entitlement", "", field="support_number")
                    organisation = licence.customer
                else:
                    organisation = _distributor()
                filed = request_file(
                    organisation=organisation,
                    requester=None,
                    kind=held.kind,
                    support_number=held.support_number,
                    url=held.url,
                    category=held.category,
                    subject=held.subject,
                    body=held.body,
                    channel=Channel.WEB_FORM,
                    now=now,
                    bind=False,
                    contact_email=held.email,
                )
        except SupportError as error:
            neutral = NEUTRAL.get(error.code)
            reason = neutral() if neutral else error.message
            held.state, held.refusal = HeldWebRequest.State.REFUSED, reason[:500]
            held.save(update_fields=["state", "refusal", "confirmed_at"])
            return held
        held.state, held.request = HeldWebRequest.State.FILED, filed
        held.save(update_fields=["state", "request", "confirmed_at"])
    return held


def request_from_follow_token(token: str) -> SupportRequest:
    """The web-form request a follow link names; ``link_unavailable`` for a forged one (ALL-1)."""
    values = link_values(token, salt=FOLLOW_SALT, size=2)
    if values is None:
        raise _unavailable()
    pk, email = values
    found = (
        SupportRequest.objects.filter(pk=pk, contact_email=email, channel=Channel.WEB_FORM)
        .exclude(contact_email="")
        .first()
    )
    if found is None:
        raise _unavailable()
    return found


def web_request_answer(*, request: SupportRequest, body: str, now: datetime | None = None) -> Message:
    """The web-form customer answers through the follow link: the module's rule (a paused clock runs
    again, SUP-8)."""
    return request_customer_reply(
        organisation=request.organisation, request_id=request.pk, author=None, body=body, now=now
    )


def held_sweep(*, now: datetime | None = None) -> int:
    """Unconfirmed held requests past ``SUPPORT_WEB_FORM_HOLD_DAYS`` lapse (deleted: nothing was filed)."""
    now = now or timezone.now()
    stale = HeldWebRequest.objects.filter(
        state=HeldWebRequest.State.HELD, created_at__lt=now - _hold_age()
    ).values_list("pk", flat=True)[:1000]
    deleted, _detail = HeldWebRequest.objects.filter(pk__in=list(stale)).delete()
    return int(deleted)
