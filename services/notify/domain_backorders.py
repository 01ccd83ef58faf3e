"""The backorder messages: which there are and which go at once even in quiet hours. Pure
values; domain.py lists them with the others.

A backorder is told when the order is placed short (the question, with its deadline), when
it is answered (dropped or waiting), when a new restock date moves the date its short goods
are expected, and when a restock fills it. Each is told once per event: a duplicate sends
nothing.
"""

from __future__ import annotations

TEMPLATES = (
    "stock_backordered",
    "backorder_dropped",
    "backorder_waiting",
    "backorder_filled",
    "backorder_restock_changed",
)

# The question has a deadline to answer: a night's wait would eat into it. What became of
# the order, and a new date its goods are expected, wait for the morning.
URGENT = frozenset({"stock_backordered"})
