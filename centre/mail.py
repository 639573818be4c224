"""The invitation mail (CC-6): a set-password link to an account without a password, a login link to one
with; and the registration's confirmation mail (CC-8), with its signed link. Links are only in the mail to
their owner: never logged, stored or shown to anyone else."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from accounts.models import Membership
from core.mail import send_once
from core.templated_mail import templated_mail
from orders.mail import set_password_url

from .models import Invitation, Registration, SupportReminder
from .services.registration import registration_link_token
from .services.reminders import reminder_recipients, reminder_wanted


def build_invitation_mail(invitation: Invitation) -> EmailMultiAlternatives:
    person = invitation.person
    has_password = person.has_usable_password()
    context = {
        "organisation_name": invitation.organisation.name,
        "invited_by": (invitation.invited_by.full_name or invitation.invited_by.email)
        if invitation.invited_by
        else "",
        "has_password": has_password,
        "set_password_url": None if has_password else set_password_url(person),
        "login_url": settings.PORTAL_BASE_URL + reverse("account_login"),
        "centre_url": settings.PORTAL_BASE_URL + reverse("centre:home"),
        "email": person.email,
    }
    return templated_mail("centre/email/invitation", context, to=[person.email])


def invitation_send(*, invitation_id: int) -> str:
    """Send one invitation mail, once (``send_once``); ``"dropped"`` when the person left, was deactivated
    or their account was closed before it went out."""

    def wanted(invitation: Invitation) -> bool:
        still_member = Membership.objects.filter(
            user_id=invitation.person_id, organisation_id=invitation.organisation_id, active=True
        ).exists()
        return still_member and invitation.person.is_active

    return send_once(
        Invitation,
        invitation_id,
        load=lambda: (
            Invitation.objects.select_related("person", "organisation", "invited_by")
            .filter(pk=invitation_id)
            .first()
        ),
        wanted=wanted,
        build=build_invitation_mail,
        dropped="Not sent: no longer an active member.",
    )


def build_registration_mail(registration: Registration) -> EmailMultiAlternatives:
    token = registration_link_token(registration)
    context = {
        "organisation_name": registration.organisation.name,
        "customer_id": registration.organisation.customer_id,
        "confirm_url": settings.PORTAL_BASE_URL + reverse("centre:register_confirm", args=[token]),
        "days": settings.CENTRE_REGISTRATION_DAYS,
        "email": registration.email,
    }
    return templated_mail("centre/email/registration", context, to=[registration.email])


def registration_mail_send(*, registration_id: int) -> str:
    """Send a registration's confirmation mail, once (``send_once``); ``"dropped"`` when it was confirmed
    or lapsed before it went out."""
    return send_once(
        Registration,
        registration_id,
        load=lambda: Registration.objects.select_related("organisation").filter(pk=registration_id).first(),
        wanted=lambda registration: Registration.objects.confirmable().filter(pk=registration.pk).exists(),
        build=build_registration_mail,
        dropped="Not sent: confirmed or lapsed before it went out.",
    )


# --- the reminder before support ends (SUP-2; centre.services.reminders) -------------------------------
def build_support_reminder_mail(reminder: SupportReminder) -> EmailMultiAlternatives:
    """One mail per licence to the customer's active administrators: product, support number, end date
    and the way to renew. Never the installation number (it is not opened for this)."""
    licence = reminder.licence
    context = {
        "organisation_name": licence.customer.name,
        "product_name": licence.product.name,
        "edition": licence.edition,
        "support_number": licence.support_number,
        "support_ends_on": licence.support_ends_on,
        "renewal_url": settings.SUPPORT_RENEWAL_URL,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "licences_url": settings.PORTAL_BASE_URL + reverse("centre:licences"),
    }
    return templated_mail("centre/email/support_reminder", context, to=reminder_recipients(licence))


def support_reminder_send(*, reminder_id: int) -> str:
    """Send a licence's support reminder, once (``send_once``); ``"dropped"`` when the term changed or
    ended before it went out, or the customer has no active administrator to tell."""

    def wanted(reminder: SupportReminder) -> bool:
        return reminder_wanted(reminder) and bool(reminder_recipients(reminder.licence))

    def build(reminder: SupportReminder) -> EmailMultiAlternatives:
        message = build_support_reminder_mail(reminder)
        SupportReminder.objects.filter(pk=reminder.pk).update(recipients=len(message.to))
        return message

    return send_once(
        SupportReminder,
        reminder_id,
        load=lambda: (
            SupportReminder.objects.select_related("licence__customer", "licence__product")
            .filter(pk=reminder_id)
            .first()
        ),
        wanted=wanted,
        build=build,
        dropped="Not sent: support changed or ended, or no active administrator.",
    )
