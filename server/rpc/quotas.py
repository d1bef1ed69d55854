"""Per-caller vote rates and the number of open streams.

Vote rate: a token bucket per caller (the token's name; "anonymous" without
tokens) holding up to ``burst`` votes and refilled at ``rate`` votes/s. A
batch takes all its votes or none; when the bucket cannot pay, the call is
refused with RESOURCE_EXHAUSTED and told how long until it could be
(``retry-after-ms`` trailing metadata, and in the message). A batch larger
than the burst could never pass and is refused as such.

Streams: StreamVotes, ReplayVotes and WatchLeaderboard each hold a server
thread while open; past ``max_streams`` open at once, new ones are refused,
and so are a caller's past its own share (``streams_per_caller``), so that one
client cannot take every slot. The caller is the token's name; without tokens,
the connection (the peer's address and port: every client shares 127.0.0.1 on
loopback, while one connection is one client process, whose channels to a
server share it). Client streams idle past ``stream_idle_timeout`` are ended
(server/streams.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from server.domain.errors import ResourceExhausted


@dataclass(frozen=True)
class Quotas:
    vote_rate: float = 0.0  # votes/s per caller; 0: unlimited
    vote_burst: int = 0  # bucket size; 0: one second's worth (at least the batch limit)
    max_streams: int = 100  # open streaming calls, all callers together (below the 128 worker threads)
    max_streams_per_caller: int = 0  # open streaming calls of one caller; 0: a quarter of max_streams (at least 1)
    stream_idle_timeout: float = 60.0  # seconds a client stream may wait for its next message; 0: no limit

    @property
    def streams_per_caller(self) -> int:
        return self.max_streams_per_caller or max(1, self.max_streams // 4)


class VoteBuckets:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._level: dict[str, tuple[float, float]] = {}  # caller -> (votes available, at monotonic time)

    def take(self, caller: str, votes: int, now: float | None = None) -> None:
        """Spend ``votes`` of the caller's allowance or raise ResourceExhausted."""
        if self.rate <= 0 or votes <= 0:
            return
        if votes > self.burst:
            burst = f"the burst of {self.burst:.0f} votes for {caller!r}"
            raise ResourceExhausted(f"a batch of {votes} votes exceeds {burst}; send smaller batches")
        now = time.monotonic() if now is None else now
        with self._lock:
            level, then = self._level.get(caller, (self.burst, now))
            level = min(self.burst, level + (now - then) * self.rate)
            if level < votes:
                wait = (votes - level) / self.rate
                self._level[caller] = (level, now)
                raise ResourceExhausted(
                    f"vote rate limit of {self.rate:g} votes/s for {caller!r} exceeded; retry after {wait:.2f} s",
                    retry_after=wait,
                )
            self._level[caller] = (level - votes, now)


class StreamSlots:
    def __init__(self, limit: int, per_caller: int) -> None:
        self.limit = limit
        self.per_caller = per_caller
        self._lock = threading.Lock()
        self.open = 0
        self._held: dict[str, int] = {}  # caller -> streams open

    def acquire(self, caller: str) -> None:
        """Take a slot for ``caller`` or raise ResourceExhausted."""
        with self._lock:
            held = self._held.get(caller, 0)
            if held >= self.per_caller:  # first: a caller at its own limit should close one, not wait for others
                raise ResourceExhausted(
                    f"{caller!r} has {held} streams open, the limit per caller (--max-streams-per-caller); "
                    "close one first",
                    1.0,
                )
            if self.open >= self.limit:
                raise ResourceExhausted(f"{self.limit} streams are open, the server's limit; retry later", 1.0)
            self.open += 1
            self._held[caller] = held + 1

    def release(self, caller: str) -> None:
        with self._lock:
            self.open -= 1
            held = self._held.pop(caller) - 1
            if held:
                self._held[caller] = held
