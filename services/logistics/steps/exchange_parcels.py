"""The courier took an exchange's parcel (the booking effect's answer, `steps.shipping`
BOOKER): the replacement's units leave the shelf and ExchangeShipped is told. Nothing of
the order's moves: no ShipmentShipped, no promise, delay or silence watch.
"""

from __future__ import annotations

from services.logistics import repository as repo
from services.logistics.carriers.kuaidi100 import Booked
from services.logistics.deps import Deps
from services.logistics.domain import exchanges as domain
from services.logistics.domain.shipping import Shipment, Timing
from services.logistics.domain.stock import Fulfilment
from services.logistics.repository import exchanges as ex_repo
from services.logistics.steps import stock, subscription
from shared.contracts.events.common import Address
from shared.contracts.events.logistics import ExchangeShipped
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def booked(
    unit: Unit[Deps],
    order: Fulfilment,
    shipment: Shipment,
    answer: object,
    tracking: str,
    timing: Timing,
) -> None:
    """The exchange's parcel is on its way (`order` and `shipment` locked by the caller),
    once: a booking answered again finds the exchange shipped and changes nothing."""
    assert shipment.exchange_id is not None, "an exchange's parcel names its exchange"
    exchange = await ex_repo.of_id(unit.conn, shipment.exchange_id)
    if exchange is None or exchange.state != "shipping" or exchange.replacement is None:
        log.warning(
            "booked an exchange parcel that no longer ships", shipment_id=shipment.shipment_id
        )
        return
    left = domain.shipped(shipment, tracking, unit.now, timing)
    await repo.save_shipment(unit.conn, left)
    await repo.lock_stock(unit.conn, [exchange.sku])
    await stock.moved(unit, await ex_repo.unhold(unit.conn, exchange, "shipped", consumed=True))
    told = ExchangeShipped(
        exchange_id=exchange.exchange_id,
        shipment_id=left.shipment_id,
        courier=left.courier,
        tracking_number=tracking,
        replacement=exchange.replacement,
        address=Address.model_validate(order.address),
        shipped_at=unit.now,
    )
    await unit.emit(told, order_id=order.order_id)
    if isinstance(answer, Booked):
        await subscription.watch(unit, left, answer, order.address, order.phone)
    log.info("exchange shipped", exchange_id=exchange.exchange_id, courier=left.courier)
