from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.models import Membership, User
from api.services import TokenError, api_token_create


class Command(BaseCommand):
    help = (
        "Create an API token of a reseller organisation for one of its administrators and print it (shown "
        "only this once). --organisation names the organisation when the person belongs to several."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="Command line")
        parser.add_argument("--organisation", default="", help="The organisation's name or id.")

    def handle(self, *args: Any, email: str, name: str, organisation: str, **options: Any) -> None:
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        memberships = Membership.objects.filter(user=user, active=True).select_related("organisation")
        if organisation:
            wanted = organisation.strip()
            named = Q(organisation__name=wanted)
            if wanted.isdigit():
                named |= Q(organisation_id=int(wanted))
            memberships = memberships.filter(named)
        found = list(memberships.order_by("organisation__name"))
        if not found:
            raise CommandError(f"{user.email} is not a member of {organisation or 'any organisation'}.")
        if len(found) > 1:
            names = ", ".join(m.organisation.name for m in found)
            raise CommandError(f"{user.email} belongs to {names}: say which with --organisation.")
        try:
            record, token = api_token_create(organisation=found[0].organisation, user=user, name=name)
        except TokenError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Token “{record.name}” for {record.organisation.name} ({user.email}):")
        self.stdout.write(token)
