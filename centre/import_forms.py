"""The admin's upload of a customers or licences file (issue #14): it checks that the file can be read;
the lines are the import service's to check."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import TextUploadForm

from .models import ImportJob


class ImportUploadForm(TextUploadForm):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 text (with or without a byte-order mark), a header row, separated by commas or "
            "semicolons. Customers: customer_id,tax_id,name,country. Licences: customer_id,sku,"
            "installation_number,purchase_date (YYYY-MM-DD) and optional support_number and source "
            "(direct or partner); an empty customer id makes a number issued for a partner's sale."
        ),
    )

    def check_text(self, content: str) -> None:
        if "\x00" in content:
            raise forms.ValidationError(_("The file is not a text file."))
