"""The logistics service's business rules and state records: pure, no I/O.

`stock`: all-or-nothing allocation of an order's lines over the warehouses, the orders a
short recount withdraws, the low-stock crossing, and the order as logistics keeps it
(`Fulfilment`). `shipping`: the promise (cut-off, working days, holidays), the courier
choice, the parcel (`Shipment`) and how tracking checkpoints move it forward, and the
`Outcome` each shipping decision returns for the steps to save at once.
"""
