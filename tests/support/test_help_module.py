"""The help module (SUP-4, SUP-7, SUP-9, SVC-6, ALL-1, ALL-2): my organisation's requests, a new request
refused with its reason next to the field and everything typed kept (attachments too), the request's page
with the public conversation only, attachments as downloads, and another organisation's ids answering 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation
from support.models import Attachment, Category, Kind, Message, SupportRequest
from support.services.requests import attachment_stash, request_file, request_staff_reply
from tests.factories import make_org, make_user

from .conftest import book

NEW = reverse("support:new")
LIST = reverse("support:list")


def form(licence, **extra):
    data = {
        "kind": Kind.SUPPORT,
        "support_number": licence.support_number if licence else "",
        "url": "https://shop.acme.test",
        "category": Category.TECHNICAL_ADVICE,
        "subject": "Checkout fails",
        "body": "Since the update the checkout shows an error.",
    }
    data.update(extra)
    return data


def upload(name="log.txt", size=10):
    return SimpleUploadedFile(name, b"x" * size, content_type="text/plain")


def filed(customer, member, licence, **extra):
    extra.setdefault("category", Category.TECHNICAL_ADVICE)
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        subject=extra.pop("subject", "A question"),
        body="Body",
        **extra,
    )


@pytest.mark.django_db
def test_sup7_filing_in_the_module_gives_a_number_shown_on_screen_and_in_the_confirmation_mail(
    client, customer, member, licence, django_capture_on_commit_callbacks
):
    """SUP-7: a request gets its number when it arrives, shown on its page and in the confirmation mail,
    which is sent once."""
    client.force_login(member)
    page = client.get(NEW)
    assert page.status_code == 200 and licence.support_number in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NEW, form(licence), follow=True)
    request = SupportRequest.objects.get()
    year = timezone.localdate().year
    assert request.number == f"SUP-{year}-1" and request.requester == member
    assert request.channel == "module" and request.channel_rank == 0  # SUP-6/7: the module comes first
    assert response.redirect_chain[-1][0] == reverse("support:detail", args=[request.pk])
    body = response.content.decode()
    assert request.number in body and "Since the update the checkout shows an error." in body
    assert len(mail.outbox) == 1 and request.number in mail.outbox[0].subject
    assert mail.outbox[0].to == [member.email] and request.number in mail.outbox[0].body
    request.refresh_from_db()
    assert request.mail_sent_at is not None
    listing = client.get(LIST).content.decode()
    assert request.number in listing and "Checkout fails" in listing


@pytest.mark.django_db
def test_sup4_all2_a_refused_request_says_why_next_to_the_field_and_keeps_everything_typed_and_attached(
    client, customer, member, licence, pro
):
    """SUP-4, ALL-2: no valid address: refused next to the URL field; the text typed and the file attached
    are kept, and the next submit files the request with that file."""
    client.force_login(member)
    data = form(licence, url="not an address", subject="Kept subject", body="Kept body text")
    data["attachments"] = upload("screenshot.png", 100)
    response = client.post(NEW, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_url_error"' in html and "web address" in html
    assert "Kept subject" in html and "Kept body text" in html and "not an address" in html
    assert "screenshot.png" in html
    pending = Attachment.objects.get()
    assert pending.request is None and pending.uploaded_by == member
    assert f'name="pending" value="{pending.pk}"' in html
    assert not SupportRequest.objects.exists()
    fixed = form(licence, subject="Kept subject", body="Kept body text", pending=[pending.pk])
    client.post(NEW, fixed)
    request = SupportRequest.objects.get()
    pending.refresh_from_db()
    assert pending.request == request and pending.message.kind == Message.Kind.CUSTOMER


@pytest.mark.django_db
def test_sup1_sup3_an_ended_or_foreign_support_number_is_refused_with_what_to_do(
    client, customer, other_customer, member, pro
):
    """SUP-1, SUP-3: a number of another organisation (typed into the request) or an ended one is refused
    next to the field, saying to contact the seller / register, or when it ended and how to renew."""
    client.force_login(member)
    theirs = book(other_customer, pro)
    html = client.post(NEW, form(theirs)).content.decode()
    assert 'id="id_support_number_error"' in html and reverse("centre:register") in html
    ended = book(customer, pro, purchase_date=timezone.localdate() - timedelta(days=400))
    page = client.get(NEW).content.decode()
    assert "no licence with active support" in page and ended.support_number in page  # told on the page too
    html = client.post(NEW, form(ended)).content.decode()
    assert 'id="id_support_number_error"' in html and "renew" in html
    assert not SupportRequest.objects.exists()


@pytest.mark.django_db
def test_svc6_a_pre_sales_question_needs_neither_support_number_nor_address(client, customer, member):
    """SVC-6: pre-sales questions are their own kind, without a licence or URL."""
    client.force_login(member)
    client.post(NEW, form(None, kind=Kind.PRE_SALES, url="", category="", subject="Price for 10 shops?"))
    request = SupportRequest.objects.get()
    assert request.kind == Kind.PRE_SALES and request.licence is None and request.category == ""


@pytest.mark.django_db
def test_sup9_a_category_not_covered_is_marked_leaves_the_sla_and_the_customer_is_told(
    client, customer, member, licence
):
    """SUP-9: a request about template changes is marked not covered, has no guaranteed time, and the
    customer reads why on the page and in the acknowledgement."""
    client.force_login(member)
    client.post(NEW, form(licence, category=Category.TEMPLATE_CHANGES))
    request = SupportRequest.objects.get()
    assert not request.covered and request.not_covered == SupportRequest.NotCovered.CATEGORY
    assert request.sla_state == SupportRequest.Sla.NONE and request.due_at is None
    html = client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert "Support does not cover this request" in html
    ack = request.messages.get(kind=Message.Kind.ACKNOWLEDGEMENT)
    assert "does not cover" in ack.body


@pytest.mark.django_db
def test_sup9_installation_help_is_not_for_the_standard_edition_and_only_once_per_entitlement(
    customer, member, licence, standard
):
    """SUP-9: installation help on a STANDARD licence is not covered; on another edition it is covered the
    first time and a second one is a repeat installation, not covered."""
    std = book(customer, standard)
    on_standard = filed(customer, member, std, category=Category.INSTALLATION)
    assert not on_standard.covered and on_standard.not_covered == SupportRequest.NotCovered.STANDARD_EDITION
    first = filed(customer, member, licence, category=Category.INSTALLATION)
    assert first.covered and first.sla_state == SupportRequest.Sla.RUNNING
    second = filed(customer, member, licence, category=Category.INSTALLATION)
    assert second.category == Category.REPEAT_INSTALLATION and not second.covered
    assert second.not_covered == SupportRequest.NotCovered.REPEAT_INSTALLATION
    assert second.sla_state == SupportRequest.Sla.NONE


@pytest.mark.django_db
def test_sup8_sup12_the_customer_sees_public_replies_never_internal_notes_and_text_is_escaped(
    client, customer, member, licence, staff
):
    """SUP-8/12: the page shows the public reply and the acknowledgement, never an internal note; HTML
    typed into a message is shown as text."""
    request = filed(customer, member, licence)
    request_staff_reply(
        request_id=request.pk, author=staff, body="SECRET-NOTE the customer is rude", internal=True
    )
    request_staff_reply(request_id=request.pk, author=staff, body="Please clear the cache.", internal=False)
    client.force_login(member)
    url = reverse("support:detail", args=[request.pk])
    client.post(url, {"body": "<script>alert(1)</script> done"})
    html = client.get(url).content.decode()
    assert "Please clear the cache." in html and "SECRET-NOTE" not in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; done" in html
    assert "We received your request" in html


@pytest.mark.django_db
def test_all1_another_organisations_request_and_attachment_answer_404_like_missing_ones(
    client, customer, member, licence, outsider
):
    """ALL-1: the request page, a reply to it and its attachment: 404 for another organisation, the same as
    for an id that does not exist."""
    client.force_login(member)
    data = form(licence)
    data["attachments"] = upload()
    client.post(NEW, data)
    request = SupportRequest.objects.get()
    attachment = Attachment.objects.get()
    client.force_login(outsider)
    assert client.get(reverse("support:detail", args=[request.pk])).status_code == 404
    assert client.post(reverse("support:detail", args=[request.pk]), {"body": "hi"}).status_code == 404
    assert client.get(reverse("support:attachment", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("support:detail", args=[request.pk + 1000])).status_code == 404
    assert client.get(reverse("support:attachment", args=[attachment.pk + 1000])).status_code == 404
    assert request.number not in client.get(LIST).content.decode()
    assert request.messages.count() == 2  # the outsider's reply was not stored


@pytest.mark.django_db
def test_attachments_are_downloads_with_a_size_limit(client, customer, member, licence, settings):
    """An attachment is served as a download (Content-Disposition: attachment), never inline; a file over
    SUPPORT_ATTACHMENT_MAX_BYTES is refused next to the field with everything else kept."""
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 50
    client.force_login(member)
    data = form(licence, subject="Too big")
    data["attachments"] = upload("huge.log", 51)
    html = client.post(NEW, data).content.decode()
    assert 'id="id_attachments_error"' in html and "huge.log" in html and "Too big" in html
    assert not SupportRequest.objects.exists() and not Attachment.objects.exists()
    data = form(licence)
    data["attachments"] = [upload("a.html", 20)]
    client.post(NEW, data)
    attachment = Attachment.objects.get()
    response = client.get(reverse("support:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and 'filename="a.html"' in response["Content-Disposition"]
    )
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"x" * 20


@pytest.mark.django_db
def test_all2_more_files_than_a_message_takes_keeps_the_first_ones_and_the_next_try_goes_through(
    client, customer, member, licence, settings
):
    """ALL-2: six files where a message takes five: refused next to the field with the first five kept
    (the sixth is not stored), so sending the form again as it stands files the request with those five.
    Pending ids over the limit (an edited form) are cut the same way."""
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 5
    client.force_login(member)
    data = {**form(licence, subject="Six files"), "attachments": [upload(f"f{i}.log") for i in range(6)]}
    first = client.post(NEW, data)
    html = first.content.decode()
    assert first.status_code == 200 and 'id="id_attachments_error"' in html and "At most 5 files" in html
    kept = [a.pk for a in first.context["pending"]]
    assert len(kept) == 5 and Attachment.objects.count() == 5 and "f5.log" not in html
    again = client.post(NEW, {**form(licence, subject="Six files"), "pending": kept})
    assert again.status_code == 302
    request = SupportRequest.objects.get()
    assert sorted(request.attachments.values_list("name", flat=True)) == [f"f{i}.log" for i in range(5)]
    # Pending ids of more files than a message takes (an edited form): cut to the first five as well.
    ids = [
        attachment_stash(organisation=customer, user=member, upload=upload(f"g{i}.log")).pk for i in range(7)
    ]
    cut = client.post(NEW, {**form(licence, subject="Seven"), "pending": ids})
    assert cut.status_code == 200 and [a.pk for a in cut.context["pending"]] == ids[:5]
    assert client.post(NEW, {**form(licence, subject="Seven"), "pending": ids[:5]}).status_code == 302


@pytest.mark.django_db
def test_an_attachment_on_an_internal_note_is_never_served_to_the_customer(
    client, customer, member, licence, staff
):
    request = filed(customer, member, licence)
    note = request_staff_reply(request_id=request.pk, author=staff, body="see file", internal=True)
    hidden = Attachment(organisation=customer, request=request, message=note, name="internal.txt", size=1)
    hidden.file.save("internal.txt", upload("internal.txt", 1), save=True)
    client.force_login(member)
    assert client.get(reverse("support:attachment", args=[hidden.pk])).status_code == 404


@pytest.mark.django_db
def test_only_people_with_the_support_right_of_a_customer_get_in(client, customer, licence):
    """The module is for members with the *support requests* right (administrators have every right);
    resellers and end customers get their own views (support.intake_views)."""
    without = make_user(customer, email="dl@acme.test", role=Membership.Role.MEMBER)
    client.force_login(without)
    assert client.get(LIST).status_code == 403 and client.get(NEW).status_code == 403
    admin = make_user(customer, email="boss@acme.test", role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert client.get(LIST).status_code == 200
    reseller = make_user(make_org(Organisation.Kind.RESELLER, "Shop"), email="r@shop.test")
    client.force_login(reseller)
    assert (
        client.get(LIST).status_code == 200
    )  # resellers have their own module (test_reseller_and_end_customer)
    distributor = make_user(make_org(Organisation.Kind.DISTRIBUTOR, "Dist"), email="d@dist.test")
    client.force_login(distributor)
    assert client.get(LIST).status_code == 403
    client.logout()
    assert client.get(LIST).status_code == 302


@pytest.mark.django_db
def test_the_list_is_keyset_paged_at_a_constant_number_of_queries(
    client, customer, member, licence, django_assert_max_num_queries
):
    """The list reads one page from the (organisation, arrival, id) index whatever the number of requests."""
    for n in range(30):
        filed(customer, member, licence, subject=f"Question {n}")
    client.force_login(member)
    with django_assert_max_num_queries(8):
        first = client.get(LIST)
    html = first.content.decode()
    assert "Question 29" in html and "Question 4" not in html and "before=" in html
    older = html.split('href="?before=')[1].split('"')[0]
    with django_assert_max_num_queries(8):
        second = client.get(f"{LIST}?before={older}").content.decode()
    assert "Question 4" in second and "Question 29" not in second
    assert client.get(f"{LIST}?before=garbage").status_code == 200


@pytest.mark.django_db
def test_the_centre_overview_links_to_the_help_module_only_with_the_support_right(client, customer, member):
    client.force_login(member)
    assert reverse("support:list") in client.get(reverse("centre:home")).content.decode()
    without = make_user(customer, email="nothing@acme.test", role=Membership.Role.MEMBER)
    client.force_login(without)
    assert reverse("support:list") not in client.get(reverse("centre:home")).content.decode()


@pytest.mark.django_db
def test_all2_nothing_a_user_sends_produces_a_server_error(client, customer, member, licence):
    """ALL-2: NUL characters, forged choices, pending ids of any shape and ids past the database's range
    answer with a form or a 404, never a 500."""
    client.force_login(member)
    nul = "a\x00b"
    for data in [
        form(licence, url=nul, subject=nul, body=nul, support_number=nul),
        form(licence, kind="nonsense", category="nonsense"),
        form(licence, support_number="x" * 500, url="https://" + "a" * 600 + ".test"),
        {},
    ]:
        assert client.post(NEW, data).status_code == 200
    assert not SupportRequest.objects.exists()
    assert client.get(reverse("support:detail", args=[9 * 10**20])).status_code == 404
    assert client.get(reverse("support:attachment", args=[9 * 10**20])).status_code == 404
    assert client.get(f"{LIST}?before=1.2.3&after=zz").status_code == 200
    # Forged pending ids are ignored.
    data = {**form(licence, subject="Hello world"), "pending": ["abc", "-1", "9" * 30, "", "²", "9" * 5000]}
    assert client.post(NEW, data).status_code == 302
    assert SupportRequest.objects.get().subject == "Hello world"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sup9_two_installation_requests_at_once_only_one_is_covered(customer, member, licence):
    """SUP-9, race: two first installation-help requests on one licence at the same moment, each in its own
    transaction: the licence's row lock files them one after the other, so one is covered and the other is
    a repeat installation."""
    from tests.conftest import run_concurrently

    results = run_concurrently(
        [lambda: filed(customer, member, licence, category=Category.INSTALLATION).pk] * 2
    )
    rows = SupportRequest.objects.filter(pk__in=results)
    assert sorted(rows.values_list("covered", flat=True)) == [False, True]
    assert rows.filter(category=Category.REPEAT_INSTALLATION).count() == 1
