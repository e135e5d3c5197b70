"""Signed checkpoints of the chain head, kept as files outside the database.

Someone who can write to the database can rewrite every event and recompute every
hash; they cannot produce a checkpoint signed with a key that is not in the database,
and they cannot make an already written checkpoint file agree with their new chain.
Point AUDIT_CHECKPOINT_DIR at storage the database's users cannot rewrite (another
host, a WORM bucket mount) to make that true in production.

File `checkpoint-<seq, 12 digits>.json`: a JSON object with format, chain_id, seq,
hash, event_id, event_count (events covered = seq), created_at (UTC), key_id and
signature. The signature is Ed25519 over the UTF-8 JSON of every other member, keys
sorted, separators "," and ":".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from .chain import utc_timestamp
from .signing import key_id, sign, signature_valid

FORMAT = "shadan-audit-checkpoint/1"
_NAME_RE = re.compile(r"\Acheckpoint-(\d{12})\.json\Z")
_HEX64_RE = re.compile(r"\A[0-9a-f]{64}\Z")


CHAIN_ID_PLACEHOLDER = "{chain_id}"


def checkpoint_dir(chain_id: str | None) -> Path | None:
    """AUDIT_CHECKPOINT_DIR. A "{chain_id}" in it (development only, see the system
    checks) gives every chain its own directory, so a re-created local database does
    not meet the checkpoints of the one before; then an unknown chain has none."""
    configured = str(settings.AUDIT_CHECKPOINT_DIR)
    if CHAIN_ID_PLACEHOLDER not in configured:
        return Path(configured)
    if chain_id is None:
        return None
    return Path(configured.replace(CHAIN_ID_PLACEHOLDER, chain_id))


def file_name(seq: int) -> str:
    return f"checkpoint-{seq:012d}.json"


def _message(payload: dict[str, Any]) -> bytes:
    unsigned = {k: v for k, v in payload.items() if k != "signature"}
    return json.dumps(unsigned, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def write_checkpoint(
    *,
    directory: Path,
    private_key: Ed25519PrivateKey,
    chain_id: str,
    seq: int,
    hash: str,
    event_id: int,
) -> tuple[Path, dict[str, Any]] | None:
    """Write the checkpoint for `seq`; None if one already exists (never overwritten)."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "chain_id": chain_id,
        "seq": seq,
        "hash": hash,
        "event_id": event_id,
        "event_count": seq,
        "created_at": utc_timestamp(timezone.now()),
    }
    payload["key_id"] = key_id(private_key.public_key())
    payload["signature"] = sign(private_key, _message(payload)).value

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / file_name(seq)
    if final.exists():
        return None
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    data = (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # A hard link never replaces an existing file: two sealers racing for the same
        # head cannot overwrite each other's checkpoint.
        os.link(tmp, final)
    except FileExistsError:
        return None
    finally:
        tmp.unlink(missing_ok=True)
    return final, payload


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """Every checkpoint file in the directory, by seq. Other files are ignored."""
    if not directory.is_dir():
        return []
    found = []
    for entry in os.scandir(directory):
        match = _NAME_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), Path(entry.path)))
    found.sort()
    return found


@dataclass(frozen=True)
class CheckpointFile:
    path: Path
    seq: int
    hash: str
    chain_id: str
    problem: str  # empty when the file is well-formed and its signature verifies
    event_id: int | None = None


def read_checkpoint(
    path: Path, seq_from_name: int, keys: dict[str, Ed25519PublicKey]
) -> CheckpointFile:
    def bad(problem: str, payload: dict[str, Any] | None = None) -> CheckpointFile:
        payload = payload or {}
        return CheckpointFile(
            path=path,
            seq=seq_from_name,
            hash=str(payload.get("hash", "")),
            chain_id=str(payload.get("chain_id", "")),
            problem=problem,
        )

    try:
        payload = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return bad("unreadable or not JSON")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return bad("not a checkpoint of format " + FORMAT)
    if payload.get("seq") != seq_from_name or not isinstance(payload.get("seq"), int):
        return bad("its seq does not match its file name", payload)
    if not all(_HEX64_RE.match(str(payload.get(k, ""))) for k in ("hash", "chain_id")):
        return bad("malformed hash or chain id", payload)
    key = keys.get(str(payload.get("key_id", "")))
    if key is None:
        return bad(f"signed by an unknown key ({payload.get('key_id')!s:.32})", payload)
    if not signature_valid(key, _message(payload), str(payload.get("signature", ""))):
        return bad("signature does not verify", payload)
    event_id = payload.get("event_id")
    return CheckpointFile(
        path=path,
        seq=payload["seq"],
        hash=payload["hash"],
        chain_id=payload["chain_id"],
        problem="",
        event_id=event_id if isinstance(event_id, int) else None,
    )


def read_checkpoint_file(path: Path, keys: dict[str, Ed25519PublicKey]) -> CheckpointFile:
    """A checkpoint file wherever it is kept (an archive may have renamed it): the seq
    comes from its name when that is a checkpoint name, else from its content."""
    match = _NAME_RE.match(path.name)
    if match:
        return read_checkpoint(path, int(match.group(1)), keys)
    try:
        seq = json.loads(path.read_bytes()).get("seq")
    except (OSError, ValueError, AttributeError):
        seq = None
    return read_checkpoint(path, seq if isinstance(seq, int) else -1, keys)


def iter_checkpoint_files(
    directory: Path, keys: dict[str, Ed25519PublicKey]
) -> Iterator[CheckpointFile]:
    for seq, path in list_checkpoints(directory):
        yield read_checkpoint(path, seq, keys)
