"""Valid sample payloads for every event model, built from the models' own fields."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel

from shared.contracts.envelope import Event, Money


def sample_value(annotation: Any, name: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return sample_value(next(a for a in args if a is not type(None)), name)
    if origin is typing.Literal:
        return args[0]
    if origin is tuple:
        return (sample_value(args[0], name),)
    if origin in (list,):
        return [sample_value(args[0], name)]
    if origin is dict:
        return {}
    if annotation is Money:
        return Money(amount=12_900, currency="CNY")
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sample_model(annotation)
    if annotation is bool:
        return True
    if annotation is int:
        return 1
    if annotation is datetime:
        return datetime(2026, 11, 11, 6, 0, tzinfo=UTC)
    if annotation is date:
        return date(2026, 11, 12)
    if annotation is str:
        return {"email": "li.wei@example.com", "phone": "+8613800138000"}.get(name, f"{name}-1")
    raise TypeError(f"no sample for {annotation!r} ({name})")


def sample_model(model: type[BaseModel]) -> Any:
    values = {
        name: sample_value(info.annotation, name) for name, info in model.model_fields.items()
    }
    return model(**values)


def sample_event(model: type[Event]) -> Event:
    event = sample_model(model)
    assert isinstance(event, Event)
    return event
