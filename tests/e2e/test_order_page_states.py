"""Every state of the order page in a real browser, at a phone's width and a desktop's,
from the sample orders (web/samples.py): readable without scrolling sideways, and no
serious or critical accessibility problem (axe-core)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deploy.local import browser as chromium
from tests.support.browser import DESKTOP, PHONE, no_serious_violations
from web.samples import ORDERS, TOKEN
from web.screenshots import serve


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    from deploy.local.ports import free_port

    port = free_port()
    server = serve(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_each_state_reads_well_and_passes_axe(pages: str, size: tuple[int, int]) -> None:
    session: Any = chromium.driver(*size)
    try:
        for order_id in ORDERS:
            for lang in ("zh-CN", "zh-TW", "en"):
                session.get(f"{pages}/orders/{order_id}?token={TOKEN}&lang={lang}")
                assert session.find_element("tag name", "html").get_attribute("lang") == lang
                wide = session.execute_script(
                    "return document.documentElement.scrollWidth > window.innerWidth"
                )
                assert not wide, f"{order_id} ({lang}) scrolls sideways at {size}"
                no_serious_violations(session)
        session.get(f"{pages}/orders/ord_sample_shipped?token=wrong")
        no_serious_violations(session)
    finally:
        session.quit()
