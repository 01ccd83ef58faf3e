"""SQL of the logistics service: the only package that knows its tables.

`orders` holds stock, the orders logistics serves and their reservations;
`shipments` holds parcels and their tracking checkpoints.
"""

from services.logistics.repository.orders import *  # noqa: F403
from services.logistics.repository.shipments import *  # noqa: F403
