from __future__ import annotations

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from core.forms import TextUploadForm

MAX_LINE_CHARS = 131_072  # the csv module's field limit; a key is at most 64 characters


class KeyImportForm(TextUploadForm):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(esd_eligible=True))
    file = forms.FileField(
        label=_("Key file"),
        help_text=_(
            "A text file with one key per line, or a CSV file with a “key” column (else the first column)."
        ),
    )

    def check_text(self, content: str) -> None:
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
