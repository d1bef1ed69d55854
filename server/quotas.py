"""Per-caller vote rates and the number of open streams.

Vote rate: a token bucket per caller (the token's name; "anonymous" without
tokens) holding up to ``burst`` votes and refilled at ``rate`` votes/s. A
batch takes all its votes or none; when the bucket cannot pay, the call is
refused with RESOURCE_EXHAUSTED and told how long until it could be
(``retry-after-ms`` trailing metadata, and in the message). A batch larger
than the burst could never pass and is refused as such.

Streams: StreamVotes, ReplayVotes and WatchLeaderboard each hold a server
thread while open; past ``max_streams`` open at once, new ones are refused.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from server.errors import ResourceExhausted


@dataclass(frozen=True)
class Quotas:
    vote_rate: float = 0.0  # votes/s per caller; 0: unlimited
    vote_burst: int = 0  # bucket size; 0: one second's worth (at least the batch limit)
    max_streams: int = 100  # open streaming calls, all callers together (below the 128 worker threads)


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
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.open = 0

    def acquire(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open -= 1
