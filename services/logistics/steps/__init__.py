"""The operations that run inside a unit of work: load (repository), decide (domain),
save (repository) and emit. Handlers, timers, views and workers call them.

`stock`: reserve, give back, consume and restock units, and the low-stock warning.
`shipping`: open, dispatch and stop shipments, the courier booking, checkpoints, delays.
`orders`: what spans both: an order taken, ended (cancelled, closed, refunded before
shipping) or withdrawn by a short count.
"""
