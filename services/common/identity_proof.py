"""Verified identity (docs/identity.md, "Trust"): a site's back-end signs who its visitor is, Intercom-style.

The proof is `userHash` = hex HMAC-SHA256 of the subject with the source's identity secret; the subject is the
userId when the message has one, else its email (trimmed, lower-cased). A public write key sits in every page, so
an identity it carries is only a *claim*; a matching `userHash`, a server or admin key, or a signed link in our own
email makes it verified. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Literal

Trust = Literal["claim", "verified"]
MAX_HASH = 128


def subject(user_id: str | None, email: object) -> str | None:
    """What a proof signs: the user id, else the email as identity compares it."""
    if user_id:
        return user_id
    if isinstance(email, str) and "@" in email:
        return email.strip().lower()
    return None


def user_hash(secret: bytes, signed: str) -> str:
    """What the site's back-end computes and puts in the page (`context.userHash`)."""
    return hmac.new(secret, signed.encode("utf-8"), hashlib.sha256).hexdigest()


def proves(secret: bytes | None, user_id: str | None, email: object, presented: object) -> bool:
    """Whether `presented` is the source's signature of this visitor (constant-time)."""
    signed = subject(user_id, email)
    if not secret or signed is None or not isinstance(presented, str) or not 0 < len(presented) <= MAX_HASH:
        return False
    return hmac.compare_digest(user_hash(secret, signed), presented.strip().lower())


def message_trust(
    trusted_caller: bool,
    secret: bytes | None,
    user_id: str | None,
    traits: Mapping[str, Any],
    context: Mapping[str, Any],
) -> Trust:
    """A message's identity trust: a server or admin caller, or a valid `context.userHash`, verifies it."""
    if trusted_caller:
        return "verified"
    if proves(secret, user_id, traits.get("email"), context.get("userHash")):
        return "verified"
    return "claim"
