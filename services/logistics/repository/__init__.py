"""SQL of the logistics service: the only package that knows its tables.

`orders` holds stock, the orders logistics serves and their reservations;
`shipments` holds parcels and their tracking checkpoints, and `record`, which saves a
shipping decision's `Outcome` (shipment, promise, booking, timers, events) at once;
`warehouse` holds the warehouse's steps of shipments and the pick list.
"""

from services.logistics.repository.delays import *  # noqa: F403
from services.logistics.repository.orders import *  # noqa: F403
from services.logistics.repository.shipments import *  # noqa: F403
from services.logistics.repository.warehouse import *  # noqa: F403
