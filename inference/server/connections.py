"""Slow and idle clients: the body timeout, the connection cap and quiet accept errors.

- **Body timeout** (`body_timeout_middleware`, every route): a request's body must have arrived
  `ServiceConfig.body_timeout_s` after its headers, else 408 and the connection is closed (no
  lingering read of the rest). /v1/suggest pauses the timer while the request waits for its turn
  (admission), when the server itself is not reading.
- **Idle timeout**: aiohttp's keep-alive timer (`keepalive_timeout_s`) closes a connection that
  sends no request, from its opening (a client trickling its headers never completes one) and
  between requests.
- **Connection cap** (`CappedTCPSite`): at most `max_connections` open connections, below the
  file-descriptor limit (minus the files open at start and a reserve), so accept() does not fail.
  Connections are accepted one at a time (`_Listener`; asyncio's own loop accepts up to `backlog`
  per wake-up whatever the descriptors left, then logs a traceback per failed attempt and retries
  in a storm: the audit's 43,286 tracebacks). At the cap a new connection first takes the place of
  the oldest idle one (no request in progress: keep-alive, or still sending its headers), so idle
  sockets cannot lock clients out; when every connection is busy the newcomer gets a 503 with
  Retry-After and is closed, without a traceback.
Log floods (a failed accept, an unhandled error logged per connection): inference/server/log_floods.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from aiohttp import web

from inference.errors import ServiceError
from inference.limits import FD_RESERVE
from inference.server.appkeys import CONFIG
from inference.server.errors import error_response

log = logging.getLogger(__name__)


class RequestTimeout(ServiceError):
    status = 408
    code = "request_timeout"


class BodyDeadline:
    """Fails the request's body stream with RequestTimeout when the body is still incomplete after
    `timeout_s` of armed time; `pause()` while the server is not reading (admission waits)."""

    def __init__(self, request: web.BaseRequest, timeout_s: float | None):
        self.request, self.timeout_s = request, timeout_s
        self.fired = False
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        self.pause()
        if self.timeout_s and self.request.body_exists and not self.request.content.is_eof():
            self._handle = asyncio.get_running_loop().call_later(self.timeout_s, self._fire)

    def pause(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def waiting(self, waiting: bool) -> None:
        """For `KeyedSlots.hold`: paused while waiting, re-armed (a full timeout) once the turn comes."""
        self.pause() if waiting else self.arm()

    def _fire(self) -> None:
        self._handle = None
        content = self.request.content
        if content.is_eof():
            return
        self.fired = True
        content.set_exception(RequestTimeout(
            f"the request body did not arrive within {self.timeout_s:g} s ({content.total_bytes:,} bytes received); "
            "the connection is closed"))


BODY_DEADLINE: web.RequestKey[BodyDeadline] = web.RequestKey("body_deadline", BodyDeadline)


@web.middleware
async def body_timeout_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Inside the error middleware: a timed-out body gets its 408 written here and the connection
    closed at once (aiohttp would otherwise linger reading the trickle)."""
    config = request.app.get(CONFIG)
    deadline = BodyDeadline(request, getattr(config, "body_timeout_s", None))
    request[BODY_DEADLINE] = deadline
    tracker = request.app.get(CONNECTIONS)
    protocol = request.protocol
    if tracker is not None:
        tracker.busy[protocol] = tracker.busy.get(protocol, 0) + 1
    deadline.arm()
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            if not deadline.fired:
                raise
            timeout = exc if isinstance(exc, RequestTimeout) else RequestTimeout(str(request.content.exception() or exc))
            return await _timed_out(request, timeout)
        if deadline.fired:  # a handler turned the failed read into another answer: still a timeout
            return await _timed_out(request, RequestTimeout("the request body did not arrive in time"))
        return response
    finally:
        deadline.pause()
        if tracker is not None:
            left = tracker.busy.get(protocol, 1) - 1
            if left > 0:
                tracker.busy[protocol] = left
            else:
                tracker.busy.pop(protocol, None)


async def _timed_out(request: web.Request, exc: RequestTimeout) -> web.StreamResponse:
    tracker = request.app.get(CONNECTIONS)
    if tracker is not None:
        tracker.count("timeouts")
    response = error_response(exc.status, exc.code, exc.message)
    response.force_close()
    try:
        await response.prepare(request)
        await response.write_eof()
    except (ConnectionError, RuntimeError):  # the client is gone already
        pass
    request.protocol.force_close()  # flushes the 408, then closes: no lingering read of the trickle
    return response


# -- the connection cap ------------------------------------------------------------------------------
class ConnectionTracker:
    """Per app: which connections have a request in progress, and counters for /metrics."""

    def __init__(self, metrics: Any = None) -> None:
        self.busy: dict[Any, int] = {}  # RequestHandler -> requests in progress
        self.opened_at: dict[Any, float] = {}
        self.refused = 0
        self.evicted = 0
        self.timeouts = 0
        self.max_connections: int | None = None
        self.server: web.Server | None = None
        self.factory: Any = None  # the CappedTCPSite's, once started
        self.metrics = metrics  # ServiceMetrics: counters mirrored to /metrics
        if metrics is not None:
            metrics.connections_open.set_function(lambda: self.open)

    @property
    def open(self) -> int:
        if self.factory is not None:
            return self.factory.open
        return len(self.server.connections) if self.server is not None else 0

    def count(self, what: str) -> None:
        """what: "refused", "evicted" or "timeouts"."""
        setattr(self, what, getattr(self, what) + 1)
        if self.metrics is not None:
            {"refused": self.metrics.connections_refused, "evicted": self.metrics.connections_evicted,
             "timeouts": self.metrics.request_timeouts}[what].inc()


CONNECTIONS: web.AppKey[ConnectionTracker] = web.AppKey("connections", ConnectionTracker)

_REFUSAL_BODY = b'{"error": {"code": "overloaded", "message": "too many open connections; retry shortly"}}'
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)


class _Refusal(asyncio.Protocol):
    """Answers 503 at once and half-closes; reads and drops what the client sends for at most
    LINGER_S (closing with its request unread would reset the connection before the client reads
    the 503), at most MAX_LINGERING such sockets at once (beyond: closed at once)."""

    LINGER_S = 0.1
    MAX_LINGERING = 32
    lingering = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self._timer = transport, None
        try:
            transport.write(_REFUSAL)
            if transport.can_write_eof():
                transport.write_eof()
        except (OSError, RuntimeError):
            transport.abort()
            return
        if _Refusal.lingering >= self.MAX_LINGERING:
            transport.close()
            return
        _Refusal.lingering += 1
        self._timer = asyncio.get_running_loop().call_later(self.LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        self.transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            _Refusal.lingering -= 1


try:
    import resource
except ImportError:  # Windows: no descriptor limit to read
    resource = None

_UNLIMITED = 1 << 20


def fd_limit() -> int:
    if resource is None:
        return _UNLIMITED
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return _UNLIMITED if soft == resource.RLIM_INFINITY else soft


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return FD_RESERVE


def connection_cap(requested: int | None) -> int:
    """The cap: `requested`, never more than the fd limit minus the fds open now, FD_RESERVE, the
    refused sockets still lingering and the accept headroom."""
    soft = fd_limit()
    room = soft - _open_fds() - FD_RESERVE - _Refusal.MAX_LINGERING - ACCEPT_HEADROOM
    room = max(8, room)
    if requested is None:
        return room
    if requested > room:
        log.warning("--max-connections %d is above what the file-descriptor limit (%d) leaves: capped at %d", requested, soft, room)
    return max(1, min(requested, room))


class _CappedFactory:
    """The protocol factory of a CappedTCPSite. Counts sockets from their creation (aiohttp's own
    list only has them once their transport is up, and keeps them until their handler task ends)
    to the manager's connection_lost, so a burst of accepts cannot overshoot the cap."""

    def __init__(self, server: web.Server, tracker: ConnectionTracker, cap: int):
        self.server, self.tracker, self.cap = server, tracker, cap
        self.live: dict[Any, float] = {}  # handler -> created at
        self.closing: set = set()  # handlers closed to make room, until their connection is lost
        lost = server.connection_lost

        def connection_lost(handler, exc=None):
            self.live.pop(handler, None)
            self.closing.discard(handler)
            lost(handler, exc)

        server.connection_lost = connection_lost  # an instance attribute: the handlers call it through their manager

    @property
    def open(self) -> int:
        return len(self.live) - len(self.closing)

    def __call__(self) -> asyncio.BaseProtocol:
        if self.open >= self.cap and not self._make_room():
            self.tracker.count("refused")
            if self.tracker.refused in (1, 10, 100) or self.tracker.refused % 1000 == 0:
                log.warning("%d open connections, all busy: new ones are answered 503 (%d so far)", self.open, self.tracker.refused)
            return _Refusal()
        handler = self.server()
        self.live[handler] = time.monotonic()
        return handler

    def _make_room(self) -> bool:
        """Close the oldest connection with no request in progress; True if one was."""
        now = time.monotonic()
        busy, closing = self.tracker.busy, self.closing
        for handler, created in list(self.live.items()):  # oldest first
            if handler in busy or handler in closing:
                continue
            if handler.transport is None:  # never connected, or lost without a word: forget it
                if now - created > 5.0:
                    self.live.pop(handler, None)
                continue
            handler.force_close()  # what aiohttp's own keep-alive timeout does
            closing.add(handler)
            self.tracker.count("evicted")
            return True
        return False


class _Listener:
    """Accepts one connection at a time on its listening sockets (asyncio's own loop accepts up to
    `backlog` at once per wake-up, whatever the file descriptors left, then logs a traceback per
    failed accept). While the sockets held reach the cap plus the refusals' headroom it stops
    accepting for a moment: new clients wait in the kernel's queue. An accept error (a file
    descriptor limit reached by other files) is logged and retried after a pause."""

    def __init__(self, sockets: list[socket.socket], factory: "_CappedFactory"):
        self.sockets, self.factory = sockets, factory
        self._tasks = [asyncio.get_running_loop().create_task(self._accept_forever(s)) for s in sockets]

    async def _accept_forever(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        factory = self.factory
        while True:
            if len(factory.live) + _Refusal.lingering >= factory.cap + _Refusal.MAX_LINGERING + ACCEPT_HEADROOM:
                await asyncio.sleep(0.01)  # closes in progress: let them finish before taking more sockets
                continue
            try:
                conn, _ = await loop.sock_accept(sock)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as exc:  # EMFILE, ENFILE, ENOBUFS, ENOMEM: logged (rate-limited), retried
                log.error("accepting a connection failed (%s): retrying in 0.1 s", exc.strerror or exc)
                await asyncio.sleep(0.1)
                continue
            try:
                await loop.connect_accepted_socket(factory, conn)
            except Exception as exc:  # the client left already, or the socket is unusable
                log.debug("dropped an accepted connection: %s", exc)
                conn.close()

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for sock in self.sockets:
            sock.close()


ACCEPT_HEADROOM = 16  # sockets accepted beyond the cap while the ones closed to make room finish closing


def _listening_sockets(host: str | None, port: int, backlog: int, reuse_port: bool | None) -> list[socket.socket]:
    infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    sockets, seen = [], set()
    for family, kind, proto, _, address in infos:
        if (family, address) in seen:
            continue
        seen.add((family, address))
        sock = socket.socket(family, kind, proto)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            for other in sockets:
                other.close()
            raise
        sockets.append(sock)
    return sockets


class CappedTCPSite(web.TCPSite):
    """A TCPSite whose connections are capped (`connection_cap`), accepted by a `_Listener`."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, max_connections: int | None = None, **kwargs):
        super().__init__(runner, host, port, **kwargs)
        self.requested_max = max_connections

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        tracker = self._runner.app.get(CONNECTIONS)
        if tracker is None:  # an app built without create_app's tracker
            tracker = ConnectionTracker()
        tracker.server = server
        tracker.max_connections = connection_cap(self.requested_max)
        factory = _CappedFactory(server, tracker, tracker.max_connections)
        tracker.factory = factory
        sockets = _listening_sockets(self._host, self._port, self._backlog, self._reuse_port)
        self._server = _Listener(sockets, factory)
        self._bound_port = sockets[0].getsockname()[1]
        log.info("at most %d open connections (file-descriptor limit %d)", tracker.max_connections, fd_limit())
