from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # ~500,000 keys of 29 characters


class KeyImportForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(esd_eligible=True))
    file = forms.FileField(
        label=_("Key file"),
        help_text=_(
            "A text file with one key per line, or a CSV file with a “key” column (else the first column)."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it."))
        raw = upload.read()
        try:
            self.cleaned_data["content"] = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        finally:
            del raw
        return upload
