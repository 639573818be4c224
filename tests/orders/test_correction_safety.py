"""A reseller can never become the end customer (ESD-7), and an address correction is never silent and never
hands the keys over before staff see it (ESD-14). Each test replays an attack that worked before."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.addresses import canonical_address, mask_address
from accounts.models import MailDomain, Membership, Organisation, User
from accounts.services import mail_domain_declare
from locker.models import ProductKey
from orders.mail import set_password_url
from orders.models import EmailCorrection, Order, OrderEvent, StaffAlert
from orders.services import (
    LineIn,
    OrderError,
    correction_approve,
    correction_refuse,
    order_correct_email,
    order_place,
    orders_sweep,
    welcome_mail_resend,
)
from tests.factories import make_org, make_user, org_of, stock

NEW_PASSWORD = "Amber-Window-Castle-77"


def _place(reseller, product, email, capture):
    with capture(execute=True):
        return order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email=email,
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )


def _correct(order, reseller, new_email):
    return order_correct_email(
        organisation=org_of(reseller), order_id=order.pk, actor=reseller, new_email=new_email
    )


@pytest.fixture
def delivered(reseller, product, django_capture_on_commit_callbacks):
    """A fulfilled order whose welcome mail the mail server accepted, still unused by the customer."""
    stock(product, 3)
    order = _place(reseller, product, "customer@shop-client.test", django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.welcome_mail_status == Order.MailStatus.SENT
    assert mail.outbox and mail.outbox[-1].to == ["customer@shop-client.test"]
    mail.outbox.clear()
    return order


def _link_works(client, url: str) -> bool:
    path = re.sub(r"^https?://[^/]+", "", url)
    html = client.get(path, follow=True).content.decode()
    client.logout()
    return 'name="password1"' in html


# --- ESD-7: addresses compared as mail is delivered ------------------------------------------------------
SPELLINGS = [
    "buyer+keys@reseller-one.test",
    '"buyer"@reseller-one.test',
    "BUYER@Reseller-One.TEST",
    "buyer@reseller-one.test.",
    "buyer+@reseller-one.test",
    '"buyer+x"@reseller-one.test',
]


def test_esd7_canonical_address_folds_the_spellings_mail_delivers_alike():
    """ESD-7: case, +tags, quoted local parts, trailing dots and Unicode forms name one mailbox."""
    for spelling in [*SPELLINGS, "ｂｕｙｅｒ@reseller-one.test", "buyer@ＲＥＳＥＬＬＥＲ-one.test"]:
        assert canonical_address(spelling) == "buyer@reseller-one.test", spelling
    assert canonical_address("b.uyer@reseller-one.test") != "buyer@reseller-one.test"  # a dot is a letter
    assert canonical_address("anna@münchen.test") == canonical_address("ANNA@xn--mnchen-3ya.test")
    assert mask_address("anna.kowalska@customer.example") == "a•••@c•••.example"


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_esd7_a_resellers_own_member_in_any_spelling_is_refused_when_ordering(
    spelling, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-7: `reseller+keys@…` and `"reseller"@…` reached keys before; now no spelling gets an order."""
    stock(product, 1)
    with pytest.raises(OrderError) as exc:
        _place(reseller, product, spelling, django_capture_on_commit_callbacks)
    assert exc.value.code in ("member_address", "invalid_email"), exc.value.code
    assert exc.value.field == "end_customer_email"
    assert not Order.objects.exists()
    assert not ProductKey.objects.filter(owner__isnull=False).exists()


@pytest.mark.django_db
def test_esd7_the_plus_tag_and_quoted_spellings_are_refused_as_member_addresses(
    reseller, other_reseller, staff, product, django_capture_on_commit_callbacks
):
    """ESD-7: the two spellings of the attack are valid addresses, and refused as a member's (any reseller's,
    the distributor's), not merely as malformed."""
    for spelling in (
        "buyer+keys@reseller-one.test",
        '"buyer"@reseller-one.test',
        "Buyer+x@Reseller-Two.test",
        "staff+1@distributor.test",
    ):
        with pytest.raises(OrderError) as exc:
            _place(reseller, product, spelling, django_capture_on_commit_callbacks)
        assert exc.value.code == "member_address", spelling


@pytest.mark.django_db
def test_esd7_a_customer_organisations_member_is_an_end_customer_like_any_other(
    reseller, product, django_capture_on_commit_callbacks
):
    """ESD-7: members of customer organisations can receive ESD orders (their locker is the same account)."""
    customer = make_user(make_org(Organisation.Kind.CUSTOMER, "Client Co"), email="it@client-co.test")
    stock(product, 2)
    order = _place(reseller, product, "IT+licences@client-co.test", django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.end_customer_email == "it+licences@client-co.test"  # the locker identity: as typed (ESD-15)
    assert order.end_customer != customer
    order2 = _place(reseller, product, "it@client-co.test", django_capture_on_commit_callbacks)
    order2.refresh_from_db()
    assert order2.end_customer == customer  # the same account gathers its keys


@pytest.mark.django_db
def test_esd7_canonical_column_follows_every_change_of_address(reseller):
    user = User.objects.get(pk=reseller.pk)
    assert user.email_canonical == "buyer@reseller-one.test"
    user.email = "new.buyer@reseller-one.test"
    user.save(update_fields=["email"])
    assert User.objects.get(pk=user.pk).email_canonical == "new.buyer@reseller-one.test"
    with pytest.raises(OrderError) as exc:
        order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="new.buyer+x@reseller-one.test",
            lines=[],
        )
    assert exc.value.code == "member_address"


@pytest.mark.django_db
def test_esd7_a_declared_mail_domain_is_refused_for_that_resellers_orders_only(
    reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """ESD-7: any mailbox at a domain the reseller declared (or a subdomain, in any spelling) is refused for its
    own orders; another reseller's customer there is still served."""
    org = org_of(reseller)
    mail_domain_declare(organisation=org, actor=reseller, domain="Reseller-Mail.test.")
    assert MailDomain.objects.get().domain == "reseller-mail.test"
    stock(product, 2)
    for spelling in ("anyone@reseller-mail.test", "X@SHOP.Reseller-Mail.test", '"y"@reseller-mail.test'):
        with pytest.raises(OrderError) as exc:
            _place(reseller, product, spelling, django_capture_on_commit_callbacks)
        assert exc.value.code == "own_domain_address" and "reseller-mail.test" in exc.value.message
    with pytest.raises(OrderError):  # a trailing dot: refused one way or the other
        _place(reseller, product, "z@reseller-mail.test.", django_capture_on_commit_callbacks)
    order = _place(other_reseller, product, "anyone@reseller-mail.test", django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED
    ok = _place(reseller, product, "anyone@not-reseller-mail.test", django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=ok.pk).status == Order.Status.FULFILLED


@pytest.mark.django_db
def test_esd7_reseller_administrators_declare_and_remove_domains_in_the_portal(
    client, reseller, other_reseller
):
    """ESD-7, ALL-1, ALL-2: the reseller is pointed to Mail domains in the menu; the typed value is kept with the error by the field;
    another organisation's domain answers 404; members who are not administrators get 403."""
    client.force_login(reseller)
    url = reverse("mail_domains:list")
    page = client.post(url, {"domain": "not a domain"})
    html = page.content.decode()
    assert page.status_code == 200 and 'value="not a domain"' in html and "Enter a mail domain" in html
    response = client.post(url, {"domain": "buyer@Reseller-One.test"})  # an address: its domain is meant
    assert response.status_code == 302
    declared = MailDomain.objects.get(organisation=org_of(reseller))
    assert declared.domain == "reseller-one.test" and declared.created_by == reseller
    assert "reseller-one.test" in client.get(url).content.decode()
    duplicate = client.post(url, {"domain": "RESELLER-ONE.test"}).content.decode()
    assert "already declared" in duplicate

    client.force_login(other_reseller)
    assert "reseller-one.test" not in client.get(url).content.decode()
    assert client.post(reverse("mail_domains:remove", args=[declared.pk])).status_code == 404
    assert MailDomain.objects.filter(pk=declared.pk).exists()

    member = make_user(org_of(reseller), email="clerk@reseller-one.test", role=Membership.Role.MEMBER)
    client.force_login(member)
    assert client.get(url).status_code == 403

    client.force_login(reseller)
    assert client.post(reverse("mail_domains:remove", args=[declared.pk])).status_code == 302
    assert not MailDomain.objects.exists()


@pytest.mark.django_db
def test_esd7_api_refuses_a_member_address_in_another_spelling(reseller, product):
    """ESD-7: the same rule through the API, as problem+json with the field."""
    from api.services import api_token_create

    _record, token = api_token_create(organisation=org_of(reseller), user=reseller, name="shop")
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(
        "/api/v1/orders/",
        {
            "end_customer_email": "buyer+keys@reseller-one.test",
            "lines": [{"sku": product.sku, "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "member_address"


# --- ESD-14: corrections are never silent, never to the reseller ---------------------------------------
@pytest.mark.django_db
def test_esd14_attack_correcting_to_the_resellers_own_mailbox_is_refused(delivered, reseller):
    """ESD-14 + ESD-7: the correction cannot point the keys at the reseller, in any spelling."""
    mail_domain_declare(organisation=org_of(reseller), actor=reseller, domain="reseller-mail.test")
    for target in ("buyer+keys@reseller-one.test", '"buyer"@reseller-one.test', "me@reseller-mail.test"):
        with pytest.raises(OrderError) as exc:
            _correct(delivered, reseller, target)
        assert exc.value.code in ("member_address", "own_domain_address") and exc.value.field == "new_email"
    delivered.refresh_from_db()
    assert delivered.end_customer_email == "customer@shop-client.test"
    assert not EmailCorrection.objects.exists()


@pytest.mark.django_db
def test_esd14_the_old_address_is_told_without_a_link_and_the_new_one_gets_nothing(
    settings, reseller, product, django_capture_on_commit_callbacks
):
    """ESD-14: a correction is never silent: the old address learns when, by which reseller, to which address
    (masked) and whom to contact; the notice holds no link; no welcome mail goes to the new address."""
    settings.PORTAL_SUPPORT_EMAIL = "help@distributor.test"
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):  # the welcome mail is queued, not yet delivered
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email="typo@customer.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
    mail.outbox.clear()
    Order.objects.filter(pk=order.pk).update(welcome_mail_status=Order.MailStatus.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        correction = _correct(order, reseller, "anna.kowalska@customer.example")
    assert correction.status == EmailCorrection.Status.APPLIED
    assert [m.to for m in mail.outbox] == [["typo@customer.test"]]
    notice = mail.outbox[0]
    text = notice.body + notice.alternatives[0][0]
    assert f"#{order.pk}" in notice.subject and f"#{order.pk}" in text
    assert "Reseller One" in text and "help@distributor.test" in text
    assert "a•••@c•••.example" in text and "anna.kowalska" not in text
    assert "http" not in text and "href" not in text
    correction.refresh_from_db()
    assert correction.notice_sent_at is not None
    assert order.events.filter(kind=OrderEvent.Kind.CORRECTION_NOTICE_SENT).count() == 1


@pytest.mark.django_db
def test_esd14_with_review_the_keys_move_only_on_staff_approval(
    client, settings, delivered, reseller, staff, django_capture_on_commit_callbacks
):
    """ESD-14, attack replay: after the welcome mail was accepted the reseller corrects to a mailbox it controls
    and tries "forgot password" there. With ESD_CORRECTION_REVIEW the old links die at once, the order and its
    keys stay where they are, staff are alerted, and only an approval moves them."""
    settings.ESD_CORRECTION_REVIEW = True
    old_account = delivered.end_customer
    old_link = set_password_url(old_account)
    assert _link_works(client, old_link)
    with django_capture_on_commit_callbacks(execute=True):
        correction = _correct(delivered, reseller, "drop@attacker-mail.test")
    assert correction.status == EmailCorrection.Status.PENDING_REVIEW and correction.after_welcome_mail
    delivered.refresh_from_db()
    assert (
        delivered.end_customer_email == "customer@shop-client.test" and delivered.end_customer == old_account
    )
    assert ProductKey.objects.filter(owner=old_account).count() == 1
    assert not _link_works(client, old_link)
    assert [m.to for m in mail.outbox] == [["customer@shop-client.test"]]  # the notice, nothing else
    assert "distributor reviews" in mail.outbox[0].body
    assert StaffAlert.objects.filter(kind="correction_review", order=delivered).exists()
    # The attacker's mailbox has no account with keys; "forgot password" there opens nothing.
    attacker = User.objects.filter(email="drop@attacker-mail.test").first()
    assert attacker is None or not ProductKey.objects.filter(owner=attacker).exists()
    # Nothing else may move the order meanwhile.
    for attempt in (
        lambda: _correct(delivered, reseller, "another@elsewhere.test"),
        lambda: welcome_mail_resend(organisation=org_of(reseller), order_id=delivered.pk, actor=reseller),
    ):
        with pytest.raises(OrderError) as exc:
            attempt()
        assert exc.value.code == "correction_pending"
    client.force_login(reseller)
    page = client.get(reverse("orders:detail", args=[delivered.pk])).content.decode()
    assert 'id="correction-pending"' in page and "drop@attacker-mail.test" in page

    approved = correction_approve(correction_id=correction.pk, actor=staff)
    assert approved.status == EmailCorrection.Status.APPLIED and approved.reviewed_by == staff
    delivered.refresh_from_db()
    new_account = User.objects.get(email="drop@attacker-mail.test")
    assert delivered.end_customer == new_account
    assert ProductKey.objects.filter(owner=new_account).count() == 1
    event = delivered.events.get(kind=OrderEvent.Kind.CORRECTED)
    assert event.actor == staff and event.data["requested_by"] == reseller.pk
    with pytest.raises(OrderError):
        correction_approve(correction_id=correction.pk, actor=staff)  # decided once


@pytest.mark.django_db
def test_esd14_approval_runs_the_check_again_and_a_customer_who_used_the_mail_keeps_the_keys(
    settings, delivered, reseller, staff, django_capture_on_commit_callbacks
):
    """ESD-14: the real customer, told by the notice, uses "forgot password" and sets a password before staff
    decide: the approval is refused with the reason and the keys stay."""
    from accounts.adapter import PortalAccountAdapter

    settings.ESD_CORRECTION_REVIEW = True
    correction = _correct(delivered, reseller, "drop@attacker-mail.test")
    PortalAccountAdapter().set_password(delivered.end_customer, NEW_PASSWORD)
    decided = correction_approve(correction_id=correction.pk, actor=staff)
    assert (
        decided.status == EmailCorrection.Status.REFUSED and "can no longer be corrected" in decided.outcome
    )
    delivered.refresh_from_db()
    assert delivered.end_customer_email == "customer@shop-client.test"
    assert ProductKey.objects.filter(owner=delivered.end_customer).count() == 1
    assert delivered.events.filter(kind=OrderEvent.Kind.CORRECTION_REFUSED, actor=staff).exists()
    assert not delivered.events.filter(kind=OrderEvent.Kind.CORRECTED).exists()


@pytest.mark.django_db
def test_esd14_staff_refusal_keeps_the_order_as_it_was(settings, delivered, reseller, staff):
    settings.ESD_CORRECTION_REVIEW = True
    correction = _correct(delivered, reseller, "drop@attacker-mail.test")
    refused = correction_refuse(
        correction_id=correction.pk, actor=staff, reason="The customer confirmed by phone."
    )
    assert refused.status == EmailCorrection.Status.REFUSED
    delivered.refresh_from_db()
    assert delivered.end_customer_email == "customer@shop-client.test"
    # Now the reseller may ask again (nothing pending).
    again = _correct(delivered, reseller, "other@customer.test")
    assert again.status == EmailCorrection.Status.PENDING_REVIEW


@pytest.mark.django_db
def test_esd14_without_review_a_correction_after_the_welcome_mail_applies_and_is_listed_for_staff(
    settings, delivered, reseller
):
    """ESD-14: with review off the correction applies at once, and it is still listed as made after the
    welcome mail (what remains possible: the notice is the control, README's security section)."""
    settings.ESD_CORRECTION_REVIEW = False
    correction = _correct(delivered, reseller, "right@customer.test")
    assert correction.status == EmailCorrection.Status.APPLIED and correction.after_welcome_mail
    assert list(EmailCorrection.objects.filter(after_welcome_mail=True)) == [correction]


@pytest.mark.django_db
def test_esd14_api_answers_202_while_a_correction_waits_for_review(settings, delivered, reseller):
    from rest_framework.test import APIClient

    from api.services import api_token_create

    settings.ESD_CORRECTION_REVIEW = True
    _record, token = api_token_create(organisation=org_of(reseller), user=reseller, name="shop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/orders/{delivered.pk}/correct-email/"
    response = api.post(url, {"new_email": "right@customer.test"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["end_customer_email"] == "customer@shop-client.test"
    assert body["pending_correction"]["new_email"] == "right@customer.test"
    again = api.post(url, {"new_email": "x@customer.test"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "correction_pending"


@pytest.mark.django_db
def test_esd14_a_lost_notice_is_sent_by_the_sweeper(delivered, reseller, django_capture_on_commit_callbacks):
    """ESD-14, ALL-5: the notice's message lost with the broker: the sweep sends it, once."""
    from datetime import timedelta

    from django.utils import timezone

    correction = _correct(delivered, reseller, "right@customer.test")  # on_commit never ran: message lost
    with django_capture_on_commit_callbacks(execute=True):
        assert "correction_notice" not in orders_sweep()  # not due yet: a task may still be on its way
    EmailCorrection.objects.filter(pk=correction.pk).update(
        notice_next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        counts = orders_sweep()
    assert counts["correction_notice"] == 1
    assert [m.to for m in mail.outbox] == [["customer@shop-client.test"]]
    correction.refresh_from_db()
    assert correction.notice_sent_at and correction.notice_next_attempt_at is None
    with django_capture_on_commit_callbacks(execute=True):
        assert "correction_notice" not in orders_sweep(now=timezone.now() + timedelta(hours=1))
    assert len(mail.outbox) == 1


@pytest.fixture
def _eager_retries():
    from portal.celery import app

    old = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = old


@pytest.mark.django_db
@pytest.mark.parametrize("refusals", [2, 1000])
def test_esd14_the_notice_is_retried_against_a_refusing_smtp_server_and_a_final_failure_alerts_staff(
    refusals, settings, _eager_retries, delivered, reseller, django_capture_on_commit_callbacks
):
    """ESD-14 (never in silence), ALL-5: a real SMTP server answers 451: the notice is retried with growing
    gaps, counted on the correction; when it never gets through, staff are alerted to reach the customer."""
    from tests.orders.test_mail_and_vendor import RefusingSmtp

    server = RefusingSmtp(refusals)
    server.controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.MAIL_RETRY_BASE_SECONDS = 0
        settings.MAIL_MAX_RETRIES = 3
        with django_capture_on_commit_callbacks(execute=True):
            correction = _correct(delivered, reseller, "right@customer.test")
    finally:
        server.controller.stop()
    correction.refresh_from_db()
    alerts = StaffAlert.objects.filter(kind="correction_notice_failed", order=delivered)
    if refusals == 2:
        assert server.attempts == 3 and len(server.messages) == 1
        assert correction.notice_sent_at is not None and not alerts.exists()
    else:
        assert server.attempts == 4 and server.messages == []  # the first try and MAIL_MAX_RETRIES retries
        assert correction.notice_sent_at is None and correction.notice_next_attempt_at is None
        assert alerts.count() == 1 and "customer@shop-client.test" in alerts.get().message


@pytest.mark.django_db
def test_esd14_no_correction_while_the_welcome_mail_is_being_sent(settings, delivered, reseller):
    """ESD-14: whether staff must review depends on whether the mail server took the welcome mail; while a
    sender is talking to it, the correction waits a minute instead of guessing (and skipping the review)."""
    from datetime import timedelta

    from django.utils import timezone

    settings.ESD_CORRECTION_REVIEW = True
    Order.objects.filter(pk=delivered.pk).update(
        welcome_mail_status=Order.MailStatus.QUEUED,
        welcome_mail_claimed_until=timezone.now() + timedelta(minutes=1),
    )
    with pytest.raises(OrderError) as exc:
        _correct(delivered, reseller, "right@customer.test")
    assert exc.value.code == "mail_in_flight"
    assert not EmailCorrection.objects.exists()


@pytest.mark.django_db
def test_esd7_domain_literals_and_bare_host_names_are_refused(
    reseller, product, django_capture_on_commit_callbacks
):
    """ESD-7: `r@[203.0.113.7]` and `r@localhost` pass Django's validator but reach whatever server they
    name, which no address comparison can tell from the reseller's own."""
    for spelling in ("r@[203.0.113.7]", "r@localhost", "r@mailhost."):
        with pytest.raises(OrderError) as exc:
            _place(reseller, product, spelling, django_capture_on_commit_callbacks)
        assert exc.value.code == "invalid_email" and exc.value.field == "end_customer_email"


@pytest.mark.django_db
def test_esd14_staff_see_corrections_after_the_welcome_mail_and_approve_them_in_the_admin(
    settings, staff_client, delivered, reseller
):
    """ESD-14: admin → Address corrections lists the correction made after the welcome mail; the approve
    action runs the checks again and moves the keys."""
    settings.ESD_CORRECTION_REVIEW = True
    correction = _correct(delivered, reseller, "right@customer.test")
    url = reverse("admin:orders_emailcorrection_changelist")
    page = staff_client.get(url + "?after_welcome_mail__exact=1").content.decode()
    assert "right@customer.test" in page and "customer@shop-client.test" in page
    assert "Waiting for review" in page
    response = staff_client.post(url, {"action": "approve", "_selected_action": [correction.pk]}, follow=True)
    assert response.status_code == 200
    correction.refresh_from_db()
    assert correction.status == EmailCorrection.Status.APPLIED
    delivered.refresh_from_db()
    assert delivered.end_customer_email == "right@customer.test"
    # Read-only: nothing in the admin edits a correction or makes one up.
    assert staff_client.get(reverse("admin:orders_emailcorrection_add")).status_code == 403


@pytest.mark.django_db
def test_esd7_staff_declare_a_resellers_mail_domains_in_the_admin(staff_client, reseller):
    org = org_of(reseller)
    url = reverse("admin:accounts_organisation_change", args=[org.pk])
    form = {
        "name": org.name,
        "kind": org.kind,
        "tax_id": "",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "mail_domains-TOTAL_FORMS": "1",
        "mail_domains-INITIAL_FORMS": "0",
        "mail_domains-MIN_NUM_FORMS": "0",
        "mail_domains-MAX_NUM_FORMS": "1000",
        "mail_domains-0-domain": "Shop.Reseller-Mail.TEST.",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    declared = MailDomain.objects.get(organisation=org)
    assert declared.domain == "shop.reseller-mail.test"
    form["mail_domains-0-domain"] = "not a domain"
    page = staff_client.post(url, form).content.decode()
    assert "Enter a mail domain" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_esd14_approval_and_a_reveal_racing_end_with_exactly_one_winner(settings, reseller, staff, product):
    """ESD-14, LOCK-4, real transactions on PostgreSQL: the customer reveals (after "forgot password") at the
    moment staff approve the correction: either the reveal happens and the approval is refused, or the
    keys move and the reveal finds nothing. Never both, never neither."""
    from locker.services import key_reveal
    from orders.services import order_fulfil
    from tests.conftest import run_concurrently

    settings.ESD_CORRECTION_REVIEW = True
    stock(product, 10)
    outcomes = {"reveal": 0, "approval": 0}
    for i in range(10):
        order = order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email=f"race{i}@customer.test",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        order_fulfil(order_id=order.pk)
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_SENT)  # the server took it
        customer = Order.objects.get(pk=order.pk).end_customer
        key = ProductKey.objects.get(owner=customer)
        correction = _correct(order, reseller, f"race{i}@elsewhere.test")
        assert correction.status == EmailCorrection.Status.PENDING_REVIEW

        def reveal(key_id=key.pk, customer=customer):
            try:
                return key_reveal(key_id=key_id, user=customer, ip="192.0.2.1", user_agent="t").plaintext
            except ProductKey.DoesNotExist:
                return None

        def approve(correction_id=correction.pk):
            return correction_approve(correction_id=correction_id, actor=staff).status

        revealed, status = run_concurrently([reveal, approve])
        key.refresh_from_db()
        if status == EmailCorrection.Status.APPLIED:
            outcomes["approval"] += 1
            assert (
                revealed is None and key.owner.email == f"race{i}@elsewhere.test" and key.revealed_at is None
            )
        else:
            outcomes["reveal"] += 1
            assert status == EmailCorrection.Status.REFUSED
            assert revealed is not None and key.owner == customer and key.revealed_at is not None
    assert sum(outcomes.values()) == 10


@pytest.mark.django_db
def test_esd7_keys_never_reach_an_account_that_became_a_partners_after_the_order_was_placed(
    reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """ESD-7 at delivery: an order waits for stock for future@end.test; a member of another reseller is
    then moved to that address (the user admin let staff do it). When stock arrives the order is held, not
    delivered into the reseller member's account, with one staff alert however often it is tried; once the
    account leaves the reseller, the next try delivers it."""
    order = _place(other_reseller, product, "future@end.test", django_capture_on_commit_callbacks)
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_STOCK
    reseller.email = "future@end.test"  # as the user admin saves a change of address
    reseller.save()
    reseller.refresh_from_db()
    assert reseller.email == "future@end.test" and Membership.objects.filter(user=reseller).exists()

    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            stock(product, 1)
        with django_capture_on_commit_callbacks(execute=True):
            orders_sweep(now=Order.objects.get(pk=order.pk).next_attempt_at)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_STOCK and order.end_customer_id is None
    assert not ProductKey.objects.filter(owner=reseller).exists()
    alerts = StaffAlert.objects.filter(order=order, kind=StaffAlert.Kind.DELIVERY_HELD)
    assert alerts.count() == 1 and "future@end.test" not in alerts.get().message

    Membership.objects.filter(user=reseller).delete()
    with django_capture_on_commit_callbacks(execute=True):
        orders_sweep(now=Order.objects.get(pk=order.pk).next_attempt_at)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.end_customer_id == reseller.pk
