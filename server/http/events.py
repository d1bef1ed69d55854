"""WatchLeaderboard as Server-Sent Events.

Each event is ``event: leaderboard`` with the published feed as its data, sent when the watched ranks
change (the watch publisher's rule and budget, server/service/watch.py); a refusal or the end of the
watch (the server shutting down, the view gone) is a last ``event: error`` with ``{"error": {...}}``.

The watch runs where gRPC runs it, on a thread of its own that blocks until the next change. Its
messages reach the event loop through a queue; a comment line every ``keepalive`` seconds keeps
proxies from closing a quiet stream and finds out when the visitor has gone (the send fails), which
ends the watch's thread and frees its stream slot. A visitor who reads slowly is sent the latest
state, never a backlog. Threads are bounded by the stream slots
(``serve --max-streams``), shared with gRPC's streams.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

from server.domain.errors import status_of
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

from .calls import Watch

_END = object()


async def event_stream(
    watch: Watch, to_json: Callable[[pb.Leaderboard], dict], keepalive: float, gone: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """The events of an admitted watch; ``gone()`` is awaited after each quiet ``keepalive`` and tells
    whether the visitor disconnected."""
    latest = _Latest(asyncio.get_running_loop())

    def pump() -> None:
        try:
            for message in watch.rest:
                latest.put(message)
        except Exception as exc:  # noqa: BLE001 - told to the visitor as the last event
            latest.put(exc)
        else:
            latest.put(_END)

    thread = threading.Thread(target=pump, name="sse-watch", daemon=True)
    try:
        yield _event("leaderboard", to_json(watch.first))
        thread.start()
        while True:
            item = await latest.take(keepalive)
            if item is None:
                if await gone():
                    return
                yield ": keepalive\n\n"
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                status = status_of(item, "WatchLeaderboard")
                yield _event("error", {"error": {"code": status.code, "message": status.message}})
                return
            if isinstance(item, pb.Leaderboard):
                yield _event("leaderboard", to_json(item))
    finally:
        watch.close()


class _Latest:
    """The newest message from the watch's thread, for the event loop. A visitor who reads slowly gets the
    latest state, not a backlog (the watch coalesces changes the same way), and the thread never waits on
    the loop: once the visitor has gone nobody reads, and it must still finish."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._item: object = None
        self._ready = asyncio.Event()

    def put(self, item: object) -> None:
        with self._lock:
            if self._item is _END or isinstance(self._item, Exception):
                return  # the end is final
            self._item = item
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop has closed (the server stopped): nobody is reading
            pass

    async def take(self, timeout: float) -> object:
        """The newest item, or None after ``timeout`` seconds without one."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        with self._lock:
            item, self._item = self._item, None
            if item is _END or isinstance(item, Exception):
                self._item = item  # stays final
        return item


def _event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
