"""What the order service runs with: its settings (it calls nothing outside its database)."""

from __future__ import annotations

from dataclasses import dataclass

from services.order.settings import OrderSettings


@dataclass
class Deps:
    settings: OrderSettings


def make_deps(settings: OrderSettings) -> Deps:
    return Deps(settings)
