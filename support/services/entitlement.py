"""Who may ask (SUP-1..5): the entitlement behind a request and the one host it covers.

A support request needs an active entitlement (SUP-1): a licence of the requester's organisation, bought
directly or registered after a partner's sale (SUP-3), named by its support number, whose support term has
not ended (SUP-2: active before ``support_ends_on``). A number the organisation does not hold (unknown, or
another organisation's: the same answer, ALL-1) is told to contact its seller or register the product
(CC-10); an ended one is told when it ended and how to renew.

Every request names the address where the software runs (SUP-4). Its host, normalised, is what an
entitlement is bound to (SUP-5): lower case, IDNA (punycode) for international names, no port, no trailing
dot, and without a leading ``www.`` (``www.shop.example`` and ``shop.example`` are one shop). The first
signed-in request binds the licence to its host; a request for another host is refused. Two first requests
at once for two hosts make one binding: the licence's binding is unique, so the second insert waits for
the first and then finds it (``entitlement_bind``).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from centre.models import Licence

from ..errors import SupportError
from ..models import BindingEvent, EntitlementBinding

URL_MAX_LENGTH = 500
_validate_url = URLValidator(schemes=["http", "https"])


def normalise_host(host: str) -> str:
    """A host as bindings compare it (see the module's docstring); '' when it is not a host name."""
    text = (host or "").strip().rstrip(".").lower()
    if text.startswith("www."):
        text = text[4:]
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return text


def url_clean(url: str) -> tuple[str, str]:
    """The address as stored (``https://`` put in front when no scheme was typed) and its normalised host;
    ``SupportError`` on the ``url`` field when it is missing or not a web address (SUP-4)."""
    text = "".join(ch for ch in (url or "") if ch.isprintable()).strip()
    if not text:
        raise SupportError(
            "url_missing", _("Enter the address (URL) where the software is installed."), field="url"
        )
    if "://" not in text:
        text = "https://" + text
    if len(text) > URL_MAX_LENGTH:
        raise SupportError(
            "url_too_long", _("An address has at most %(n)d characters.") % {"n": URL_MAX_LENGTH}, field="url"
        )
    try:
        _validate_url(text)
        host = normalise_host(urlsplit(text).hostname or "")
    except (ValidationError, ValueError):
        host = ""
    if not host:
        raise SupportError(
            "url_invalid",
            _("Enter the web address where the software is installed, such as https://shop.example.com."),
            field="url",
        )
    return text, host


def entitlement_find(
    *, organisation: Organisation, support_number: str, today: date | None = None
) -> Licence:
    """The licence that entitles ``organisation`` under ``support_number`` (SUP-1..3), or ``SupportError``
    on the ``support_number`` field saying what to do instead."""
    number = "".join(ch for ch in (support_number or "") if ch.isprintable()).strip().upper()
    if not number:
        raise SupportError(
            "support_number_missing", _("Choose the support number of your licence."), field="support_number"
        )
    licence = (
        Licence.objects.for_org(organisation)
        .select_related("product")
        .filter(support_number=number, source__in=[Licence.Source.DIRECT, Licence.Source.REGISTERED])
        .first()
    )
    if licence is None:
        raise SupportError(
            "no_entitlement",
            _(
                "This support number is not one of your organisation's licences. If you bought the product "
                "from a partner, contact your seller, or register the product first: %(url)s"
            )
            % {"url": reverse("centre:register")},
            field="support_number",
        )
    if not licence.support_active(today or timezone.localdate()):
        raise SupportError(
            "support_ended",
            _(
                "Support for %(number)s ended on %(day)s. To renew it, order a support extension from the "
                "distributor or your seller; until then you can still file pre-sales questions."
            )
            % {"number": licence.support_number, "day": formats.date_format(licence.support_ends_on)},
            field="support_number",
        )
    return licence


def _bound_elsewhere(binding: EntitlementBinding) -> SupportError:
    return SupportError(
        "bound_elsewhere",
        _(
            "This support number covers %(host)s. One entitlement covers one domain: a shop at another "
            "address needs its own licence. If you moved your shop, ask us to move the entitlement."
        )
        % {"host": binding.host},
        field="url",
    )


def entitlement_bind(*, licence: Licence, host: str, actor: Any, now: Any = None) -> EntitlementBinding:
    """Bind ``licence`` to ``host`` if it is bound to nothing yet, or check that it is bound to ``host``
    (SUP-5); ``SupportError`` otherwise. Runs in the caller's transaction: a refusal rolls the request back.

    Race: the binding's licence is unique, so of two first requests at once the second insert waits for the
    first transaction, fails, and reads the binding the first made (``get_or_create`` retries the read)."""
    assert transaction.get_connection().in_atomic_block, "entitlement_bind needs the request's transaction"
    try:
        binding, created = EntitlementBinding.objects.get_or_create(
            licence=licence, defaults={"host": host, "bound_by": actor, "bound_at": now or timezone.now()}
        )
    except IntegrityError:  # pragma: no cover - get_or_create already re-reads after a lost race
        binding, created = EntitlementBinding.objects.get(licence=licence), False
    if created:
        BindingEvent.objects.create(
            binding=binding,
            kind=BindingEvent.Kind.BOUND,
            actor=actor,
            data={"host": host},
            at=binding.bound_at,
        )
        return binding
    if binding.host != host:
        raise _bound_elsewhere(binding)
    return binding


def entitlement_check_host(*, licence: Licence, host: str) -> None:
    """SUP-5 without binding (a web-form request): accepted when ``licence`` is bound to nothing or to
    ``host``; ``bound_elsewhere`` otherwise."""
    binding = EntitlementBinding.objects.filter(licence=licence).first()
    if binding is not None and binding.host != host:
        raise _bound_elsewhere(binding)


def entitlement_rebind(*, licence_id: int, host: str, actor: Any) -> EntitlementBinding:
    """Staff move a licence's binding to another host (a customer moved its shop), recorded (SUP-5, ALL-3).
    ``host`` may be typed as an address or a host."""
    _url, clean = url_clean(host)
    with transaction.atomic():
        binding = EntitlementBinding.objects.select_for_update().filter(licence_id=licence_id).first()
        if binding is None:
            binding = EntitlementBinding.objects.create(licence_id=licence_id, host=clean, bound_by=actor)
            before = ""
        else:
            before = binding.host
            binding.host, binding.bound_by, binding.bound_at = clean, actor, timezone.now()
            binding.save(update_fields=["host", "bound_by", "bound_at"])
        BindingEvent.objects.create(
            binding=binding, kind=BindingEvent.Kind.REBOUND, actor=actor, data={"from": before, "to": clean}
        )
    return binding
