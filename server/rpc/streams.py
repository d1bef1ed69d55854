"""Reading a client stream (StreamVotes, ReplayVotes) with an idle timeout, and ending it on demand.

gRPC's request iterator blocks in next() until the client sends a message, half-closes or
cancels, with no timeout: a client that opens a stream and sends nothing holds a server thread
and a stream slot for as long as it likes, and an idle replay holds its board (live ingest into
it is refused until the replay ends). A StreamReader hands each next() to a helper thread and
waits for its answer on the handler thread, with a timeout. So the handler can give up with a
status that says why, sent by the handler itself: DEADLINE_EXCEEDED naming the idle timeout, or
UNAVAILABLE when the server shuts down (``interrupt``). Cancelling the call from a timer instead
would only ever show the client CANCELLED.

The helper reads one message only when the handler asks for one (no read-ahead), so flow control
is unchanged and only the time the handler spends waiting for the client counts as idle. A
handler that gives up leaves the helper blocked in next() until gRPC ends the call, which
happens when the handler's status is sent; then the helper ends too. The cost: one helper thread
per open client stream (at most --max-streams), and about 20 us a message for the hand-over,
where storing a 1000-vote batch takes about 1 ms.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from server.domain.errors import DeadlineExceeded, RatingsError

_MESSAGE, _END, _FAILED, _INTERRUPTED = "message", "end", "failed", "interrupted"


class StreamReader:
    """Iterates ``requests`` like the handler would, but each wait for a message ends after ``idle_timeout`` s
    (0: never) with DeadlineExceeded. ``close()`` when the handler is done with it."""

    def __init__(self, requests: Iterator, idle_timeout: float) -> None:
        self._requests = requests
        self._idle_timeout = idle_timeout
        self._wanted = threading.Semaphore(0)  # one release per message the handler asks for
        self._answers: queue.SimpleQueue = queue.SimpleQueue()  # (kind, value) from the helper or interrupt()
        self._helper: threading.Thread | None = None
        self._interrupted: RatingsError | None = None
        self._closed = False
        self._done = False

    def __iter__(self) -> StreamReader:
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        if self._interrupted is not None:
            self._done = True
            raise self._interrupted
        if self._helper is None:
            self._helper = threading.Thread(target=self._read, name="stream-reader", daemon=True)
            self._helper.start()
        self._wanted.release()
        try:
            kind, value = self._answers.get(timeout=self._idle_timeout if self._idle_timeout > 0 else None)
        except queue.Empty:
            self._done = True
            raise DeadlineExceeded(
                f"no message for {self._idle_timeout:g} s: the stream was idle past the server's limit "
                "(--stream-idle-timeout); open a new stream when you have something to send"
            ) from None
        if kind == _MESSAGE:
            return value
        self._done = True
        if kind == _END:
            raise StopIteration
        raise value  # the client cancelled (grpc.RpcError), or interrupt()'s error

    def interrupt(self, error: RatingsError) -> None:
        """End the stream with ``error`` at the handler's current or next wait for a message."""
        self._interrupted = error
        self._answers.put((_INTERRUPTED, error))

    def close(self) -> None:
        """The handler is done: let the helper go once gRPC ends the call."""
        self._closed = True
        self._wanted.release()

    def _read(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed:
                return
            try:
                answer = (_MESSAGE, next(self._requests))
            except StopIteration:
                answer = (_END, None)
            except Exception as exc:  # noqa: BLE001 - handed to the handler thread, raised there
                answer = (_FAILED, exc)
            self._answers.put(answer)
            if answer[0] != _MESSAGE:
                return
