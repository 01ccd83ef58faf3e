"""Headless Chromium for the browser tests and the screenshots, from Debian's packages.

`ensure_installed` finds `chromium` and `chromium-driver` (`chromedriver`) and the CJK
fonts, installing them with apt-get when missing and root, as deploy/local/postgres.py
does for PostgreSQL.
`driver` opens a selenium session on that driver: headless, a fresh profile, no network
access beyond what the page loads from this machine. `axe_script` is axe-core's
`axe.min.js` (the accessibility engine) from the npm registry's package, fetched once with
npm and kept under ~/.cache/fulfil/axe-core/<version>/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the fonts: without them Chinese pages render as boxes in the screenshots
PACKAGES = ("chromium", "chromium-driver", "fonts-noto-cjk")
CJK_FONTS = Path("/usr/share/fonts/opentype/noto")
AXE_VERSION = "4.10.3"
CACHE = Path(os.environ.get("FULFIL_CACHE", Path.home() / ".cache" / "fulfil"))


@dataclass(frozen=True)
class Chromium:
    binary: str
    driver: str


def find() -> Chromium | None:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    fonts = any(CJK_FONTS.glob("NotoSansCJK*"))
    return Chromium(binary, driver) if binary and driver and fonts else None


def ensure_installed() -> Chromium:
    found = find()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "Chromium and its driver not found: install the Debian packages "
            f"`{' '.join(PACKAGES)}` (for example `sudo apt-get install -y {' '.join(PACKAGES)}`)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", *PACKAGES], env=env, check=True)
    found = find()
    if found is None:
        raise RuntimeError(f"installed {PACKAGES} but still found no chromium and chromedriver")
    return found


def driver(width: int = 1280, height: int = 900, *, lang: str = "en") -> Any:
    """A headless Chromium session through selenium, the window `width` x `height`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = ensure_installed()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium.binary
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root on these machines; the profile is a throwaway
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--lang={lang}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    session = webdriver.Chrome(options=options, service=Service(executable_path=chromium.driver))
    session.set_window_size(width, height)
    return session


def axe_script(version: str = AXE_VERSION) -> str:
    """axe-core's axe.min.js, from the npm registry's `axe-core` package (cached)."""
    target = CACHE / "axe-core" / version / "axe.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed once to fetch axe-core (Debian package `npm`)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [npm, "pack", f"axe-core@{version}", "--silent", "--pack-destination", tmp],
                check=True,
                capture_output=True,
            )
            (tarball,) = Path(tmp).glob("axe-core-*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile("package/axe.min.js")
                assert member is not None
                partial = target.with_suffix(".part")
                partial.write_bytes(member.read())
                partial.replace(target)
    return target.read_text(encoding="utf-8")


def axe_violations(session: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """What axe-core finds on the page `session` shows, of the given impacts."""
    session.execute_script(axe_script())
    result = session.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    return [v for v in result if v.get("impact") in impacts]
