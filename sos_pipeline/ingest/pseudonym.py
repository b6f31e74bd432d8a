"""Keyed pseudonyms for refs (exports.md, "Privacy"): HMAC-SHA256 of centre code and ref.

The loader computes them in SQL (`sos_pseudonym` in sql/load/typing.sql, a chunk at a time);
this is the same function in Python, for the tests' expected values and the benches.
tests/test_cells.py checks the SQL against Python's hmac module."""
from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: bytes, centre: str, ref: str) -> str:
    """32 hex characters (128 bits) of HMAC-SHA256(key, centre + US + ref).

    The centre is part of the message, so the same case number at two centres
    gives two different pseudonyms: two families, as indicators.md requires.
    """
    msg = f"{centre}\x1f{ref}".encode("utf-8")
    return hmac.digest(key, msg, hashlib.sha256).hex()[:32]
