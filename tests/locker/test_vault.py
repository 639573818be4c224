"""locker.vault: one registry of every sealed field, and a master-key rotation that covers all of it (LOCK-1, LOCK-3)."""

import ast
import base64
import io
import os
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from locker import vault
from locker.models import KeyImport, ProductKey
from locker.services import key_import_create, key_import_run, key_reveal, keys_allocate
from orders.models import Order
from orders.services import LineIn, order_place
from tests.api.test_webhooks import Receiver, _verify_as_documented
from tests.factories import make_product, org_of, random_key, stock
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookEndpoint

ROOT = Path(__file__).resolve().parents[2]


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _allow(settings, url: str) -> None:
    """Let the webhook filter pass exactly this loopback receiver."""
    port = url.split(":")[2].split("/")[0]
    settings.WEBHOOK_ALLOWED_TARGETS = [f"127.0.0.1:{port}"]


def test_lock3_nothing_outside_the_locker_imports_locker_crypto():
    """LOCK-3: every seal and open goes through locker.vault, so a rotation can find every sealed field.

    Application code only: the tests of the crypto primitives themselves (tests/locker/test_crypto.py) may.
    """
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "locker", "tests", "node_modules"} or "migrations" in rel.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(rel))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.startswith("locker.crypto") for name in names):
                offenders.append(str(rel))
    assert offenders == []


def test_lock1_every_binary_column_of_the_project_is_a_registered_sealed_field():
    """LOCK-1, LOCK-3: a secret column that is not registered with the vault would be missed by a rotation.

    Every BinaryField of the project's own models must be one of the three columns of a registered field.
    """
    covered = set()
    for field in vault.registered():
        model = field.model_class()
        covered |= {(model, field.ciphertext), (model, field.wrapped_key)}
        assert isinstance(model._meta.get_field(field.master_key_id), models.CharField)
    # The project's own apps: every one whose code lives in this repository (not an installed package).
    project_apps = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT) and "site-packages" not in config.path
    }
    assert {"locker", "centre", "support", "webhooks"} <= project_apps
    binary = {
        (model, f.name)
        for model in apps.get_models()
        if model._meta.app_label in project_apps
        for f in model._meta.concrete_fields
        if isinstance(f, models.BinaryField)
    }
    assert binary, "the project has sealed columns"
    assert binary <= covered, binary - covered
    kinds = {f.kind for f in vault.registered()}
    assert {ProductKey.SEAL_KIND, KeyImport.SEAL_KIND, WebhookEndpoint.SEAL_KIND} <= kinds


def test_lock3_a_kind_cannot_be_registered_twice_for_another_model():
    field = vault.registered()[0]
    with pytest.raises(ValueError):
        vault.register(
            vault.SealedField(
                kind=field.kind,
                model="webhooks.WebhookEndpoint",
                ciphertext="secret_ciphertext",
                wrapped_key="secret_wrapped_key",
                master_key_id="secret_master_key_id",
                label="impostor",
            )
        )
    assert vault.register(field) is field  # the same registration again is harmless


def test_lock3_register_model_names_the_columns_after_the_field_and_takes_the_kind_of_the_model():
    """LOCK-3: the one-line registration of an app's ready() gives the same field as the long form."""
    again = vault.register_model(WebhookEndpoint, field="secret", label="webhook signing secrets")
    assert (again.kind, again.model) == (WebhookEndpoint.SEAL_KIND, "webhooks.WebhookEndpoint")
    assert vault.columns(again.kind) == ("secret_ciphertext", "secret_wrapped_key", "secret_master_key_id")
    assert vault.columns(ProductKey.SEAL_KIND) == ("ciphertext", "wrapped_key", "master_key_id")
    assert vault.columns(KeyImport.SEAL_KIND) == ("payload", "payload_key", "payload_master_key_id")


def test_lock3_register_model_refuses_a_column_the_model_does_not_have_or_of_the_wrong_type():
    """LOCK-3: a misspelt column would leave secrets a rotation cannot reach; it is refused at start-up."""
    before = vault.registered()
    with pytest.raises(ValueError, match="no column 'token_ciphertext'"):
        vault.register_model(WebhookEndpoint, field="token", label="impostor")
    with pytest.raises(ValueError, match="is not a CharField"):
        vault.register_model(KeyImport, columns=("payload", "payload_key", "payload"), label="impostor")
    assert vault.registered() == before


@pytest.mark.django_db
def test_lock3_report_keeps_an_old_master_key_while_a_webhook_secret_needs_it(settings, reseller):
    """LOCK-3: the per-master-key report counts every registered field, not only product keys."""
    old_kid = vault.current_master_key_id()
    with Receiver() as receiver:
        _allow(settings, receiver.url)
        webhook_services.endpoint_create(
            organisation=org_of(reseller),
            user=reseller,
            url=receiver.url,
            events=["order.fulfilled"],
        )
    settings.LOCKER_MASTER_KEYS = [_new_key(), *settings.LOCKER_MASTER_KEYS]
    stock(make_product(), 3)  # sealed under the new key
    report = vault.by_master_key()
    assert report["product keys"] == {vault.current_master_key_id(): 3}
    assert report["webhook signing secrets"] == {old_kid: 1}
    assert dict(vault.records_needing(old_kid)) == {"webhook signing secrets": 1}


@pytest.mark.django_db
def test_lock3_rotate_rewrap_remove_old_key_then_keys_reveal_webhooks_sign_and_imports_run(
    settings, reseller, end_customer, staff, django_capture_on_commit_callbacks
):
    """LOCK-3: new master key first, `locker_rewrap`, old key removed as the command says: every key still
    reveals, every webhook delivers with a valid signature, and an import uploaded before the rotation runs."""
    org = org_of(reseller)
    product = make_product()
    stocked = stock(product, 5)  # four delivered now, one for an order after the rotation
    from django.db import transaction

    with transaction.atomic():
        key_ids = keys_allocate(product_id=product.pk, quantity=4, owner=end_customer)
    pending_keys = [random_key() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False):  # uploaded, not yet taken by a worker
        job = key_import_create(
            product=product, uploaded_by=staff, filename="keys.txt", content="\n".join(pending_keys)
        )

    with Receiver() as receiver:
        _allow(settings, receiver.url)
        _endpoint, secret = webhook_services.endpoint_create(
            organisation=org, user=reseller, url=receiver.url, events=["order.fulfilled"]
        )
        old = settings.LOCKER_MASTER_KEYS[0]
        old_kid = vault.current_master_key_id()
        new = _new_key()
        settings.LOCKER_MASTER_KEYS = [new, old]
        new_kid = vault.current_master_key_id()
        assert vault.pending_rewrap() == 5 + 1 + 1

        out = io.StringIO()
        call_command("locker_rewrap", "--batch-size", "2", stdout=out)
        text = out.getvalue()
        assert f"{old_kid} (old): nothing depends on it; it can be removed" in text
        assert "webhook signing secrets:" in text and "key files waiting for import:" in text
        assert not any(k in text for k in stocked + pending_keys + [secret])
        assert vault.pending_rewrap() == 0
        assert all(set(counts) <= {new_kid} for counts in vault.by_master_key().values())

        settings.LOCKER_MASTER_KEYS = [new]  # removed, as the command said it could be

        revealed = [
            key_reveal(key_id=k, user=end_customer, ip="127.0.0.1", user_agent="t").plaintext for k in key_ids
        ]
        assert len(set(revealed)) == 4 and set(revealed) <= set(stocked)

        with django_capture_on_commit_callbacks(execute=True):
            order_place(
                reseller=org,
                placed_by=reseller,
                end_customer_email="after-rotation@end.test",
                lines=[LineIn(product_id=product.pk, quantity=1)],
            )
        webhook_services.dispatch_events()
        for delivery in WebhookDelivery.objects.filter(status="pending"):
            webhook_services.deliver(delivery_id=str(delivery.pk))
        assert len(receiver.requests) == 1
        headers, body = receiver.requests[0]
    assert _verify_as_documented(secret, headers["Portal-Signature"], body)
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED

    job = key_import_run(import_id=job.pk)
    assert job.status == KeyImport.Status.DONE, job.error
    assert job.imported == 3
    assert job.payload_master_key_id == "" and bytes(job.payload) == b""


@pytest.mark.django_db
def test_lock3_a_secret_under_a_removed_master_key_fails_the_attempt_not_the_worker(
    settings, reseller, product
):
    """LOCK-3: before this, removing an old master key too early made `deliver` raise out of the task. Now the
    attempt is recorded with a message that holds no secret, nothing is sent unsigned, and the delivery
    retries, so restoring the key lets it go out."""
    with Receiver() as receiver:
        _allow(settings, receiver.url)
        _endpoint, secret = webhook_services.endpoint_create(
            organisation=org_of(reseller),
            user=reseller,
            url=receiver.url,
            events=["order.awaiting_stock"],
        )
        old = settings.LOCKER_MASTER_KEYS
        order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="wait@end.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        from orders.services import order_fulfil

        order_fulfil(order_id=Order.objects.get().pk)
        webhook_services.dispatch_events()
        delivery = WebhookDelivery.objects.get()
        settings.LOCKER_MASTER_KEYS = [_new_key()]  # the old key removed with a secret still under it
        outcome, _gap = webhook_services.deliver(delivery_id=str(delivery.pk))
        assert outcome == "retry" and receiver.requests == []
        attempt = delivery.attempt_log.get()
        assert (
            attempt.status_code is None and "signing secret" in attempt.error and secret not in attempt.error
        )

        settings.LOCKER_MASTER_KEYS = old  # restored
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        assert webhook_services.deliver(delivery_id=str(delivery.pk))[0] == "succeeded"
        headers, body = receiver.requests[0]
    assert _verify_as_documented(secret, headers["Portal-Signature"], body)


@pytest.mark.django_db
def test_lock3_a_record_that_cannot_be_opened_does_not_stop_the_rotation(settings):
    """LOCK-3: one record under a master key that is no longer configured (or altered) is reported and left
    as it is; every other record is re-wrapped and the report is printed."""
    product = make_product()
    stock(product, 5)
    broken = ProductKey.objects.order_by("pk").first()
    ProductKey.objects.filter(pk=broken.pk).update(master_key_id="0123456789abcdef")
    old_kid = vault.current_master_key_id()
    settings.LOCKER_MASTER_KEYS = [_new_key(), *settings.LOCKER_MASTER_KEYS]
    out = io.StringIO()
    call_command("locker_rewrap", "--batch-size", "2", stdout=out)
    text = out.getvalue()
    assert "1 product keys could not be opened" in text and str(broken.pk) in text
    assert "0123456789abcdef (NOT CONFIGURED): 1 records cannot be opened" in text
    assert f"{old_kid} (old): nothing depends on it; it can be removed" in text
    assert vault.by_master_key()["product keys"] == {vault.current_master_key_id(): 4, "0123456789abcdef": 1}


@pytest.mark.django_db
def test_lock1_lock3_second_factor_secrets_are_sealed_and_rotated(client, settings, staff):
    """LOCK-1: allauth's TOTP key and recovery-code seed are stored as vault tokens, not in the clear;
    LOCK-3: `locker_rewrap` re-wraps them, and after the old master key is removed staff still sign in
    with a code."""
    from allauth.mfa.models import Authenticator

    from tests.factories import give_totp, login_staff_with_mfa

    secret = give_totp(staff)
    login_staff_with_mfa(client, staff)  # activates recovery codes too where allauth does
    client.logout()
    rows = list(Authenticator.objects.filter(user=staff).values_list("type", "data"))
    assert rows
    for _type, data in rows:
        raw = str(data)
        assert secret not in raw
        assert all(vault.is_token(v) for k, v in data.items() if k in ("secret", "seed"))
    old_kid = vault.current_master_key_id()
    assert vault.by_master_key()["second-factor secrets"] == {old_kid: len(rows)}

    new = _new_key()
    settings.LOCKER_MASTER_KEYS = [new, *settings.LOCKER_MASTER_KEYS]
    out = io.StringIO()
    call_command("locker_rewrap", stdout=out)
    assert f"{old_kid} (old): nothing depends on it; it can be removed" in out.getvalue()
    settings.LOCKER_MASTER_KEYS = [new]
    assert vault.by_master_key()["second-factor secrets"] == {vault.current_master_key_id(): len(rows)}
    # allauth opens them through the adapter with only the new key configured (a code already used in this
    # 30-second step would be refused as a replay, so the secret itself is compared).
    from allauth.mfa.utils import decrypt

    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert decrypt(totp.data["secret"]) == secret
    recovery = Authenticator.objects.filter(user=staff, type=Authenticator.Type.RECOVERY_CODES).first()
    if recovery is not None:
        assert recovery.wrap().get_unused_codes()
