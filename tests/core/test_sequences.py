"""core.sequences: numbers per year, consecutive, one caller after another (ESD-6 invoice numbers and the
support numbers of CC-1 use it)."""

import pytest
from django.db import transaction

from core.sequences import take_numbers
from orders.models import InvoiceSequence


@pytest.mark.django_db
def test_esd6_numbers_are_consecutive_per_year_and_a_rollback_gives_them_back():
    with transaction.atomic():
        assert take_numbers(InvoiceSequence, year=2031) == 1
        assert take_numbers(InvoiceSequence, year=2031, count=3) == 2
        assert take_numbers(InvoiceSequence, year=2032) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        take_numbers(InvoiceSequence, year=2031)
        raise RuntimeError("rolled back")
    with transaction.atomic():
        assert take_numbers(InvoiceSequence, year=2031) == 5


def test_taking_numbers_outside_a_transaction_is_refused():
    with pytest.raises(AssertionError):
        take_numbers(InvoiceSequence, year=2031)
