"""The demo's live view hands over the order page's link whole, whatever the terminal's
width: a link wrapped inside the panel's borders no longer opens the page."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from rich.console import Console
from rich.text import Text

from deploy.demo import view

URL = "http://127.0.0.1:52075/orders/ord_437cad5e816b48109b6f1477?token=6c3e8n4cF8HpfWFVMoXmLqyi"


def test_the_panel_names_the_order_and_links_its_page() -> None:
    text = view._driver_text(["placed 3", f"{view.LINK}{URL}"])
    assert text.plain == "placed 3\nfollow an order: ord_437cad5e816b48109b6f1477"
    assert [str(span.style.link) for span in text.spans if span.style.link] == [URL]


async def test_the_link_is_printed_whole_above_a_narrow_view(monkeypatch: Any) -> None:
    stop = asyncio.Event()

    class Figures:  # the services' figures: the first read ends the run
        async def start(self) -> None:
            return None

        async def refresh(self) -> None:
            stop.set()

    monkeypatch.setattr(view, "render", lambda *_: Text("the funnel"))
    out = io.StringIO()
    console = Console(file=out, width=60, force_terminal=True, color_system=None)
    lines = ["placed 3", f"{view.LINK}{URL}"]
    await view.run_view(Figures(), lambda: lines, stop, console, interactive=True)  # type: ignore[arg-type]
    assert f"{view.LINK}{URL}" in out.getvalue(), "whole, not wrapped by the view"
    assert out.getvalue().count(URL) == 1, "once, not at every redraw"
