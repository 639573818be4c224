"""The countries an address may be in (CC-4): ISO 3166-1 alpha-2 codes with their names, for the country
select, and a sanity check of postcodes where a country has one simple shape. The list holds the countries
the distributor sells to (Europe and a few beyond); a code is added here when a customer needs it. No new
dependency: the names are the portal's own translatable strings."""

from __future__ import annotations

import re

from django.utils import translation
from django.utils.translation import gettext_lazy as _

COUNTRIES: list[tuple[str, object]] = [
    ("AT", _("Austria")),
    ("BE", _("Belgium")),
    ("BG", _("Bulgaria")),
    ("CA", _("Canada")),
    ("CH", _("Switzerland")),
    ("CY", _("Cyprus")),
    ("CZ", _("Czechia")),
    ("DE", _("Germany")),
    ("DK", _("Denmark")),
    ("EE", _("Estonia")),
    ("ES", _("Spain")),
    ("FI", _("Finland")),
    ("FR", _("France")),
    ("GB", _("United Kingdom")),
    ("GR", _("Greece")),
    ("HR", _("Croatia")),
    ("HU", _("Hungary")),
    ("IE", _("Ireland")),
    ("IS", _("Iceland")),
    ("IT", _("Italy")),
    ("LI", _("Liechtenstein")),
    ("LT", _("Lithuania")),
    ("LU", _("Luxembourg")),
    ("LV", _("Latvia")),
    ("MT", _("Malta")),
    ("NL", _("Netherlands")),
    ("NO", _("Norway")),
    ("PL", _("Poland")),
    ("PT", _("Portugal")),
    ("RO", _("Romania")),
    ("SE", _("Sweden")),
    ("SI", _("Slovenia")),
    ("SK", _("Slovakia")),
    ("UA", _("Ukraine")),
    ("US", _("United States")),
]
COUNTRY_CODES = frozenset(code for code, _name in COUNTRIES)

# Postcode shapes, upper case, of the countries with one simple format. Others are not checked.
_POSTCODES: dict[str, str] = {
    "AT": r"\d{4}",
    "BE": r"\d{4}",
    "BG": r"\d{4}",
    "CH": r"\d{4}",
    "CZ": r"\d{3} ?\d{2}",
    "DE": r"\d{5}",
    "DK": r"\d{4}",
    "EE": r"\d{5}",
    "ES": r"\d{5}",
    "FI": r"\d{5}",
    "FR": r"\d{5}",
    "HR": r"\d{5}",
    "HU": r"\d{4}",
    "IT": r"\d{5}",
    "LT": r"(LT-)?\d{5}",
    "LU": r"(L-)?\d{4}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "NO": r"\d{4}",
    "PL": r"\d{2}-\d{3}",
    "PT": r"\d{4}-\d{3}",
    "RO": r"\d{6}",
    "SE": r"\d{3} ?\d{2}",
    "SI": r"\d{4}",
    "SK": r"\d{3} ?\d{2}",
    "US": r"\d{5}(-\d{4})?",
}
_POSTCODE_RES = {code: re.compile(rf"^{shape}$") for code, shape in _POSTCODES.items()}
_EXAMPLES = {"PL": "00-950", "DE": "10117", "CZ": "110 00", "NL": "1012 AB", "PT": "1000-001", "US": "10001"}


def postcode_fits(country_code: str, postcode: str) -> bool:
    """Whether ``postcode`` has the shape of ``country_code``'s postcodes (always true where unknown)."""
    pattern = _POSTCODE_RES.get((country_code or "").upper())
    return pattern is None or bool(pattern.match((postcode or "").strip().upper()))


def postcode_example(country_code: str) -> str:
    return _EXAMPLES.get((country_code or "").upper(), "")


def country_name(code: str) -> str:
    """The country's name in the active language ("" for a code not in the list)."""
    return str(dict(COUNTRIES).get((code or "").upper(), ""))


def country_name_en(code: str) -> str:
    """The country's English name, as ``accounts.Organisation.country`` keeps it for invoices."""
    with translation.override("en"):
        return country_name(code)
