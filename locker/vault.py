"""The vault: the one API that seals and opens a secret anywhere in the portal (LOCK-1, LOCK-3).

Every model field that holds a secret is *registered* here as a ``SealedField``: the model, its three
columns (ciphertext, wrapped data key, master key id) and the kind that binds a ciphertext to its record
(LOCK-2). Apps register their own fields from their ``AppConfig.ready``, one ``register_model`` line a
field (the locker its product keys and import files, webhooks their signing secrets, the centre its
installation numbers, support its request credentials), so the locker never imports an app above it, and
master-key rotation walks the whole registry: ``rewrap_batch`` re-wraps every sealed record of every
registered field and ``by_master_key`` says what still depends on each master key. A secret sealed outside
this registry could not be rotated; nothing outside ``locker/`` imports ``locker.crypto``, and a test
keeps it so.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
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


@dataclass(frozen=True)
class SealedJsonField:
    """Secrets kept as sealed tokens (``seal_token``) inside a JSON column, for models the portal does not
    own (allauth's MFA authenticators). ``keys`` name the JSON keys whose value is a token or a list of
    tokens. Such tables are small (one row per authenticator), so rotation reads them whole."""

    kind: str
    model: str
    field: str
    keys: tuple[str, ...]
    label: str | Promise

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


_REGISTRY: dict[str, SealedField] = {}
_JSON_REGISTRY: dict[str, SealedJsonField] = {}


def register(field: SealedField) -> SealedField:
    """Make a sealed field known to the vault (call from ``AppConfig.ready``); idempotent per kind."""
    known = _REGISTRY.get(field.kind)
    if known is not None and known != field:
        raise ValueError(f"The sealed kind {field.kind!r} is already registered for {known.model}.")
    _REGISTRY[field.kind] = field
    return field


def register_model(
    model: type[models.Model],
    *,
    field: str = "",
    label: str | Promise,
    columns: tuple[str, str, str] | None = None,
) -> SealedField:
    """Register the secret ``model`` keeps (call from ``AppConfig.ready``): one line per sealed field.

    The kind is the model's ``SEAL_KIND``. The three columns are named after ``field``
    (``<field>_ciphertext``, ``<field>_wrapped_key``, ``<field>_master_key_id``; without a ``field``
    just ``ciphertext``, ``wrapped_key``, ``master_key_id``), or given as ``columns`` where a model
    named them otherwise. A column that is not on the model is refused here, at start-up, rather than
    found missing by a master-key rotation (LOCK-3).
    """
    prefix = f"{field}_" if field else ""
    ciphertext, wrapped_key, master_key_id = columns or (
        f"{prefix}ciphertext",
        f"{prefix}wrapped_key",
        f"{prefix}master_key_id",
    )
    opts = model._meta
    for name, kind_of_column in (
        (ciphertext, models.BinaryField),
        (wrapped_key, models.BinaryField),
        (master_key_id, models.CharField),
    ):
        try:
            column = opts.get_field(name)
        except FieldDoesNotExist:
            raise ValueError(f"{opts.label} has no column {name!r} to seal.") from None
        if not isinstance(column, kind_of_column):
            raise ValueError(f"{opts.label}.{name} is not a {kind_of_column.__name__}.")
    return register(
        SealedField(
            kind=model.SEAL_KIND,  # type: ignore[attr-defined]
            model=opts.label,
            ciphertext=ciphertext,
            wrapped_key=wrapped_key,
            master_key_id=master_key_id,
            label=label,
        )
    )


def register_json(field: SealedJsonField) -> SealedJsonField:
    """Make sealed tokens inside a JSON column known to the vault; idempotent per kind."""
    known = _JSON_REGISTRY.get(field.kind) or _REGISTRY.get(field.kind)
    if known is not None and known != field:
        raise ValueError(f"The sealed kind {field.kind!r} is already registered for {known.model}.")
    _JSON_REGISTRY[field.kind] = field
    return field


def registered() -> list[SealedField]:
    """Every registered sealed field, in registration order."""
    return list(_REGISTRY.values())


def registered_json() -> list[SealedJsonField]:
    return list(_JSON_REGISTRY.values())


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


# --- sealed tokens: a whole seal in one string, for columns the portal does not own ---------------------
_TOKEN_PREFIX = "vault1"  # noqa: S105 (a format marker, not a secret)


def seal_token(kind: str, plaintext: str, *, context: str = "") -> str:
    """``plaintext`` sealed into one printable string: ``vault1.<master key id>.<wrapped key>.<ciphertext>``.

    ``context`` is bound into the seal like a record id (LOCK-2) where the caller has one.
    """
    if kind not in _JSON_REGISTRY:
        raise VaultError(f"{kind!r} is not a registered sealed field.")
    sealed = crypto.seal(kind=kind, record_id=context, plaintext=plaintext)
    return ".".join(
        [
            _TOKEN_PREFIX,
            sealed.master_key_id,
            base64.urlsafe_b64encode(sealed.wrapped_key).decode(),
            base64.urlsafe_b64encode(sealed.ciphertext).decode(),
        ]
    )


def is_token(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(_TOKEN_PREFIX + ".") and value.count(".") == 3


def _split_token(token: str) -> tuple[str, bytes, bytes]:
    if not is_token(token):
        raise VaultError("Not a sealed token.")
    _prefix, kid, wrapped, ciphertext = token.split(".")
    try:
        return kid, base64.urlsafe_b64decode(wrapped), base64.urlsafe_b64decode(ciphertext)
    except (ValueError, TypeError):
        raise VaultError("A sealed token is damaged.") from None


def open_token(kind: str, token: str, *, context: str = "") -> str:
    """The plaintext of a token made by ``seal_token``. Raises ``VaultError`` (never with the secret)."""
    kid, wrapped, ciphertext = _split_token(token)
    return crypto.unseal(
        kind=kind, record_id=context, ciphertext=ciphertext, wrapped_key=wrapped, master_key_id=kid
    )


def token_master_key_id(token: str) -> str:
    """The id of the master key a token's data key is wrapped under (read without decoding the rest)."""
    if not is_token(token):
        raise VaultError("Not a sealed token.")
    return token.split(".")[1]


def rewrap_token(kind: str, token: str, *, context: str = "") -> str:
    """The same token with its data key wrapped under the current master key."""
    kid, wrapped, ciphertext = _split_token(token)
    new_wrapped, new_kid = crypto.rewrap(kind=kind, record_id=context, wrapped_key=wrapped, master_key_id=kid)
    return ".".join(
        [
            _TOKEN_PREFIX,
            new_kid,
            base64.urlsafe_b64encode(new_wrapped).decode(),
            base64.urlsafe_b64encode(ciphertext).decode(),
        ]
    )


def _json_tokens(field: SealedJsonField, data: Any) -> Iterator[str]:
    for key in field.keys:
        value = data.get(key) if isinstance(data, dict) else None
        for item in value if isinstance(value, list) else [value]:
            if is_token(item):
                yield item


def _rewrap_json(field: SealedJsonField, data: dict[str, Any], current: str) -> dict[str, Any] | None:
    """``data`` with every token of ``field`` under the current key (plaintext left by an older version of
    the portal is sealed now), or None when nothing changes."""
    changed = False
    out = dict(data)
    for key in field.keys:
        value = data.get(key)
        items = value if isinstance(value, list) else [value]
        new = []
        for item in items:
            if is_token(item):
                if token_master_key_id(item) != current:
                    item, changed = rewrap_token(field.kind, item), True
            elif isinstance(item, str) and item:
                item, changed = seal_token(field.kind, item), True
            new.append(item)
        if value is not None:
            out[key] = new if isinstance(value, list) else new[0]
    return out if changed else None


def fingerprint(normalised_secret: str) -> str:
    """Keyed hash that finds a duplicate without decrypting anything (LOCK-5)."""
    return crypto.fingerprint(normalised_secret)


def current_master_key_id() -> str:
    return crypto.current_master_key_id()


def configured_master_key_ids() -> list[str]:
    """The ids of every configured master key, the encrypting one first."""
    return [kid for kid, _key in crypto.master_keys()]


# --- master-key rotation (LOCK-3) ------------------------------------------------------------------
Unopenable = dict[str, set[Any]]  # kind -> primary keys of records whose data key could not be unwrapped


def _to_rewrap(
    field: SealedField, current: str, unopenable: Unopenable | None = None
) -> models.QuerySet[Any]:
    rows = field.sealed_rows().exclude(**{field.master_key_id: current})
    skip = (unopenable or {}).get(field.kind)
    return rows.exclude(pk__in=skip) if skip else rows


def pending_rewrap(unopenable: Unopenable | None = None) -> int:
    """How many sealed records, over the whole registry, are not yet under the current master key (leaving
    out those already found unopenable)."""
    current = current_master_key_id()
    columns = sum(_to_rewrap(field, current, unopenable).count() for field in registered())
    return columns + sum(len(_json_rows_to_rewrap(field, current, unopenable)) for field in registered_json())


def _json_rows_to_rewrap(field: SealedJsonField, current: str, unopenable: Unopenable | None) -> list[Any]:
    skip = (unopenable or {}).get(field.kind, set())
    rows = []
    for pk, data in field.model_class()._default_manager.values_list("pk", field.field).order_by("pk"):
        if pk in skip or not isinstance(data, dict):
            continue
        values = [data.get(key) for key in field.keys]
        items = [i for v in values for i in (v if isinstance(v, list) else [v]) if isinstance(i, str) and i]
        if any(not is_token(i) or token_master_key_id(i) != current for i in items):
            rows.append(pk)
    return rows


def rewrap_batch(*, batch_size: int = 500, unopenable: Unopenable | None = None) -> int:
    """Re-wrap one batch of data keys under the current master key, over the whole registry.

    Returns how many records it dealt with; 0 when nothing is left that it could take. Each batch commits
    on its own, so a killed run loses at most one batch and a new run continues. Rows another transaction
    holds (a reveal, a delivery reading its secret) are skipped (SKIP LOCKED) and taken by a later batch.
    Only the wrapped data key changes; the ciphertext stays as it is. A record whose data key cannot be
    unwrapped (its master key is not configured, or the row was tampered with) is left as it is and added
    to ``unopenable``, so the run goes on and its report names what could not be moved.
    """
    current = current_master_key_id()
    unopenable = unopenable if unopenable is not None else {}
    for field in registered():
        with transaction.atomic():
            rows = list(
                _to_rewrap(field, current, unopenable)
                .select_for_update(skip_locked=True)
                .only("pk", field.wrapped_key, field.master_key_id)
                .order_by("pk")[:batch_size]
            )
            if not rows:
                continue
            moved = []
            for row in rows:
                try:
                    wrapped, kid = crypto.rewrap(
                        kind=field.kind,
                        record_id=str(row.pk),
                        wrapped_key=getattr(row, field.wrapped_key),
                        master_key_id=getattr(row, field.master_key_id),
                    )
                except VaultError:
                    unopenable.setdefault(field.kind, set()).add(row.pk)
                    continue
                setattr(row, field.wrapped_key, wrapped)
                setattr(row, field.master_key_id, kid)
                moved.append(row)
            field.model_class()._default_manager.bulk_update(moved, [field.wrapped_key, field.master_key_id])
            return len(rows)
    for json_field in registered_json():
        pks = _json_rows_to_rewrap(json_field, current, unopenable)[:batch_size]
        if not pks:
            continue
        manager = json_field.model_class()._default_manager
        with transaction.atomic():
            for row in manager.select_for_update(skip_locked=True).filter(pk__in=pks):
                try:
                    data = _rewrap_json(json_field, getattr(row, json_field.field), current)
                except VaultError:
                    unopenable.setdefault(json_field.kind, set()).add(row.pk)
                    continue
                if data is not None:
                    setattr(row, json_field.field, data)
                    row.save(update_fields=[json_field.field])
        return len(pks)
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
    for json_field in registered_json():
        counts: dict[str, int] = {}
        for data in json_field.model_class()._default_manager.values_list(json_field.field, flat=True):
            kids = {token_master_key_id(token) for token in _json_tokens(json_field, data)}
            for kid in kids:
                counts[kid] = counts.get(kid, 0) + 1
        report[str(json_field.label)] = dict(sorted(counts.items()))
    return report


def records_needing(kid: str) -> Iterator[tuple[str, int]]:
    """(field label, count) of every field with records still under the master key ``kid``."""
    for label, counts in by_master_key().items():
        if counts.get(kid):
            yield label, counts[kid]
