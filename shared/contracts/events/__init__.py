"""Event payload models, one module per producing service.

Each module is owned by the service that publishes its events; consumers read
it but never edit it. Importing this package declares every model.
"""

from shared.contracts.events import logistics, notify, order, payment, returns

__all__ = ["logistics", "notify", "order", "payment", "returns"]
