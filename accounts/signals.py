"""What accounts tells the apps above it, without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# A user chose a password (a welcome or reset link, or the password page). Arguments: user, at.
password_chosen = Signal()
