from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import User, normalise_email


def locker_account_for_email(*, email: str) -> User:
    """The locker account of an address, made on first use with no usable password (ESD-15).

    All ESD orders for one address, from any reseller, land in this one account. Safe under concurrency:
    two fulfilments for the same new address end with one account.
    """
    email = normalise_email(email)
    user = User.objects.filter(email=email).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=None)
    except IntegrityError:
        return User.objects.get(email=email)
