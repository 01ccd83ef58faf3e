"""The order's rules, pure (no I/O): `order` holds the state records (Order, Entry,
Outcome) and the customer's and the timers' decisions, `placing` makes a new order within
the shop's limits, `reactions` takes the facts payment, logistics and returns publish.
Each decision returns an `Outcome`; the steps save it once (`repository.record`)."""
