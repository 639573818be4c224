"""What accounts tells the apps above it, without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# A user chose a password (a welcome or reset link, or the password page). Arguments: user, at.
password_chosen = Signal()

# A person's own change of address (accounts.email_change). ``email_change_check``: arguments user, email;
# a receiver answers a reason (a short code, never shown) why the account may not move to that address, or
# None. ``email_changed``: arguments user, old_email, new_email, at; sent inside the confirming transaction,
# so what an app moves with the account moves with it or not at all; a receiver answers how many of its
# records followed (recorded on the account's event).
email_change_check = Signal()
email_changed = Signal()

# Where an organisation's postal address is kept, when not in the organisation's own fields: argument
# organisation; a receiver answers a sentence for staff (translated) when another app keeps it and writes it
# through to those fields (the customer centre's billing address), or None. The admin then shows the fields
# read-only with that sentence, so a staff edit never drifts from the address the customer keeps.
postal_address_kept_elsewhere = Signal()
