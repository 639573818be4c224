from __future__ import annotations

from collections.abc import Iterable

from .models import User, normalise_email


def locker_account_for_email(*, email: str) -> User:
    """The locker account of an address, made on first use with no usable password (ESD-15)."""
    return locker_accounts_for_emails([email])[normalise_email(email)]


def locker_accounts_for_emails(emails: Iterable[str]) -> dict[str, User]:
    """The locker account of each address (keyed by the normalised address), made where missing.

    All ESD orders for one address, from any reseller, land in this one account. New accounts have no
    usable password. Safe under concurrency: the missing ones are inserted with ON CONFLICT DO NOTHING in
    address order (two batches never wait on each other in a cycle), then read back, so two fulfilments
    for the same new address end with one account. Three queries at most, however many addresses.
    """
    wanted = sorted({normalise_email(email) for email in emails})
    found = {user.email: user for user in User.objects.filter(email__in=wanted)}
    missing = [email for email in wanted if email not in found]
    if missing:
        fresh = []
        for email in missing:
            user = User(email=email)
            user.set_unusable_password()
            fresh.append(user)
        User.objects.bulk_create(fresh, ignore_conflicts=True)
        found.update((user.email, user) for user in User.objects.filter(email__in=missing))
    return found
