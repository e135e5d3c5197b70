"""Pseudonym codes that stand in for the customer on the retail side (符号化).

A pseudonym is random and derived from nothing about the customer, so it
reveals nothing and cannot be recomputed from a name or a phone number.
Uniqueness is the database's job (a unique constraint and a retry): with 32
random bits, collisions become likely after some tens of thousands of codes.
"""

from __future__ import annotations

import re
import secrets

PSEUDONYM_RE = re.compile(r"\AC-[0-9A-F]{4}-[0-9A-F]{4}\Z")


def new_pseudonym() -> str:
    """A fresh "C-XXXX-XXXX" code of uppercase hex digits from ``secrets``."""
    token = secrets.token_hex(4).upper()
    return f"C-{token[:4]}-{token[4:]}"


def is_pseudonym(value: str) -> bool:
    """True when ``value`` has the shape of a pseudonym code."""
    return PSEUDONYM_RE.match(value) is not None
