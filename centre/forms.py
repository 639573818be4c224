"""The people pages' forms: they validate what was typed; the rules are the services' (centre.services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership

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
