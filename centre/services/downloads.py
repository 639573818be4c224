"""Downloads in the customer centre (CC-2, CC-5, SUP-11, ALL-3).

``download_record`` writes the ``DownloadEvent`` of one download after the access check passed (the view
hands the file over only once it is written). Staff withdraw a licence's download access for a licence
breach, with a reason the customer sees, and restore it (``licence_downloads_withdraw`` /
``licence_downloads_restore``), each recorded as a ``LicenceEvent``. The organisation's delivery preference
(download or media by post) changes through ``delivery_preference_set``, recorded as a
``DeliveryPreferenceEvent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Organisation
from catalog.models import ReleaseFile
from core.locking import locked_in_pk_order

from ..errors import CentreError
from ..models import DeliveryPreference, DeliveryPreferenceEvent, DownloadEvent, Licence, LicenceEvent

REASON_MAX_LENGTH = 1000


def download_record(
    *,
    organisation: Organisation,
    user: Any,
    release_file: ReleaseFile,
    ip: str | None,
    user_agent: str = "",
) -> DownloadEvent:
    """Record one download (CC-2, ALL-3): who, when, which file, for which organisation, from where."""
    return DownloadEvent.objects.create(
        organisation=organisation,
        actor=user,
        kind=DownloadEvent.Kind.DOWNLOADED,
        release_file=release_file,
        ip=ip,
        user_agent=(user_agent or "")[:400],
        data={"release": release_file.release_id, "product": release_file.release.product_id},
    )


def licence_downloads_withdraw(*, licence_ids: Iterable[int], reason: str, actor: Any) -> list[Licence]:
    """Withdraw the download access of the licences (SUP-11) with ``reason``, which the customer reads;
    licences already withdrawn keep their first withdrawal. Returns the licences it withdrew."""
    text = (reason or "").strip()
    if not text:
        raise CentreError("reason_missing", _("Say why the download access is withdrawn."), field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise CentreError(
            "reason_too_long",
            ngettext(
                "A reason has at most %(n)d character.",
                "A reason has at most %(n)d characters.",
                REASON_MAX_LENGTH,
            )
            % {"n": REASON_MAX_LENGTH},
            field="reason",
        )
    return _downloads_access_set(licence_ids, withdrawn=True, reason=text, actor=actor)


def licence_downloads_restore(*, licence_ids: Iterable[int], actor: Any) -> list[Licence]:
    """Give withdrawn licences their download access back (SUP-11); the event keeps the old reason."""
    return _downloads_access_set(licence_ids, withdrawn=False, reason="", actor=actor)


def _downloads_access_set(
    licence_ids: Iterable[int], *, withdrawn: bool, reason: str, actor: Any
) -> list[Licence]:
    """Withdraw (``withdrawn``, with ``reason``) or restore the download access of those of the licences
    whose access is not so already, locked in the order of their ids, with one ``LicenceEvent`` each: a
    withdrawal's event keeps its reason, a restoration's the reason it ends. Returns the licences changed."""
    with transaction.atomic():
        licences = locked_in_pk_order(
            Licence.objects.all(), licence_ids, downloads_withdrawn_at__isnull=withdrawn
        )
        now = timezone.now()
        kind = LicenceEvent.Kind.DOWNLOADS_WITHDRAWN if withdrawn else LicenceEvent.Kind.DOWNLOADS_RESTORED
        events = [
            LicenceEvent(
                licence=licence,
                kind=kind,
                actor_id=getattr(actor, "pk", None),
                at=now,
                data={"reason": reason}
                if withdrawn
                else {"withdrawn_reason": licence.downloads_withdrawn_reason},
            )
            for licence in licences
        ]
        for licence in licences:
            licence.downloads_withdrawn_at = now if withdrawn else None
            licence.downloads_withdrawn_reason = reason
            licence.save(update_fields=["downloads_withdrawn_at", "downloads_withdrawn_reason"])
        LicenceEvent.objects.bulk_create(events)
    return licences


def delivery_preference_set(*, organisation: Organisation, method: str, actor: Any) -> DeliveryPreference:
    """Set how new versions reach the organisation (CC-5); a change is recorded with who and when (ALL-3),
    choosing the same again records nothing."""
    if not organisation.is_customer:
        raise CentreError("not_found", _("Not found."))
    if method not in DeliveryPreference.Method.values:
        raise CentreError("unknown_method", _("Choose how new versions reach you."), field="method")
    with transaction.atomic():
        preference, _created = DeliveryPreference.objects.select_for_update().get_or_create(
            organisation=organisation
        )
        before = preference.method if not _created else DeliveryPreference.Method.DOWNLOAD
        if before == method and not _created:
            return preference
        preference.method, preference.changed_at = method, timezone.now()
        preference.save(update_fields=["method", "changed_at"])
        if before != method:
            DeliveryPreferenceEvent.objects.create(
                organisation=organisation,
                kind=DeliveryPreferenceEvent.Kind.CHANGED,
                actor_id=getattr(actor, "pk", None),
                data={"before": before, "after": method},
            )
    return preference
