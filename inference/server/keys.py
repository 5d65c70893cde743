"""API keys: creation, salted hashing, verification, and the `tagsmith keys` commands.

A key looks like `tsk_<id>_<secret>`: the id finds the row in one lookup, the secret (32 random bytes,
URL-safe base64) is checked against sha256(salt || secret) with hmac.compare_digest. Only the salt and
the hash are stored; the key is printed once, at creation. A fast hash is enough because the secret
is random and long (nothing to brute-force), and it keeps per-request verification in microseconds.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
import sys
import time
from dataclasses import dataclass

from inference.server.store import Store

KEY_PREFIX = "tsk_"
_KEY_RE = re.compile(r"^tsk_([0-9]{1,18})_([A-Za-z0-9_-]{32,128})$")


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


def create_key(store: Store, name: str) -> tuple[int, str]:
    """Store a new key's salt and hash; returns (id, the full key), the only time the key is seen."""
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    key_id = store.insert_key(name, salt, hash_secret(salt, secret))
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}"


@dataclass
class KeyCheck:
    key_id: int | None  # the verified key, or None
    problem: str | None  # why it was refused: a message for the 401 body


def verify_key(store: Store, key: str) -> KeyCheck:
    """Check a presented key; blocking (one primary-key lookup)."""
    match = _KEY_RE.match(key)
    if not match:
        return KeyCheck(None, "malformed API key: expected 'Authorization: Bearer tsk_<id>_<secret>'")
    key_id, secret = int(match.group(1)), match.group(2)
    row = store.get_key(key_id)
    # Hash even when the row is missing so unknown and wrong keys take the same time.
    salt = row["salt"] if row else "00" * 16
    expected = row["key_hash"] if row else "0" * 64
    if not hmac.compare_digest(hash_secret(salt, secret), expected) or row is None:
        return KeyCheck(None, "unknown API key")
    if row["revoked_at"] is not None:
        return KeyCheck(None, f"API key {key_id} was revoked")
    return KeyCheck(key_id, None)


# -- `tagsmith keys ...` ----------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Store:
    return Store(getattr(args, "data_dir", None))


def run_create(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not name or len(name) > 100:
        print("error: --name must be 1 to 100 characters", file=sys.stderr)
        return 2
    store = _store(args)
    try:
        key_id, key = create_key(store, name)
    finally:
        store.close()
    print(key)
    print(f"key {key_id} ({name}) created in {store.path}; this is the only time the key is shown", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        rows = store.list_keys()
    finally:
        store.close()
    if not rows:
        print(f"no keys in {store.path}", file=sys.stderr)
        return 0
    print(f"{'id':>5}  {'status':<8}  {'created (UTC)':<20}  name")
    for row in rows:
        status = "revoked" if row["revoked_at"] is not None else "active"
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["created_at"]))
        print(f"{row['id']:>5}  {status:<8}  {created:<20}  {row['name']}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        row = store.get_key(args.id)
        revoked = store.revoke_key(args.id)
    finally:
        store.close()
    if row is None:
        print(f"error: no key with id {args.id}", file=sys.stderr)
        return 1
    if not revoked:
        print(f"key {args.id} was already revoked", file=sys.stderr)
        return 0
    print(f"key {args.id} ({row['name']}) revoked", file=sys.stderr)
    return 0
