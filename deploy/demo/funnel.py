"""The shop's funnel and the flow, as the services' own /metrics tell it.

The demo counts nothing itself: it scrapes and summarises as `fulfil funnel` does
(fulfil.funnel), from a baseline taken when the demo starts, so a stack that is reused
shows this run's orders only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fulfil.funnel import STAGES, Scrape, scrape, since, summarise, topic_rates

__all__ = ["STAGES", "Funnel"]

# What the demo's summary has always held (demo-summary.json keeps these keys).
SUMMARY_KEYS = (
    "funnel",
    "payment_conversion",
    "payment_failures",
    "pay_to_ship",
    "messages_sent",
    "messages_failed",
    "messages_by_template",
    "refund_requests_by_flow",
    "cancel_reasons",
    "events_per_topic",
)


@dataclass
class Funnel:
    urls: Mapping[str, str]
    baseline: Scrape = field(default_factory=Scrape)
    figures: dict[str, Any] = field(default_factory=lambda: summarise(Scrape()))
    rates: dict[str, float] = field(default_factory=dict)
    _at: float = field(default_factory=time.monotonic)

    async def start(self) -> None:
        """The baseline: what the services had counted before this run."""
        self.baseline = await scrape(self.urls)
        self._at = time.monotonic()

    async def refresh(self) -> None:
        """The figures since the baseline, and events per second since the last refresh."""
        found = await scrape(self.urls)
        figures = summarise(since(self.baseline, found))
        now = time.monotonic()
        self.rates = topic_rates(self.figures, figures, now - self._at)
        self.figures, self._at = figures, now

    def count(self, stage: str) -> int:
        return int(self.figures["funnel"][stage])

    def summary(self) -> dict[str, Any]:
        return {key: self.figures[key] for key in SUMMARY_KEYS}
