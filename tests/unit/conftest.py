"""Unit tests exercise the functional core only: no network, no AWS. Any socket is a test bug."""

from __future__ import annotations

import socket

import pytest


class NetworkDisabled(RuntimeError):
    """Raised when a unit test (or the code under test) tries to open a socket."""


def _refuse(*args: object, **kwargs: object) -> socket.socket:
    raise NetworkDisabled("unit tests must not open sockets; use a fake client instead")


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
