"""Documents for customers (issue #14, CC-6 *documents* right, ALL-1, ALL-3): published documents only,
general ones for everyone with the right and product ones only for holders of a licence for the product;
downloaded as an attachment through an access check, each download recorded; another customer's,
a draft's and a missing id answer 404; the list at a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from centre.models import Document, DocumentDownloadEvent, Licence
from centre.services.licences import licence_book
from tests.factories import make_product, make_user, random_key


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="Acme", customer_id="C-1")


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="Other", customer_id="C-2")


@pytest.fixture
def reader(customer: Organisation) -> User:
    """A member with the *documents* right only."""
    user = make_user(customer, email="docs@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_documents=True)
    return user


@pytest.fixture
def office(db: None) -> Product:
    return make_product("O2021-STD", name="Office Standard 2021", support_months=6)


def hold(customer: Organisation, product: Product) -> Licence:
    return licence_book(
        customer=customer,
        product=product,
        installation_number=random_key(),
        purchase_date=timezone.localdate(),
        actor=None,
    )


def document(title: str, *, product: Product | None = None, published: bool = True, **extra) -> Document:
    item = Document(title=title, product=product, published=published, **extra)
    item.file.save(
        f"{title.lower().replace(' ', '-')}.txt", ContentFile(f"The text of {title}.".encode()), save=False
    )
    item.save()
    return item


@pytest.mark.django_db
def test_cc6_documents_download_as_an_attachment_and_each_download_is_recorded(client, customer, reader):
    """CC-6, ALL-3: the file comes as an attachment, and the download is recorded (who, for whom, from
    where) before it goes."""
    manual = document("Installation guide", description="<p>How to <em>install</em>.</p>", language="pl")
    client.force_login(reader)
    html = client.get(reverse("centre:documents")).content.decode()
    assert "Installation guide" in html and "Polish" in html
    assert "How to install." in html and "<em>" not in html  # the description's start, without markup
    url = reverse("centre:document_download", args=[manual.pk])
    assert url in html
    response = client.get(url, HTTP_USER_AGENT="TestBrowser/1.0")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "installation-guide" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"The text of Installation guide."
    event = DocumentDownloadEvent.objects.get()
    assert event.document == manual and event.actor == reader and event.organisation == customer
    assert event.user_agent == "TestBrowser/1.0" and event.ip == "127.0.0.1"
    client.get(url)
    assert DocumentDownloadEvent.objects.count() == 2


@pytest.mark.django_db
def test_cc6_product_documents_only_for_holders_and_drafts_for_nobody(
    client, customer, other_customer, reader, office
):
    """CC-6: a document about a product is listed and downloadable only for a customer holding a licence
    for it; an unpublished one for nobody."""
    hold(other_customer, office)
    about_office = document("Office notes", product=office)
    draft = document("Draft notes", published=False)
    client.force_login(reader)
    html = client.get(reverse("centre:documents")).content.decode()
    assert "Office notes" not in html and "Draft notes" not in html
    assert client.get(reverse("centre:document_download", args=[about_office.pk])).status_code == 404
    hold(customer, office)
    html = client.get(reverse("centre:documents")).content.decode()
    assert "Office notes" in html and "Office Standard 2021" in html and "Draft notes" not in html
    assert client.get(reverse("centre:document_download", args=[about_office.pk])).status_code == 200
    assert client.get(reverse("centre:document_download", args=[draft.pk])).status_code == 404
    assert DocumentDownloadEvent.objects.count() == 1


@pytest.mark.django_db
def test_all1_another_customers_document_and_a_missing_id_answer_the_same_404_unrecorded(
    client, customer, other_customer, reader
):
    """ALL-1: a document of a product only another customer holds, and an id that does not exist: 404,
    nothing recorded."""
    theirs = make_product("THEIRS")
    hold(other_customer, theirs)
    secret = document("Their document", product=theirs)
    client.force_login(reader)
    for pk in (secret.pk, secret.pk + 1000):
        assert client.get(reverse("centre:document_download", args=[pk])).status_code == 404
    assert not DocumentDownloadEvent.objects.exists()


@pytest.mark.django_db
def test_cc6_a_member_without_the_documents_right_gets_403_and_no_link(client, customer):
    """CC-6: as the licence list answers a missing right: 403, nothing recorded, no link on the overview."""
    colleague = make_user(customer, email="news@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=colleague).update(right_news=True)
    manual = document("Manual")
    client.force_login(colleague)
    assert client.get(reverse("centre:documents")).status_code == 403
    assert client.get(reverse("centre:document_download", args=[manual.pk])).status_code == 403
    home = client.get(reverse("centre:home")).content.decode()
    assert reverse("centre:documents") not in home and reverse("centre:news") in home
    assert not DocumentDownloadEvent.objects.exists()


@pytest.mark.django_db
def test_cc6_a_file_the_storage_lost_answers_404_and_is_not_recorded(client, customer, reader):
    """ALL-2: a document whose file is gone is a 404, not a server error, and no download is recorded."""
    manual = document("Manual")
    manual.file.storage.delete(manual.file.name)
    client.force_login(reader)
    assert client.get(reverse("centre:document_download", args=[manual.pk])).status_code == 404
    assert not DocumentDownloadEvent.objects.exists()


@pytest.mark.django_db
def test_cc6_the_document_list_is_keyset_paged_at_a_constant_number_of_queries(
    client, customer, reader, office, django_assert_max_num_queries
):
    """A page costs the same queries whether there are 3 documents or 40, and Older walks them all."""
    hold(customer, office)
    start = timezone.now() - timedelta(days=100)

    def add(n: int) -> None:
        document(f"Doc {n:02d}", product=office if n % 2 else None, created_at=start + timedelta(hours=n))

    for n in range(3):
        add(n)
    client.force_login(reader)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("centre:documents"))
    for n in range(3, 40):
        add(n)
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("centre:documents"))
    seen: list[str] = []
    while True:
        seen.extend(document.title for document in response.context["rows"])
        if not response.context["older_url"]:
            break
        response = client.get(reverse("centre:documents") + response.context["older_url"])
    assert seen == [f"Doc {n:02d}" for n in range(39, -1, -1)]


@pytest.mark.django_db
def test_cc4_cc6_the_demo_customer_has_addresses_news_and_a_document_once() -> None:
    """seed_demo: Demo Customer's billing, delivery and one site address (recorded), two news items (one
    about a product it holds, so it sees both) and one published PDF document; run twice, made once."""
    from io import StringIO

    from django.core.management import call_command

    from centre.models import Address, AddressEvent, NewsItem

    call_command("seed_demo", "--stock", "1", stdout=StringIO())
    call_command("seed_demo", "--stock", "1", stdout=StringIO())
    customer = Organisation.objects.get(name="Demo Customer")
    kinds = sorted(Address.objects.for_org(customer).current().values_list("kind", flat=True))
    assert kinds == ["billing", "delivery", "site"]
    assert AddressEvent.objects.filter(organisation=customer).count() == 3
    assert NewsItem.objects.for_org(customer).count() == 2
    assert NewsItem.objects.filter(product__isnull=False).count() == 1
    documents = list(Document.objects.for_org(customer))
    assert len(documents) == 1 and documents[0].file.read(5) == b"%PDF-"
    assert customer.postal_address == "ul. Marszałkowska 10, 00-590 Warszawa, Poland"
