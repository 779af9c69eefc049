"""Webhook delivery over HTTP(S): one POST to an address checked against SSRF, no redirects, a bounded answer."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.journeys.domain.webhooks import check_url, is_public_address

MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_CHARS = 200
PRIVATE_ADDRESS = "private address"

_Address = tuple[int, int, int, Any]  # family, type, proto, sockaddr: what getaddrinfo gives, minus canonname


@dataclass(frozen=True)
class Response:
    """What the receiver answered, or why there was no answer."""

    status: int | None  # None: no HTTP answer (timeout, refused, DNS, TLS)
    error: str | None  # short reason, no secrets, no body echo beyond 200 chars


class HttpWebhooks:
    """Posts signed webhook bodies. Built once per container: the TLS context loads the CA bundle."""

    def __init__(self, timeout_seconds: float = 10.0, allow_private: bool = False) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """One POST, never follows redirects (a redirect is a refused 3xx), reads at most 64 KiB of the answer. Unless
        allow_private, refuses (Response(None, 'private address')) hosts that resolve to loopback/private/link-local/
        reserved addresses (SSRF guard: resolve with socket.getaddrinfo and check every address with ipaddress).

        timeout_seconds bounds the whole call after name resolution (connect, TLS, request, answer), so a receiver
        that trickles its answer cannot hold a journey step longer than a silent one."""
        reason = check_url(url, self.allow_private)
        if reason is not None:
            return Response(None, reason)
        parts = urlsplit(url)
        host = str(parts.hostname)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as error:
            return Response(None, _network_reason(error))
        addresses = [(family, kind, proto, sockaddr) for family, kind, proto, _, sockaddr in found]
        if not addresses:
            return Response(None, "dns: no address")
        if not self.allow_private and not all(is_public_address(str(sockaddr[0])) for *_, sockaddr in addresses):
            return Response(None, PRIVATE_ADDRESS)
        # The connection goes to the addresses just checked: resolving the name again would let a DNS answer that
        # changed in between (rebinding) reach an address that was never checked.
        deadline = _Deadline(self.timeout_seconds)
        connection: http.client.HTTPConnection
        if https:
            connection = _PinnedHTTPSConnection(host, port, addresses, deadline, self._tls)
        else:
            connection = _PinnedHTTPConnection(host, port, addresses, deadline)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _exchange(connection, target, body, headers, deadline)


def _exchange(
    connection: http.client.HTTPConnection, target: str, body: bytes, headers: Mapping[str, str], deadline: _Deadline
) -> Response:
    with deadline, contextlib.closing(connection):
        try:
            connection.request("POST", target, body=body, headers=dict(headers))
            answer = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            return Response(None, "timeout" if deadline.expired else _network_reason(error))
        if deadline.expired:
            # Headers cut short by the deadline end at the cut as if complete: a status read then is not an answer.
            return Response(None, "timeout")
        status = answer.status
        try:
            text = answer.read(MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException):
            text = b""  # the status is the receiver's verdict; an unreadable answer body does not change it
        return Response(status, _status_reason(status, text))


def _status_reason(status: int, text: bytes) -> str | None:
    if 200 <= status <= 299:
        return None
    if 300 <= status <= 399:
        return f"HTTP {status}: redirect not followed"
    # Printable characters only: the reason ends up in logs and the console, where an answer's control characters
    # could forge lines.
    excerpt = text[: MAX_ERROR_CHARS * 4].decode("utf-8", "replace")
    excerpt = "".join(ch if ch.isprintable() else " " for ch in excerpt)
    excerpt = " ".join(excerpt.split())[:MAX_ERROR_CHARS]
    return f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"


def _network_reason(error: BaseException) -> str:
    # Never str(error): some messages quote the request line or the URL, which may carry the receiver's token.
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, socket.gaierror | UnicodeError):
        return "dns: host not resolved"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"tls: {error.verify_message or 'certificate not verified'}"
    if isinstance(error, ssl.SSLError):
        return f"tls: {error.reason or 'handshake failed'}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.RemoteDisconnected):
        return "connection closed without an answer"
    if isinstance(error, ConnectionError):
        return "connection lost"
    if isinstance(error, http.client.HTTPException):
        return f"bad answer: {type(error).__name__}"
    return f"network: {getattr(error, 'strerror', None) or type(error).__name__}"


class _Deadline:
    """Ends a call at a fixed time. A socket timeout restarts with every byte received, so a receiver trickling its
    answer could hold a journey step for as long as it likes; shutting the sockets down at the deadline cannot."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                raise TimeoutError("timed out")
            self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    # The plain socket's shutdown, on the descriptor: SSLSocket's own would drop its TLS state under
                    # the reading thread.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect(addresses: Sequence[_Address], deadline: _Deadline) -> socket.socket:
    """The first of the addresses that accepts a TCP connection, in getaddrinfo's order (as create_connection)."""
    last: OSError = OSError("no address")
    for family, kind, proto, sockaddr in addresses:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("timed out")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(sockaddr)
            sock.settimeout(deadline.seconds)
            deadline.watch(sock)
        except OSError as error:
            sock.close()
            last = error
            continue
        return sock
    raise last


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, addresses: Sequence[_Address], deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=deadline.seconds)
        self._addresses = addresses
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, addresses: Sequence[_Address], deadline: _Deadline, tls: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=deadline.seconds, context=tls)
        self._addresses = addresses
        self._deadline = deadline
        self._tls = tls

    def connect(self) -> None:
        # Certificate and SNI are for the host name, whichever checked address the socket reached. The handshake
        # waits until the TLS socket is watched: wrapping detaches the plain one, which the deadline could not cut.
        sock = self._tls.wrap_socket(
            _connect(self._addresses, self._deadline), server_hostname=self.host, do_handshake_on_connect=False
        )
        self.sock = sock
        self._deadline.watch(sock)
        sock.do_handshake()
