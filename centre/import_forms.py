"""The admin's upload of a customers or licences file (issue #14): it checks that the file can be read;
the lines are the import service's to check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ImportJob

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # some 200,000 lines of a licences file


class ImportUploadForm(forms.Form):
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

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it."))
        raw = upload.read()
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        finally:
            del raw
        if "\x00" in content:
            raise forms.ValidationError(_("The file is not a text file."))
        self.cleaned_data["content"] = content
        return upload
