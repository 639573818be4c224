"""``core.rows``: the two longest lists' rows come from Jinja2 templates (jinja/), escaped like every other
template, placed in the Django page as they are, and a misspelt name is an error rather than a blank cell."""

import jinja2
import pytest
from django.template import engines
from django.utils.safestring import SafeString

from core.rows import render_rows

ROW = {
    "id": 7,
    "url": "/orders/7/",
    "reseller_reference": "<script>alert(1)</script>",
    "placed": "7 Dec 2026, 10:00",
    "end_customer_email": "o'brien&co@end.test",
    "products": 'Office "Pro" & Co',
    "units": 2,
    "status": "fulfilled",
    "status_label": "Fulfilled",
    "welcome_mail_status": "sent",
    "mail_label": "Sent",
    "keys_accessed": False,
}
LABELS = dict.fromkeys(
    (
        "order",
        "reference",
        "placed",
        "customer",
        "products",
        "units",
        "status",
        "mail",
        "opened",
        "yes",
        "not_yet",
    ),
    "L",
)


def test_all2_every_value_is_escaped_and_the_result_is_placed_as_it_is():
    html = render_rows("orders/_order_table.html", {"rows": [ROW], "labels": LABELS, "caption": "<i>x</i>"})
    assert isinstance(html, SafeString)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "o&#39;brien&amp;co@end.test" in html and "Office &#34;Pro&#34; &amp; Co" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html
    page = engines["django"].from_string("<main>{{ rows }}</main>").render({"rows": html})
    assert page == f"<main>{html}</main>"  # not escaped a second time


def test_a_name_the_view_does_not_give_is_an_error_not_a_blank_cell():
    without_status = {k: v for k, v in ROW.items() if k != "status_label"}
    with pytest.raises(jinja2.UndefinedError):
        render_rows("orders/_order_table.html", {"rows": [without_status], "labels": LABELS, "caption": "x"})
