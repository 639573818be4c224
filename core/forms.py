"""Form bases shared by the apps: an uploaded text file that a service imports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # some 500,000 product keys, or 200,000 lines of a licences file


class TextUploadForm(forms.Form):
    """A text file uploaded whole: at most 20 MB, UTF-8 with or without a byte-order mark.

    The subclass declares the ``file`` field (its label and help say what the file holds) and may refuse
    a text that is not of its kind in ``check_text``; the decoded text is left in
    ``cleaned_data["content"]`` for the service that imports it.
    """

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
        self.check_text(content)
        self.cleaned_data["content"] = content
        return upload

    def check_text(self, content: str) -> None:
        """Raise ``forms.ValidationError`` where ``content`` is not a file of this kind."""
