"""A real browser for the tests: headless Chromium from Debian's packages (installed when
missing, deploy/local/browser.py), driven through selenium, with axe-core to check pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deploy.local import browser as chromium

PHONE = (390, 844)
DESKTOP = (1280, 900)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One selenium session on headless Chromium at a phone's width, for a module's tests."""
    session = chromium.driver(*PHONE)
    try:
        yield session
    finally:
        session.quit()


def no_serious_violations(session: Any) -> None:
    """Fails naming each serious or critical accessibility problem on the current page."""
    found = chromium.axe_violations(session)
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        f"{[n.get('target') for n in v.get('nodes', [])][:3]}"
        for v in found
    ]
    assert not described, f"{session.current_url}: " + "; ".join(described)


def wait_for(session: Any, condition: Callable[[Any], Any], timeout: float = 30.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(session, timeout, poll_frequency=0.2).until(condition)


def submit(session: Any, button: Any, timeout: float = 30.0) -> None:
    """Clicks a form's button and returns once the page it posted to has replaced this one,
    so what is read next (a notice, the status) is the new page's and never the old one's."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = session.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(session, timeout, poll_frequency=0.1).until(lambda _: _left(page))
    WebDriverWait(session, timeout, poll_frequency=0.1).until(
        lambda s: s.execute_script("return document.readyState") == "complete"
    )


def _left(page: Any) -> bool:
    """Whether the browser has left the page `page` (its `<html>`) belonged to. Chromium
    says so by calling the element stale, or, caught mid-navigation, by an inspector error
    that the node no longer belongs to the document."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        page.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc) or "No node with given id" in str(exc):
            return True
        raise
    return False
