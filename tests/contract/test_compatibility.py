"""The compatibility check, on the repository's schemas and on synthetic before/after pairs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.compatibility import check, check_repository, compare
from shared.contracts.schemas import open_for_readers


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


def schema(model: type[BaseModel], *, minor: int = 0, topic: str = "orders.v1") -> dict[str, Any]:
    """A published schema as the generator writes one, for a model outside the registry."""
    generated = open_for_readers(model.model_json_schema(mode="serialization"))
    return {"x-fulfil": {"topic": topic, "minor": minor}, **generated}


class Line(Value):
    sku: str
    quantity: int = Field(ge=1)


class Before(Value):
    order_id: str
    lines: tuple[Line, ...]
    note: str | None = None
    reason: Literal["customer_request", "stock_shortage"]


def problems(after: type[BaseModel], *, minor: int = 1, **kw: Any) -> list[str]:
    return [str(p) for p in compare("Sample.v1", schema(Before), schema(after, minor=minor, **kw))]


def test_the_repository_schemas_are_compatible_with_the_released_ones() -> None:
    found = [str(p) for p in check_repository()]
    assert not found, "\n".join(found)


def test_the_same_schema_is_compatible() -> None:
    assert problems(Before, minor=0) == []


def test_an_optional_field_added_with_a_raised_minor_is_accepted() -> None:
    class LineWithColour(Line):
        colour: str | None = None

    class After(Before):
        gift_wrap: bool = False
        lines: tuple[LineWithColour, ...]

    assert problems(After, minor=1) == []


def test_an_added_field_without_a_raised_minor_names_the_field() -> None:
    class After(Before):
        gift_wrap: bool = False

    [problem] = problems(After, minor=0)
    assert "'gift_wrap'" in problem and "MINOR" in problem


def test_a_removed_field_is_named() -> None:
    class After(Value):
        order_id: str
        lines: tuple[Line, ...]
        reason: Literal["customer_request", "stock_shortage"]

    assert problems(After) == [
        "Sample.v1: field 'note' removed (a removed field is a new schema version)"
    ]


def test_a_retyped_field_is_named_at_any_depth() -> None:
    class TextQuantity(Value):
        sku: str
        quantity: str

    class After(Before):
        lines: tuple[TextQuantity, ...]
        order_id: int  # type: ignore[assignment]

    found = problems(After)
    assert len(found) == 2, found
    assert any("field 'order_id' retyped: string -> integer" in p for p in found)
    assert any(
        "field 'lines[].quantity' retyped: integer (minimum=1) -> string" in p for p in found
    )


def test_a_tighter_bound_or_a_widened_union_is_a_retype() -> None:
    class Tighter(Line):
        quantity: int = Field(ge=2)

    class After(Before):
        lines: tuple[Tighter, ...]
        note: str | int | None = None  # type: ignore[assignment]

    found = problems(After)
    assert any("'lines[].quantity' retyped" in p for p in found), found
    assert any("'note' retyped" in p for p in found), found


def test_an_allowed_value_added_is_a_retype_old_readers_would_reject() -> None:
    class After(Before):
        reason: Literal["customer_request", "stock_shortage", "fraud"]  # type: ignore[assignment]

    [problem] = problems(After)
    assert "field 'reason' retyped" in problem and "fraud" in problem


def test_an_optional_field_made_required_is_named() -> None:
    class After(Before):
        note: str | None  # type: ignore[assignment]

    assert problems(After) == ["Sample.v1: field 'note' made required (it was optional)"]


def test_a_new_required_field_is_named() -> None:
    class After(Before):
        channel: str

    [problem] = problems(After)
    assert "field 'channel' added as required" in problem


def test_moving_an_event_to_another_topic_is_named() -> None:
    [problem] = problems(Before, minor=0, topic="payments.v1")
    assert "moved from topic orders.v1 to payments.v1" in problem


def test_a_type_renamed_without_a_new_version_is_named() -> None:
    released = {"StockShortage.v1": schema(Before)}
    current = {"StockRanShort.v1": schema(Before)}
    [problem] = [str(p) for p in check(released, current)]
    assert problem.startswith("StockShortage.v1:")
    assert "renamed to StockRanShort.v1 without a new version" in problem


def test_a_type_renamed_with_a_new_version_and_the_old_name_retired_is_accepted() -> None:
    released = {"StockShortage.v1": schema(Before)}
    current = {"StockShortage.v1": schema(Before), "StockRanShort.v2": schema(Before)}
    assert check(released, current) == []


def test_a_released_type_that_disappeared_is_named() -> None:
    [problem] = [str(p) for p in check({"OrderVanished.v1": schema(Before)}, {})]
    assert problem.startswith("OrderVanished.v1:") and "removed" in problem
