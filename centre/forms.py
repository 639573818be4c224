"""The people pages' forms: they validate what was typed; the rules are the services' (centre.services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User

RIGHT_CHOICES = Membership.Right.choices


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "Your colleague gets a mail with a link to choose a password, or to log in if they have one."
        ),
    )
    full_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    rights = forms.MultipleChoiceField(
        label=_("Rights"),
        choices=RIGHT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class PersonForm(forms.Form):
    """A person's role, state and rights. An administrator has every right (the boxes are shown ticked and
    cannot be changed); only an administrator may change the role."""

    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Membership.Role.ADMIN, _("Administrator: every right")),
            (Membership.Role.MEMBER, _("Member")),
        ],
        widget=forms.RadioSelect,
    )
    active = forms.BooleanField(
        label=_("Active: may log in and act for the organisation"),
        required=False,
        help_text=_("A deactivated person keeps their history here but cannot act."),
    )
    rights = forms.MultipleChoiceField(
        label=_("Rights"),
        choices=RIGHT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, membership: Membership, actor_is_admin: bool, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"role": membership.role, "active": membership.active, "rights": sorted(membership.rights)},
        )
        super().__init__(*args, **kwargs)
        if membership.is_admin:
            self.fields["rights"].disabled = True
            self.fields["rights"].help_text = _("Administrators have every right.")
        if not actor_is_admin:
            self.fields["role"].disabled = True
            self.fields["role"].help_text = _("Only an administrator may change the role.")
            if membership.is_admin:
                self.fields["active"].disabled = True


class RegistrationForm(forms.Form):
    """Registration of a customer's first administrator (CC-7). Checks what was typed (both passwords
    alike, Django's password validators); whether the pair matches is the service's, and never said here.
    The passwords are never shown again (``PasswordInput`` does not render a value)."""

    customer_id = forms.CharField(
        label=_("Customer id"),
        max_length=32,
        help_text=_("As printed on the distributor's invoices."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    tax_id = forms.CharField(
        label=_("Tax number"),
        max_length=40,
        help_text=_("Your company's tax number, with or without the country prefix, e.g. PL 526-025-09-95."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(
        label=_("First name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("You log in with this address; we send the confirmation link to it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "If you already have an account with this address (a Digital Locker, say), it keeps its "
            "password and this one is not used."
        ),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    @property
    def full_name(self) -> str:
        data = self.cleaned_data
        return f"{data.get('first_name', '').strip()} {data.get('last_name', '').strip()}".strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(
                    first, user=User(email=data.get("email") or "", full_name=self.full_name)
                )
            except ValidationError as error:
                self.add_error("password1", error)
        return data
