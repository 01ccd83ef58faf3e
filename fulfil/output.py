"""Printing a result: a rich table for people, JSON (`--json`) for scripts, both masked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fulfil.masking import mask

console = Console(highlight=False, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def emit_json(value: Any) -> None:
    console.out(json.dumps(mask(value), default=_default, sort_keys=True), highlight=False)


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    styles: Sequence[str | None] = (),
) -> None:
    """A table of `rows`, each cell masked and shown as plain text; `styles[i]` (rich's,
    e.g. "bold red") highlights row i."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for i, row in enumerate(rows):
        cells = (Text("" if cell is None else str(mask(cell))) for cell in row)
        out.add_row(*cells, style=styles[i] if i < len(styles) else None)
    console.print(out)
