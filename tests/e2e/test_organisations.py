"""CC-11 in Chromium: a person in two reseller organisations switches between them in the header and each
page shows only the organisation chosen (ALL-1)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership, Organisation
from orders.services import LineIn, order_place
from tests.e2e.helpers import log_in
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cc11_all1_switching_organisation_in_the_header(live_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    alpha = make_org(Organisation.Kind.RESELLER, "Alpha Resale")
    beta = make_org(Organisation.Kind.RESELLER, "Beta Resale")
    person = make_user(alpha, email="accountant@firm.test")
    Membership.objects.create(user=person, organisation=beta, role=Membership.Role.ADMIN)
    product = make_product()
    for organisation, email in ((alpha, "alpha-customer@end.test"), (beta, "beta-customer@end.test")):
        order_place(
            reseller=organisation,
            placed_by=person,
            end_customer_email=email,
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )

    log_in(page, live_server.url, person.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/orders/")
    switcher = page.get_by_label("Working for")
    expect(switcher).to_have_value(str(alpha.pk))
    expect(page.locator("main")).to_contain_text("alpha-customer@end.test")
    expect(page.locator("main")).not_to_contain_text("beta-customer@end.test")

    switcher.select_option(label="Beta Resale")  # the portal's script sends the form on change
    expect(page.locator(".messages")).to_contain_text("You are now working for Beta Resale.")
    expect(page.get_by_label("Working for")).to_have_value(str(beta.pk))
    expect(page.locator("main")).to_contain_text("beta-customer@end.test")
    expect(page.locator("main")).not_to_contain_text("alpha-customer@end.test")

    # The choice lives in the session: it holds on the next page, and back again.
    page.goto(f"{live_server.url}/orders/")
    expect(page.locator("main")).to_contain_text("beta-customer@end.test")
    page.get_by_label("Working for").select_option(label="Alpha Resale")
    expect(page.locator("main")).to_contain_text("alpha-customer@end.test")
    expect(page.locator("main")).not_to_contain_text("beta-customer@end.test")
