"""`python -m web.screenshots [--out docs/screenshots]`: the order page and the operations
console at a phone's width (390x844) and a desktop's (1280x900), in headless Chromium, from
the sample orders (web/samples.py) and panels (web/console/samples.py), so the pictures are
the same on every machine and need no running system.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import uvicorn

from deploy.local import browser
from deploy.local.ports import free_port
from web.app import create_app
from web.console.samples import ConsoleSamples
from web.samples import TOKEN, SampleServices
from web.settings import WebSettings

SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
SHOTS = {
    "order-shipped": ("ord_sample_shipped", "zh-CN"),
    "order-unpaid": ("ord_sample_unpaid", "en"),
    "order-delivered": ("ord_sample_delivered", "zh-TW"),
}


CONSOLE_SHOTS = {"console": "/console", "console-dead-letters": "/console/dead-letters/payment"}


def serve(port: int, console: bool = False) -> uvicorn.Server:
    settings = WebSettings(http_port=port)
    services = ConsoleSamples(settings) if console else SampleServices(settings)
    app = create_app(settings, services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the sample pages did not start")
        time.sleep(0.05)
    return server


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = serve(port)
    made = []
    try:
        for size, (width, height) in SIZES.items():
            session = browser.driver(width, height)
            try:
                for name, (order_id, lang) in SHOTS.items():
                    session.get(
                        f"http://127.0.0.1:{port}/orders/{order_id}?token={TOKEN}&lang={lang}"
                    )
                    path = out / f"{name}-{size}.png"
                    full = session.execute_script("return document.documentElement.scrollHeight")
                    session.set_window_size(width, max(height, int(full)))
                    session.save_screenshot(str(path))
                    session.set_window_size(width, height)
                    made.append(path)
            finally:
                session.quit()
    finally:
        server.should_exit = True
    return made + console_shots(out)


def console_shots(out: Path) -> list[Path]:
    """The console, signed in, on its sample panels."""
    port = free_port()
    server = serve(port, console=True)
    made = []
    try:
        for size, (width, height) in SIZES.items():
            session = browser.driver(width, height)
            try:
                session.get(f"http://127.0.0.1:{port}/console/login")
                session.find_element("id", "actor").send_keys("ana")
                session.find_element("id", "key").send_keys(
                    WebSettings().ops_api_key.get_secret_value()
                )
                session.find_element("css selector", "form button[type=submit]").click()
                for name, path in CONSOLE_SHOTS.items():
                    session.get(f"http://127.0.0.1:{port}{path}")
                    shot = out / f"{name}-{size}.png"
                    full = session.execute_script("return document.documentElement.scrollHeight")
                    session.set_window_size(width, max(height, int(full)))
                    session.save_screenshot(str(shot))
                    session.set_window_size(width, height)
                    made.append(shot)
            finally:
                session.quit()
    finally:
        server.should_exit = True
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    for path in take(args.out):
        print(path)


if __name__ == "__main__":
    main()
