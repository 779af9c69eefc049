"""A minimal MaxMind DB (MMDB v2) writer for tests: an IPv4 search tree over a few networks, their records in the
data section, and the metadata. Format: https://maxmind.github.io/MaxMind-DB/ (no writer package is installed)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
RECORD_SIZE = 24  # bits per record: each node is 6 bytes (left, right)


def _control(type_number: int, size: int) -> bytes:
    """The control byte(s) of a field: type in the top 3 bits (extended types after it), size in the low 5."""
    if size < 29:
        size_bits, extra = size, b""
    elif size < 29 + 256:
        size_bits, extra = 29, bytes([size - 29])
    elif size < 285 + 65536:
        size_bits, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        size_bits, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | size_bits]) + extra
    return bytes([size_bits, type_number - 7]) + extra


def _unsigned(type_number: int, value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return _control(type_number, len(raw)) + raw


class U16(int):
    """An integer the format wants as uint16 (libmaxminddb checks the metadata's types)."""


class U64(int):
    """An integer the format wants as uint64."""


def encode(value: Any) -> bytes:
    """A value in the MMDB data format (strings, maps, arrays, unsigned ints, doubles, booleans)."""
    if isinstance(value, U16):
        return _unsigned(5, value)
    if isinstance(value, U64):
        return _unsigned(9, value)
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative integers are not needed here")
        return _unsigned(6 if value < 2**32 else 9, value)  # uint32 or uint64
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(str(k)) + encode(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_database(path: Path, networks: dict[str, dict[str, Any]], database_type: str = "CxM-Test-City") -> Path:
    """An IPv4 database where each network (CIDR) maps to its record; every other address has no data."""
    data = b""
    offsets: list[tuple[ipaddress.IPv4Network, int]] = []
    for cidr, record in networks.items():
        offsets.append((ipaddress.IPv4Network(cidr), len(data)))
        data += encode(record)
    # The tree: node 0 is the root; a record is a node number, `node_count` (no data) or a data pointer.
    nodes: list[list[Any]] = [[None, None]]
    for network, offset in offsets:
        node = 0
        bits = int(network.network_address)
        for depth in range(network.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == network.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
            else:
                if not isinstance(nodes[node][bit], int):
                    nodes.append([None, None])
                    nodes[node][bit] = len(nodes) - 1
                node = nodes[node][bit]
    node_count = len(nodes)

    def record(value: Any) -> int:
        if value is None:
            return node_count
        if isinstance(value, tuple):
            return node_count + 16 + value[1]
        return int(value)

    tree = b"".join(record(left).to_bytes(3, "big") + record(right).to_bytes(3, "big") for left, right in nodes)
    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_767_225_600),
        "database_type": database_type,
        "description": {"en": "CxM test database"},
        "ip_version": U16(4),
        "languages": ["en"],
        "node_count": node_count,
        "record_size": U16(RECORD_SIZE),
    }
    path.write_bytes(tree + b"\x00" * 16 + data + METADATA_MARKER + encode(metadata))
    return path


def city(country: str, region: str, name: str) -> dict[str, Any]:
    """A record shaped like GeoIP2/GeoLite2 City's."""
    return {
        "city": {"names": {"en": name}},
        "country": {"iso_code": country, "names": {"en": country}},
        "subdivisions": [{"iso_code": region, "names": {"en": region}}],
    }
