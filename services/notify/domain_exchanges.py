"""The exchange messages: which there are, which go at once even in quiet hours, and what
makes each one once. Pure values; domain.py lists them with the others.

An exchange is told at each step the customer has to know of: accepted (what to send back,
the replacement, the difference), the difference to pay (its link and deadline), refused
(why, and that a refund can be asked instead), the replacement shipped and delivered, and
cancelled (unpaid, or the units not sent back, by the deadline). Each is told once per
exchange (the payment request once per payment attempt), whatever event ids or
redeliveries carry it.
"""

from __future__ import annotations

TEMPLATES = (
    "exchange_accepted",
    "exchange_payment_requested",
    "exchange_refused",
    "exchange_shipped",
    "exchange_delivered",
    "exchange_cancelled",
)

# The answer to the request the customer just made (accepted or refused: logistics and
# returns decide within seconds), and the difference to pay, whose deadline runs at night
# too, as the backorder question's does. The replacement leaving or delivered and the
# cancellation wait for the morning, as a parcel shipped or delivered and an order closed do.
URGENT = frozenset({"exchange_accepted", "exchange_refused", "exchange_payment_requested"})
