"""Set-password links that belong to the order whose welcome mail carried them (ESD-12, ESD-15).

One locker account receives every reseller's orders for its address. A welcome link therefore carries its
order, and its signature covers the order's ``link_generation``: a reseller's resend or correction kills the
links of that order only, never the link another reseller's order mailed to the same customer. Links made
without an order (forgot password, staff's set-password link) stay per account (accounts.tokens). Any link
still dies once the account's password, last login or address changes.

An order link reads ``o<order id in base 36>.<timestamp>-<signature>`` in allauth's reset-from-key URL.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from accounts.tokens import LockerTokenGenerator

from .models import Order

PREFIX = "o"


class WelcomeLinkTokenGenerator(LockerTokenGenerator):
    order_salt = "orders.tokens.WelcomeLinkTokenGenerator"

    def make_order_token(self, user: Any, order: Order) -> str:
        timestamp = self._num_seconds(self._now())
        signed = self._order_token(user, order.pk, order.link_generation, timestamp)
        return f"{PREFIX}{int_to_base36(order.pk)}.{signed}"

    def check_token(self, user: Any, token: Any) -> bool:
        # Account tokens read "<timestamp>-<signature>" with no dot: a dot marks an order token.
        if not (user and isinstance(token, str) and token.startswith(PREFIX) and "." in token):
            return super().check_token(user, token)
        order_part, _, rest = token[len(PREFIX) :].partition(".")
        ts_b36, _, _signature = rest.partition("-")
        try:
            order_id, timestamp = base36_to_int(order_part), base36_to_int(ts_b36)
        except ValueError:
            return False
        if order_id > 2**63 - 1:
            return False
        generation = (
            Order.objects.filter(pk=order_id, end_customer_id=user.pk)
            .values_list("link_generation", flat=True)
            .first()
        )
        if generation is None:  # no such order, or it no longer goes to this account (ESD-14)
            return False
        if not any(
            constant_time_compare(self._order_token(user, order_id, generation, timestamp, secret), rest)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return bool(self._num_seconds(self._now()) - timestamp <= settings.PASSWORD_RESET_TIMEOUT)

    def _order_token(
        self, user: Any, order_id: int, generation: int, timestamp: int, secret: Any = None
    ) -> str:
        # Django's account facts (password, last login, address) with the order's own generation, not the
        # account's: raising the account's generation (a forgot-password link withdrawn) leaves these alone.
        base = super(LockerTokenGenerator, self)._make_hash_value(user, timestamp)
        signature = salted_hmac(
            self.order_salt,
            f"{base}|{order_id}|{generation}",
            secret=secret or self.secret,
            algorithm=self.algorithm,
        ).hexdigest()[::2]
        return f"{int_to_base36(timestamp)}-{signature}"


welcome_link_tokens = WelcomeLinkTokenGenerator()
