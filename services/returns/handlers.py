"""What the returns service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds.
"""

from collections.abc import Mapping

from shared.consumer import Handler
from shared.timers import TimerHandler

HANDLERS: Mapping[str, Handler] = {}

TIMERS: Mapping[str, TimerHandler] = {}
