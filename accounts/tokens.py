"""Set-password links that can be withdrawn.

Django's token already dies when the password, the last login or the e-mail address changes. Adding the
user's ``link_generation`` lets the portal kill every outstanding link of an account at once (a resent
welcome mail, a corrected order address) without touching the password. Built on Django's generator, not
allauth's e-mail-aware one, which writes EmailAddress rows each time a token is made or checked.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class LockerTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.tokens.LockerTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}|{getattr(user, 'link_generation', 0)}"
