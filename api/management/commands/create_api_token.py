from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from api.services import TokenError, api_token_create


class Command(BaseCommand):
    help = "Create an API token for a reseller administrator and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="Command line")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        user = (
            User.objects.select_related("membership__organisation")
            .filter(email=email.strip().lower())
            .first()
        )
        if user is None:
            raise CommandError(f"No user {email}.")
        try:
            record, token = api_token_create(user=user, name=name)
        except TokenError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Token “{record.name}” for {record.organisation.name} ({user.email}):")
        self.stdout.write(token)
