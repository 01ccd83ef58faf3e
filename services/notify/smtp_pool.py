"""A small pool of open, logged-in SMTP sessions to one relay, reused message after message.

Opening a session costs a TCP connect, the greeting, EHLO (and AUTH where the relay wants
it): more round trips, and more CPU on both sides, than the message itself. So a sender
keeps up to `size` sessions and sends one message at a time on each:

- a session idle longer than `idle_seconds` is closed (QUIT), before relays drop it;
- a session found closed is discarded; one that fails before the message content went
  out (the relay dropped it while it waited) is replaced once by a new session and the
  message is sent there; one that fails while the content is on its way is not retried
  here, since the relay may have taken it: the sender retries later, and the unchanged
  Message-ID lets the receiving side recognise it;
- `aclose` ends every session at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import aiosmtplib
from prometheus_client import Counter

from shared.logging import get_logger

log = get_logger(__name__)
SESSIONS = Counter("fulfil_notify_smtp_sessions_opened_total", "SMTP sessions opened to the relay")
_QUIT_SECONDS = 2.0


class NotSent(Exception):
    """The session failed before the message content went out: nothing was delivered."""


Transaction = Callable[[aiosmtplib.SMTP], Awaitable[None]]


class SmtpPool:
    def __init__(
        self,
        open_session: Callable[[], Awaitable[aiosmtplib.SMTP]],
        *,
        size: int,
        idle_seconds: float,
    ) -> None:
        self._open_session = open_session
        self.size = size
        self.idle_seconds = idle_seconds
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # most recently used last
        self._reaper: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self.opened = 0

    async def run(self, transaction: Transaction) -> None:
        """Runs `transaction` (one message) on a pooled session; on a reused session that
        turns out dead before the message went out, once more on a new one."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            smtp, reused = await self._take()
            try:
                await self._attempt(smtp, transaction)
            except NotSent as stale:
                if not reused:
                    raise stale.__cause__ or stale from None
                log.debug("pooled SMTP session was dropped; sending on a new one")
                smtp = await self._open()
                try:
                    await self._attempt(smtp, transaction)
                except NotSent as again:
                    raise again.__cause__ or again from None

    async def _attempt(self, smtp: aiosmtplib.SMTP, transaction: Transaction) -> None:
        try:
            await transaction(smtp)
        except aiosmtplib.SMTPResponseException:
            # the relay answered: the session is in step (the transaction reset it)
            if smtp.is_connected:
                self._give_back(smtp)
            else:
                self._discard(smtp)
            raise
        except BaseException:
            self._discard(smtp)
            raise
        self._give_back(smtp)

    async def _take(self) -> tuple[aiosmtplib.SMTP, bool]:
        now = time.monotonic()
        while self._idle:
            smtp, since = self._idle.pop()
            if smtp.is_connected and now - since < self.idle_seconds:
                return smtp, True
            self._discard(smtp)
        return await self._open(), False

    async def _open(self) -> aiosmtplib.SMTP:
        smtp = await self._open_session()
        self.opened += 1
        SESSIONS.inc()
        return smtp

    def _give_back(self, smtp: aiosmtplib.SMTP) -> None:
        if self._closed:
            self._discard(smtp)
            return
        self._idle.append((smtp, time.monotonic()))
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(self.idle_seconds, self._reap)

    def _reap(self) -> None:
        """Closes the sessions idle for `idle_seconds`; comes back for the others."""
        self._reaper = None
        now = time.monotonic()
        keep = []
        for smtp, since in self._idle:
            if now - since >= self.idle_seconds or not smtp.is_connected:
                self._discard(smtp)
            else:
                keep.append((smtp, since))
        self._idle = keep
        if keep:
            wait = keep[0][1] + self.idle_seconds - now
            self._reaper = asyncio.get_running_loop().call_later(max(wait, 0.01), self._reap)

    def _discard(self, smtp: aiosmtplib.SMTP) -> None:
        if not smtp.is_connected:
            smtp.close()
            return
        task = asyncio.ensure_future(_quit(smtp))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Ends every session (those in use end when their message is done)."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        for smtp, _ in idle:
            self._discard(smtp)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await asyncio.wait_for(smtp.quit(), _QUIT_SECONDS)
    except Exception:  # the session is going away either way
        smtp.close()
    finally:
        with contextlib.suppress(Exception):
            smtp.close()
