"""Journey webhooks over real sockets: a local receiver gets the signed POST; redirects, timeouts, SSRF guard, TLS."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.journeys.adapters.webhook_http import HttpWebhooks, Response
from services.journeys.domain.webhooks import ID_HEADER, classify, payload, signed_headers, verify

SECRET = b"whsec_crm_hand_off"


@dataclass
class Answer:
    """What the receiver does with one request: its status, headers and body, after an optional wait; `trickle`
    sends the headers one byte every `trickle` seconds."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wait: float = 0.0
    trickle: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(http.server.ThreadingHTTPServer):
    """A CRM's webhook endpoint: records every request and answers from a script (204 once the script is spent)."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Answer] = []
        self.received: list[Received] = []
        self.connections = 0
        self.closing = threading.Event()  # ends waiting answers when the test is over
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/hooks/lead", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def get_request(self) -> tuple[socket.socket, object]:
        self.connections += 1
        return super().get_request()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client giving up mid-answer is what some tests do


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(Received(self.path, dict(self.headers.items()), body))
        answer = self.server.script.pop(0) if self.server.script else Answer()
        if answer.wait:
            self.server.closing.wait(answer.wait)
        if answer.trickle:
            self.wfile.write(f"HTTP/1.1 {answer.status} OK\r\n".encode())
            for byte in b"X-Slow: " + b"." * 1000:
                if self.server.closing.wait(answer.trickle):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    """Starts receivers on 127.0.0.1 in threads, and shuts every one down after the test."""
    running: list[tuple[Receiver, threading.Thread]] = []

    def start(tls: ssl.SSLContext | None = None) -> Receiver:
        receiver = Receiver(tls)
        thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((receiver, thread))
        return receiver

    yield start
    for receiver, thread in running:
        receiver.closing.set()
        receiver.shutdown()
        receiver.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver(serve: Callable[..., Receiver]) -> Receiver:
    return serve()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name `localhost` only (no IP address in it): (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def tls_receiver(serve: Callable[..., Receiver], certificate: tuple[Path, Path]) -> Receiver:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return serve(context)


def lead_hand_off(delivery_id: str = "j-1:p-1:crm") -> tuple[bytes, dict[str, str]]:
    """The journey's CRM step for one profile: the body and its signed headers."""
    body = payload(
        {"profileId": "p-1", "email": "ada@example.com", "traits": {"company": "Analytical Engines", "city": "Zürich"}},
        {"journeyId": "j-1", "step": "crm", "enteredAt": "2026-03-02T09:00:00Z"},
    )
    return body, signed_headers(SECRET, body, int(time.time()), delivery_id)


def test_the_receiver_gets_the_signed_body_and_can_verify_it(receiver: Receiver) -> None:
    # Given a lead hand-off signed with the webhook's secret
    body, headers = lead_hand_off()

    # When the journey posts it
    response = HttpWebhooks(allow_private=True).post(receiver.url("/hooks/lead?token=abc"), body, headers)

    # Then it is delivered once, byte for byte, and the receiver's check accepts it
    assert response == Response(204, None)
    assert classify(response.status) == "delivered"
    [received] = receiver.received
    assert received.path == "/hooks/lead?token=abc"
    assert received.body == body
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"] == "CxM-Webhooks/1"
    assert received.headers[ID_HEADER] == "j-1:p-1:crm"
    assert verify(SECRET, received.body, received.headers, now=int(time.time()))
    assert not verify(b"whsec_someone_else", received.body, received.headers, now=int(time.time()))


def test_a_redirect_is_not_followed_and_is_refused(receiver: Receiver) -> None:
    # Given a receiver that redirects elsewhere
    receiver.script = [Answer(302, {"Location": receiver.url("/elsewhere")})]

    # When the journey posts
    response = HttpWebhooks(allow_private=True).post(receiver.url(), *lead_hand_off())

    # Then the redirect is the answer: nothing is sent to its target
    assert response.status == 302
    assert classify(response.status) == "refused"
    assert response.error is not None
    assert "redirect" in response.error
    assert [request.path for request in receiver.received] == ["/hooks/lead"]


def test_a_client_error_is_refused_with_a_short_printable_excerpt_of_the_answer(receiver: Receiver) -> None:
    receiver.script = [Answer(422, body=b"invalid lead:\r\nFAKE LOG LINE " + b"x" * 200_000)]

    response = HttpWebhooks(allow_private=True).post(receiver.url(), *lead_hand_off())

    assert response.status == 422
    assert classify(response.status) == "refused"
    assert response.error is not None
    assert response.error.startswith("HTTP 422: invalid lead: FAKE LOG LINE xxx")
    assert len(response.error) <= len("HTTP 422: ") + 200
    assert "\n" not in response.error


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_or_failing_receiver_is_retried(receiver: Receiver, status: int) -> None:
    receiver.script = [Answer(status, body=b"try later")]

    response = HttpWebhooks(allow_private=True).post(receiver.url(), *lead_hand_off())

    assert response == Response(status, f"HTTP {status}: try later")
    assert classify(response.status) == "retry"


def test_a_receiver_slower_than_the_timeout_gives_no_status(receiver: Receiver) -> None:
    # Given a receiver that takes 5 s to answer
    receiver.script = [Answer(200, wait=5)]

    # When the journey posts with a 0.3 s timeout
    started = time.monotonic()
    response = HttpWebhooks(timeout_seconds=0.3, allow_private=True).post(receiver.url(), *lead_hand_off())

    # Then it gives up without a status, to be retried
    assert response == Response(None, "timeout")
    assert classify(response.status) == "retry"
    assert time.monotonic() - started < 2


def test_a_receiver_trickling_its_answer_is_cut_at_the_timeout(receiver: Receiver) -> None:
    # Given a receiver that sends a byte of its headers every 0.1 s (each read is quicker than the timeout)
    receiver.script = [Answer(200, trickle=0.1)]

    started = time.monotonic()
    response = HttpWebhooks(timeout_seconds=0.5, allow_private=True).post(receiver.url(), *lead_hand_off())

    # Then the whole call still ends at the timeout
    assert response == Response(None, "timeout")
    assert time.monotonic() - started < 2


def test_nobody_listening_gives_no_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    response = HttpWebhooks(allow_private=True).post(f"http://127.0.0.1:{port}/hook", *lead_hand_off())

    assert response == Response(None, "connection refused")
    assert classify(response.status) == "retry"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"])
def test_a_private_address_is_refused_without_connecting(tls_receiver: Receiver, host: str) -> None:
    # Given the production setting and a URL whose host is, or resolves to, the loopback address
    webhooks = HttpWebhooks(allow_private=False)

    # When the journey posts to it
    response = webhooks.post(tls_receiver.url(host=host), *lead_hand_off())

    # Then it is refused before any connection is made
    assert response == Response(None, "private address")
    assert tls_receiver.connections == 0
    assert tls_receiver.received == []


def test_a_url_that_may_not_be_called_is_refused_without_connecting(receiver: Receiver) -> None:
    webhooks = HttpWebhooks(allow_private=False)

    plain = webhooks.post(receiver.url(), *lead_hand_off())
    with_credentials = HttpWebhooks(allow_private=True).post(receiver.url(host="user:pw@127.0.0.1"), *lead_hand_off())

    assert plain.status is None and plain.error is not None and "https" in plain.error
    assert with_credentials.status is None and with_credentials.error is not None
    assert "userinfo" in with_credentials.error
    assert receiver.connections == 0


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(tls_receiver: Receiver) -> None:
    response = HttpWebhooks(allow_private=True).post(tls_receiver.url(host="localhost"), *lead_hand_off())

    assert response.status is None
    assert response.error is not None and response.error.startswith("tls: ")
    assert tls_receiver.received == []


def test_tls_is_verified_for_the_host_name_while_connecting_to_the_checked_address(
    tls_receiver: Receiver, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client that trusts the receiver's certificate, which names `localhost` only
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    webhooks = HttpWebhooks(allow_private=True)
    body, headers = lead_hand_off()

    # When the journey posts to the name, and to the bare address
    by_name = webhooks.post(tls_receiver.url(host="localhost"), body, headers)
    by_address = webhooks.post(tls_receiver.url(host="127.0.0.1"), body, headers)

    # Then the name is delivered (its certificate matches), the address is not (the certificate does not name it)
    assert by_name == Response(204, None)
    assert by_address.status is None
    assert by_address.error is not None and by_address.error.startswith("tls: ")
    [received] = tls_receiver.received
    assert received.headers["Host"] == f"localhost:{tls_receiver.port}"
    assert verify(SECRET, received.body, received.headers, now=int(time.time()))
