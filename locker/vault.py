"""The vault: the one API that seals and opens a secret anywhere in the portal (LOCK-1, LOCK-3).

Every model field that holds a secret is *registered* here as a ``SealedField``: the model, its three
columns (ciphertext, wrapped data key, master key id) and the kind that binds a ciphertext to its record
(LOCK-2). Apps register their own fields from their ``AppConfig.ready`` (the locker its product keys and
import files, webhooks their signing secrets; installation numbers, activation codes and ticket
credentials register the same way), so the locker never imports an app above it, and master-key rotation
walks the whole registry: ``rewrap_batch`` re-wraps every sealed record of every registered field and
``by_master_key`` says what still depends on each master key. A secret sealed outside this registry could
not be rotated; nothing outside ``locker/`` imports ``locker.crypto``, and a test keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils.functional import Promise

from . import crypto

VaultError = crypto.LockerCryptoError
UnknownMasterKey = crypto.UnknownMasterKey
TamperedRecord = crypto.TamperedRecord
Sealed = crypto.Sealed


@dataclass(frozen=True)
class SealedField:
    """A secret kept on a model: three columns, opened only through this module.

    ``kind`` is part of the associated data of every seal, so it must never change once records exist.
    A record whose ``master_key_id`` column is empty holds nothing (destroyed after retention, or an
    import file already processed) and is left alone by rotation.
    """

    kind: str
    model: str  # "app_label.ModelName"
    ciphertext: str
    wrapped_key: str
    master_key_id: str
    label: str | Promise  # what the rotation report and the admin call these records (translatable)

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def sealed_rows(self) -> models.QuerySet[Any]:
        """Every record of this field that holds a sealed secret."""
        return self.model_class()._default_manager.exclude(**{self.master_key_id: ""})


_REGISTRY: dict[str, SealedField] = {}


def register(field: SealedField) -> SealedField:
    """Make a sealed field known to the vault (call from ``AppConfig.ready``); idempotent per kind."""
    known = _REGISTRY.get(field.kind)
    if known is not None and known != field:
        raise ValueError(f"The sealed kind {field.kind!r} is already registered for {known.model}.")
    _REGISTRY[field.kind] = field
    return field


def registered() -> list[SealedField]:
    """Every registered sealed field, in registration order."""
    return list(_REGISTRY.values())


def _field(kind: str) -> SealedField:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise VaultError(f"{kind!r} is not a registered sealed field.") from None


# --- sealing and opening ---------------------------------------------------------------------------
def seal(kind: str, *, record_id: str, plaintext: str) -> Sealed:
    """Seal ``plaintext`` for one record of a registered field, under the current master key.

    For callers that write the columns themselves (bulk imports); ``seal_into`` sets them on an instance.
    """
    _field(kind)
    return crypto.seal(kind=kind, record_id=record_id, plaintext=plaintext)


def seal_into(instance: models.Model, kind: str, plaintext: str) -> None:
    """Seal ``plaintext`` onto ``instance``'s columns of the field ``kind`` (the caller saves them).

    The record's primary key must already be known: it is bound into the seal (LOCK-2).
    """
    field = _field(kind)
    if instance.pk is None:
        raise VaultError("A record is sealed once its primary key is known.")
    sealed = crypto.seal(kind=kind, record_id=str(instance.pk), plaintext=plaintext)
    setattr(instance, field.ciphertext, sealed.ciphertext)
    setattr(instance, field.wrapped_key, sealed.wrapped_key)
    setattr(instance, field.master_key_id, sealed.master_key_id)


def columns(kind: str) -> tuple[str, str, str]:
    """The names of a field's (ciphertext, wrapped key, master key id) columns."""
    field = _field(kind)
    return field.ciphertext, field.wrapped_key, field.master_key_id


def open_from(instance: models.Model, kind: str) -> str:
    """The plaintext of ``instance``'s field ``kind``. Raises ``VaultError`` (never with the secret in it)."""
    field = _field(kind)
    return crypto.unseal(
        kind=kind,
        record_id=str(instance.pk),
        ciphertext=getattr(instance, field.ciphertext),
        wrapped_key=getattr(instance, field.wrapped_key),
        master_key_id=getattr(instance, field.master_key_id),
    )


def fingerprint(normalised_secret: str) -> str:
    """Keyed hash that finds a duplicate without decrypting anything (LOCK-5)."""
    return crypto.fingerprint(normalised_secret)


def current_master_key_id() -> str:
    return crypto.current_master_key_id()


def configured_master_key_ids() -> list[str]:
    """The ids of every configured master key, the encrypting one first."""
    return [kid for kid, _key in crypto.master_keys()]


# --- master-key rotation (LOCK-3) ------------------------------------------------------------------
def _to_rewrap(field: SealedField, current: str) -> models.QuerySet[Any]:
    return field.sealed_rows().exclude(**{field.master_key_id: current})


def pending_rewrap() -> int:
    """How many sealed records, over the whole registry, are not yet under the current master key."""
    current = current_master_key_id()
    return sum(_to_rewrap(field, current).count() for field in registered())


def rewrap_batch(*, batch_size: int = 500) -> int:
    """Re-wrap one batch of data keys under the current master key, over the whole registry.

    Returns how many records it re-wrapped; 0 when nothing is left that it could take. Each batch commits
    on its own, so a killed run loses at most one batch and a new run continues. Rows another transaction
    holds (a reveal, a delivery reading its secret) are skipped (SKIP LOCKED) and taken by a later batch.
    Only the wrapped data key changes; the ciphertext stays as it is.
    """
    current = current_master_key_id()
    for field in registered():
        with transaction.atomic():
            rows = list(
                _to_rewrap(field, current)
                .select_for_update(skip_locked=True)
                .only("pk", field.wrapped_key, field.master_key_id)
                .order_by("pk")[:batch_size]
            )
            if not rows:
                continue
            for row in rows:
                wrapped, kid = crypto.rewrap(
                    kind=field.kind,
                    record_id=str(row.pk),
                    wrapped_key=getattr(row, field.wrapped_key),
                    master_key_id=getattr(row, field.master_key_id),
                )
                setattr(row, field.wrapped_key, wrapped)
                setattr(row, field.master_key_id, kid)
            field.model_class()._default_manager.bulk_update(rows, [field.wrapped_key, field.master_key_id])
            return len(rows)
    return 0


def by_master_key() -> dict[str, dict[str, int]]:
    """For each registered field (by label), how many sealed records depend on each master key.

    An old master key can be removed only when no field has a record under it.
    """
    report: dict[str, dict[str, int]] = {}
    for field in registered():
        rows = (
            field.sealed_rows()
            .values(field.master_key_id)
            .annotate(n=models.Count("pk"))
            .order_by(field.master_key_id)
        )
        report[str(field.label)] = {r[field.master_key_id]: r["n"] for r in rows}
    return report


def records_needing(kid: str) -> Iterator[tuple[str, int]]:
    """(field label, count) of every field with records still under the master key ``kid``."""
    for label, counts in by_master_key().items():
        if counts.get(kid):
            yield label, counts[kid]
