"""SQL of the payment service: the only package that knows its tables.

`attempts` holds what an order owes (payments), its attempts and the provider events
applied; `ledger` the money moved (charges, refunds) and the refunds asked of providers;
`reconciliation` the attempts to ask providers about and the daily report; `cash` the
cash-on-delivery mismatches; `exchanges` the charges of exchanges' price differences.
"""

from services.payment.repository.attempts import *  # noqa: F403
from services.payment.repository.cash import *  # noqa: F403
from services.payment.repository.exchanges import *  # noqa: F403
from services.payment.repository.ledger import *  # noqa: F403
from services.payment.repository.reconciliation import *  # noqa: F403
