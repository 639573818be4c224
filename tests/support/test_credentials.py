"""Credentials given with a request (SUP-10): sealed by the vault as a registered field (a master-key
rotation re-wraps them, LOCK-3), revealed only to the staff member assigned and each reveal recorded
(ALL-3), never in a mail, the changelist, a list or a refused form, destroyed when the request closes (a
reopened request asks again). Another organisation's request: 404 (ALL-1). Secrets are made at run time."""

from __future__ import annotations

import base64
import io
import os
import secrets

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from locker import vault
from support.models import Kind, RequestCredential, SupportEvent, SupportRequest
from support.services.credentials import credential_add
from support.services.requests import request_file, request_move, request_staff_reply
from tests.factories import login_staff_with_mfa, make_user


def filed(customer, member, licence):
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category="technical_advice",
        subject="Error",
        body="Broken",
    )


def give(client, request, secret, **extra):
    data = {
        "kind": "admin_panel",
        "host": "https://shop.acme.test/admin",
        "username": "support",
        "secret": secret,
    }
    data.update(extra)
    return client.post(reverse("support:credential_add", args=[request.pk]), data)


def raw_row(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM support_requestcredential WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.mark.django_db
def test_sup10_credentials_sealed_no_plaintext_in_the_row_never_echoed(client, customer, member, licence):
    """SUP-10: the customer gives access from the request page (POST); the row holds no plaintext; the page
    never shows the password back, not even after a refusal (errors by field, what else was typed kept)."""
    request = filed(customer, member, licence)
    secret = secrets.token_urlsafe(18)
    client.force_login(member)
    page = client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert reverse("support:credential_add", args=[request.pk]) in page
    assert client.get(reverse("support:credential_add", args=[request.pk])).status_code == 405
    response = give(client, request, secret)
    assert response.status_code == 302
    credential = RequestCredential.objects.get()
    row = raw_row(credential.pk)
    assert not any(
        secret.encode() in bytes(v) if isinstance(v, (bytes, memoryview)) else secret in str(v) for v in row
    )
    assert credential.secret_master_key_id == vault.current_master_key_id()
    assert vault.open_from(credential, RequestCredential.SEAL_KIND) == secret
    assert SupportEvent.objects.filter(
        request=request, kind=SupportEvent.Kind.CREDENTIAL_ADDED, actor=member
    ).exists()
    page = client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert "shop.acme.test/admin" in page and secret not in page
    refused = give(client, request, secret, host="")
    html = refused.content.decode()
    assert (
        refused.status_code == 200
        and "errorlist" in html
        and secret not in html
        and 'value="support"' in html
    )


@pytest.mark.django_db
def test_sup10_all1_another_organisations_request_is_404(client, customer, member, licence, outsider):
    request = filed(customer, member, licence)
    client.force_login(outsider)
    assert give(client, request, secrets.token_urlsafe(12)).status_code == 404
    assert give(client, SupportRequest(pk=987654), secrets.token_urlsafe(12)).status_code == 404
    assert not RequestCredential.objects.exists()


@pytest.mark.django_db
def test_sup10_all3_reveal_only_by_the_assignee_recorded_no_store(
    staff_client, staff, customer, member, licence
):
    """SUP-10/ALL-3: the reveal is a POST answered with Cache-Control: no-store, for the assignee only, each
    reveal an event with who, from where and which browser; the changelist and the change page never show the secret."""
    request = filed(customer, member, licence)
    secret = secrets.token_urlsafe(18)
    credential = credential_add(
        organisation=customer,
        request_id=request.pk,
        user=member,
        kind="ftp",
        host="ftp.acme.test",
        username="support",
        secret=secret,
    )
    reveal = reverse("admin:support_supportrequest_credential_reveal", args=[credential.pk])
    change = reverse("admin:support_supportrequest_change", args=[request.pk])
    # Not assigned yet: refused, even to a superuser.
    assert staff_client.post(reveal).status_code == 403
    SupportRequest.objects.filter(pk=request.pk).update(assignee=staff)
    page = staff_client.get(change).content.decode()
    assert reveal in page and secret not in page
    assert secret not in staff_client.get(reveal).content.decode()  # a GET never reveals
    assert not SupportEvent.objects.filter(kind=SupportEvent.Kind.CREDENTIAL_REVEALED).exists()
    assert secret not in staff_client.get(reverse("admin:support_supportrequest_changelist")).content.decode()
    response = staff_client.post(reveal, HTTP_USER_AGENT="Desk browser/1.0")
    assert response.status_code == 200 and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    revealed = SupportEvent.objects.get(
        request=request, kind=SupportEvent.Kind.CREDENTIAL_REVEALED, actor=staff
    )
    # Recorded as a key's reveal is (LOCK-4): from which address and browser; never the secret.
    assert revealed.data["ip"] == "127.0.0.1" and revealed.data["user_agent"] == "Desk browser/1.0"
    assert secret not in str(revealed.data)
    # Another staff member of the support agents, not assigned: refused.
    from django.contrib.auth.models import Group

    agent = make_user(None, email="agent@distributor.test", is_staff=True)
    agent.groups.add(Group.objects.get_or_create(name="Support agents")[0])
    staff_client.logout()
    login_staff_with_mfa(staff_client, agent)
    assert staff_client.post(reveal).status_code == 403
    assert SupportEvent.objects.filter(kind=SupportEvent.Kind.CREDENTIAL_REVEALED).count() == 1


@pytest.mark.django_db
def test_sup10_never_in_a_mail(
    client, staff, customer, member, licence, django_capture_on_commit_callbacks, settings
):
    """SUP-10: no mail (confirmation, reply, escalation) carries the secret."""
    settings.SUPPORT_ESCALATION_EMAILS = ["escalation@distributor.test"]
    with django_capture_on_commit_callbacks(execute=True):
        request = filed(customer, member, licence)
    secret = secrets.token_urlsafe(18)
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        give(client, request, secret)
        request_staff_reply(request_id=request.pk, author=staff, body="We looked.", internal=False)
    assert mail.outbox
    assert all(secret not in m.body and secret not in m.subject for m in mail.outbox)


@pytest.mark.django_db
def test_sup10_destroyed_on_close_and_a_reopened_request_asks_again(client, staff, customer, member, licence):
    """SUP-10: closing wipes the ciphertext and sets destroyed_at (recorded); a reopened request's page says
    to give access again, and the old one cannot be revealed."""
    request = filed(customer, member, licence)
    secret = secrets.token_urlsafe(18)
    client.force_login(member)
    give(client, request, secret)
    request_move(request_id=request.pk, to=SupportRequest.Status.CLOSED, actor=staff)
    credential = RequestCredential.objects.get()
    assert credential.destroyed_at is not None and credential.secret_master_key_id == ""
    assert bytes(credential.secret_ciphertext) == b"" and bytes(credential.secret_wrapped_key) == b""
    assert SupportEvent.objects.filter(request=request, kind=SupportEvent.Kind.CREDENTIAL_DESTROYED).exists()
    page = client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert "destroyed when this request closed" in page
    assert give(client, request, secret).status_code == 200  # a closed request keeps none
    assert RequestCredential.objects.count() == 1
    request_move(request_id=request.pk, to=SupportRequest.Status.OPEN, actor=staff)
    page = client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert "please give it again" in page
    assert give(client, request, secrets.token_urlsafe(12)).status_code == 302


@pytest.mark.django_db
def test_sup10_lock3_rewrap_covers_request_credentials(settings, client, customer, member, licence):
    """SUP-10/LOCK-3: the credential is a registered sealed field: `locker_rewrap` re-wraps it under the new
    master key and it still opens after the old key is removed; destroyed ones are left alone."""
    assert any(f.kind == RequestCredential.SEAL_KIND for f in vault.registered())
    request = filed(customer, member, licence)
    secret = secrets.token_urlsafe(18)
    client.force_login(member)
    give(client, request, secret)
    old = settings.LOCKER_MASTER_KEYS[0]
    new = base64.b64encode(os.urandom(32)).decode()
    settings.LOCKER_MASTER_KEYS = [new, old]
    new_kid = vault.current_master_key_id()
    out = io.StringIO()
    call_command("locker_rewrap", "--batch-size", "2", stdout=out)
    assert secret not in out.getvalue() and "support request credentials" in out.getvalue()
    settings.LOCKER_MASTER_KEYS = [new]
    credential = RequestCredential.objects.get()
    assert credential.secret_master_key_id == new_kid
    assert vault.open_from(credential, RequestCredential.SEAL_KIND) == secret
