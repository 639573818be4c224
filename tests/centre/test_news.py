"""News for customers (issue #14, CC-6 *news* right, ALL-1): published items only, general ones for
everyone with the right, product items only for customers holding a licence for the product; HTML in a
body sanitised; the list keyset paged at a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from centre.models import Licence, NewsItem
from centre.services.licences import licence_book
from tests.factories import make_product, make_user, random_key


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="Acme", customer_id="C-1")


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="Other", customer_id="C-2")


@pytest.fixture
def reader(customer: Organisation) -> User:
    """A member with the *news* right only."""
    user = make_user(customer, email="news@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_news=True)
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


def news(title: str, *, days_ago: float = 1, product: Product | None = None, body: str = "Text") -> NewsItem:
    at = timezone.now() - timedelta(days=days_ago) if days_ago is not None else None
    return NewsItem.objects.create(title=title, body=body, product=product, published_at=at)


@pytest.mark.django_db
def test_cc6_news_shows_published_items_and_product_items_only_to_holders(
    client, customer, other_customer, reader, office
):
    """CC-6: general items for everyone with the right; a product's items only for holders of a licence
    for it; drafts and future items for nobody."""
    hold(other_customer, office)
    general = news("Holiday opening hours")
    about_office = news("Office 2021 update", product=office)
    draft = NewsItem.objects.create(title="Draft item", body="x", published_at=None)
    future = news("Future item", days_ago=-1)
    client.force_login(reader)
    html = client.get(reverse("centre:news")).content.decode()
    assert general.title in html
    for hidden in (about_office, draft, future):
        assert hidden.title not in html
    assert client.get(reverse("centre:news_item", args=[about_office.pk])).status_code == 404
    hold(customer, office)
    html = client.get(reverse("centre:news")).content.decode()
    assert about_office.title in html and "Office Standard 2021" in html
    assert client.get(reverse("centre:news_item", args=[about_office.pk])).status_code == 200


@pytest.mark.django_db
def test_all1_another_customers_product_item_a_draft_and_a_missing_id_answer_404(
    client, customer, other_customer, reader
):
    """ALL-1: the same 404 for an item of a product only another customer holds, a draft, a future item
    and an id that does not exist."""
    theirs = make_product("THEIRS")
    hold(other_customer, theirs)
    items = [
        news("Theirs", product=theirs),
        NewsItem.objects.create(title="Draft", body="x"),
        news("Later", days_ago=-2),
    ]
    client.force_login(reader)
    for pk in [item.pk for item in items] + [items[-1].pk + 1000]:
        assert client.get(reverse("centre:news_item", args=[pk])).status_code == 404, pk


@pytest.mark.django_db
def test_cc6_a_member_without_the_news_right_gets_403_and_no_link(client, customer):
    """CC-6: as the licence list answers a missing right: 403, and the overview does not link it."""
    colleague = make_user(customer, email="dl@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=colleague).update(right_downloads=True)
    item = news("General")
    client.force_login(colleague)
    assert client.get(reverse("centre:news")).status_code == 403
    assert client.get(reverse("centre:news_item", args=[item.pk])).status_code == 403
    assert reverse("centre:news") not in client.get(reverse("centre:home")).content.decode()


@pytest.mark.django_db
def test_cc6_html_in_a_news_body_is_sanitised(client, customer, reader):
    """HTML a body holds is sanitised with nh3: no script, event handler or javascript: link survives;
    simple markup and safe links stay; plain text keeps its line breaks."""
    item = news(
        "Rich",
        body=(
            '<p onclick="steal()">Read <strong>this</strong> <a href="javascript:alert(1)">now</a>'
            ' and <a href="https://example.test/notes">the notes</a></p><script>alert("x")</script>'
            '<img src=x onerror="alert(2)"><style>body{display:none}</style>'
        ),
    )
    plain = news("Plain", body="First line\nsecond line: 2 < 3")
    client.force_login(reader)
    html = client.get(reverse("centre:news_item", args=[item.pk])).content.decode()
    body = html.split('<article class="card wrap-anywhere">', 1)[1].split("</article>", 1)[0]
    assert "<strong>this</strong>" in body and 'href="https://example.test/notes"' in body
    for bad in ("<script", "onclick", "onerror", "javascript:", "<style", "alert("):
        assert bad not in body, bad
    listing = client.get(reverse("centre:news")).content.decode()
    assert "<script>alert" not in listing and "Read this now and the notes" in listing
    html = client.get(reverse("centre:news_item", args=[plain.pk])).content.decode()
    assert "First line<br>second line: 2 &lt; 3" in html


@pytest.mark.django_db
def test_cc6_the_news_list_is_keyset_paged_at_a_constant_number_of_queries(
    client, customer, reader, office, django_assert_max_num_queries
):
    """A page costs the same queries whether there are 3 items or 45 (with products), and Older/Newer walk
    the whole list once, newest first."""
    hold(customer, office)
    for n in range(3):
        news(f"Item {n:02d}", days_ago=100 - n, product=office if n % 2 else None)
    client.force_login(reader)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("centre:news"))
    for n in range(3, 45):
        news(f"Item {n:02d}", days_ago=100 - n, product=office if n % 2 else None)
    with django_assert_max_num_queries(len(few)):
        first = client.get(reverse("centre:news"))
    seen: list[str] = []
    response = first
    while True:
        rows = response.context["rows"]
        seen.extend(item.title for item in rows)
        older = response.context["older_url"]
        if not older:
            break
        response = client.get(reverse("centre:news") + older)
    assert seen == [f"Item {n:02d}" for n in range(44, -1, -1)]
