"""The contracts package: bus event models every service may import; it imports no service."""

from services.common.contracts.envelope import Contract, Envelope, envelope
from services.common.contracts.registry import *  # noqa: F403
from services.common.contracts.registry import ALL, BY_DETAIL_TYPE

__all__ = ["ALL", "BY_DETAIL_TYPE", "Contract", "Envelope", "envelope"]
