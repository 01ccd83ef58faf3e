"""What the returns service's steps depend on: its settings and the policy read from them.
Returns talks to nothing outside its database and the broker, so it has no other edges."""

from __future__ import annotations

from dataclasses import dataclass

from services.returns.domain.records import Policy
from services.returns.settings import ReturnsSettings


@dataclass(frozen=True)
class Deps:
    settings: ReturnsSettings
    policy: Policy


def make_deps(settings: ReturnsSettings) -> Deps:
    return Deps(settings=settings, policy=settings.policy())
