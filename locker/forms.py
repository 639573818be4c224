from __future__ import annotations

from typing import Any

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # ~500,000 keys of 29 characters
MAX_LINE_CHARS = 131_072  # the csv module's field limit; a key is at most 64 characters


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
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        finally:
            del raw
        for number, line in enumerate(content.splitlines(), start=1):
            if len(line) > MAX_LINE_CHARS:  # ALL-2: not a key file; refused here rather than imported as junk
                raise forms.ValidationError(
                    _(
                        "Line %(line)d is longer than %(limit)s characters: this is not a key file "
                        "(one key per line)."
                    ),
                    code="line_too_long",
                    params={"line": number, "limit": number_format(MAX_LINE_CHARS, force_grouping=True)},
                )
        self.cleaned_data["content"] = content
        return upload
