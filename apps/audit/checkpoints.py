"""Signed checkpoints of the chain head, kept as files outside the database.

Someone who can write to the database can rewrite every event and recompute every
hash; they cannot produce a checkpoint signed with a key that is not in the database,
and they cannot make an already written checkpoint file agree with their new chain.
Point AUDIT_CHECKPOINT_DIR at storage the database's users cannot rewrite (another
host, a WORM bucket mount) to make that true in production.

Layout: each chain writes into its own directory `<AUDIT_CHECKPOINT_DIR>/<chain id>/`,
so two databases (two sites, a test restore) can share one checkpoint store without
touching each other's files. A restored or copied database holds the *same* chain id
as the one it came from, though. Each checkpoint names the database that wrote it
(`writer`: on PostgreSQL the cluster's system identifier and the database's oid, which
a restore into another database or cluster changes and a promoted physical replica
keeps). When the sealer finds its directory's newest checkpoint written by another
database, or one its own chain disagrees with, another database of this chain writes
there, and it starts a branch `<chain id>/branch-<random>/` of its own
instead (recorded in its AuditCheckpoint rows, so its verifier knows where to look).
The directory it left keeps only the other database's files; its verifier reports the
ones beyond the point where it branched off as "checkpoint beyond the restored trail".
AUDIT_CHAIN_ID (optional, set once the first seal has printed it) pins the chain a
deployment's verifier expects: a trail replaced by one with a new chain id then meets
the old chain's checkpoints instead of an empty directory.

File `checkpoint-<seq, 12 digits>.json`: a JSON object with format, chain_id, seq,
hash, event_id, event_count (events covered = seq), created_at (UTC), writer (which
database wrote it; absent in older files), key_id and signature. The signature is
Ed25519 over the UTF-8 JSON of every other member, keys sorted, separators "," and ":".
"""

from __future__ import annotations

import json
import os
import re
import secrets
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
BRANCH_PREFIX = "branch-"
_CHAIN_DIR_RE = re.compile(r"\A[0-9a-f]{64}\Z")


def checkpoint_dir(chain_id: str | None) -> Path | None:
    """The chain's own directory: `<AUDIT_CHECKPOINT_DIR>/<chain id>/`, or, where the
    setting contains "{chain_id}" (development only, see the system checks), the
    setting with the id put in. AUDIT_CHAIN_ID, when set, names the chain whatever the
    database says (a replaced trail is checked against the checkpoints of the one it
    replaced). None when no chain is known."""
    chain_id = getattr(settings, "AUDIT_CHAIN_ID", "") or chain_id
    if chain_id is None:
        return None
    configured = str(settings.AUDIT_CHECKPOINT_DIR)
    if CHAIN_ID_PLACEHOLDER in configured:
        return Path(configured.replace(CHAIN_ID_PLACEHOLDER, chain_id))
    return Path(configured) / chain_id


def chain_directories() -> list[str]:
    """The chain ids that have a directory with checkpoints under AUDIT_CHECKPOINT_DIR."""
    configured = str(settings.AUDIT_CHECKPOINT_DIR)
    if CHAIN_ID_PLACEHOLDER in configured:
        return []
    root = Path(configured)
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and _CHAIN_DIR_RE.match(entry.name) and list_checkpoints(Path(entry.path))
    )


def recorded_path(directory: Path, recorded_name: str) -> Path:
    """Where a file recorded as `AuditCheckpoint.file_name` is: the name alone (the
    chain's directory) or `branch-…/name`."""
    return directory / recorded_name


def new_branch() -> str:
    return BRANCH_PREFIX + secrets.token_hex(8)


def branch_of(recorded_name: str) -> str:
    """The branch directory of a recorded file name, "" for the chain's own directory."""
    head, _sep, _name = recorded_name.rpartition("/")
    return head


@dataclass(frozen=True)
class Newest:
    seq: int
    hash: str
    writer: str  # "" in a file written before checkpoints named their writer


def newest_checkpoint(directory: Path) -> Newest | None:
    """The newest checkpoint file in the directory, signature unchecked: the sealer only
    asks whether its own chain agrees with it and who wrote it."""
    found = list_checkpoints(directory)
    if not found:
        return None
    seq, path = found[-1]
    try:
        payload = json.loads(path.read_bytes())
    except (OSError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        return Newest(seq=seq, hash="", writer="")
    return Newest(seq=seq, hash=str(payload.get("hash", "")), writer=str(payload.get("writer", "")))


def flat_checkpoint_files(root: Path) -> list[Path]:
    """Checkpoint files directly in AUDIT_CHECKPOINT_DIR: the layout before one directory
    per chain (`manage.py audit_checkpoints_per_chain` moves them)."""
    return [path for _seq, path in list_checkpoints(root)]


def move_into_chain_directories(root: Path) -> list[tuple[Path, Path]]:
    """Move each flat checkpoint file into `<root>/<its chain id>/`, never over an
    existing file. Returns (from, to) for each file moved; a file that cannot be read
    or whose target exists stays where it is."""
    moved = []
    for path in flat_checkpoint_files(root):
        try:
            chain_id = json.loads(path.read_bytes()).get("chain_id", "")
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(chain_id, str) or not _CHAIN_DIR_RE.match(chain_id):
            continue
        target_dir = root / chain_id
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        try:
            os.link(path, target)  # never replaces an existing file
        except FileExistsError:
            continue
        path.unlink()
        moved.append((path, target))
    return moved


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
    writer: str = "",
) -> tuple[Path, dict[str, Any]] | None:
    """Write the checkpoint for `seq`; None if one already exists (never overwritten).
    `writer` names the database that wrote it (apps.audit.sealing.database_instance)."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "chain_id": chain_id,
        "seq": seq,
        "hash": hash,
        "event_id": event_id,
        "event_count": seq,
        "created_at": utc_timestamp(timezone.now()),
    }
    if writer:
        payload["writer"] = writer
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


@dataclass(frozen=True)
class ChainFiles:
    """The checkpoint files a database's verifier compares its chain with."""

    # (seq, path) by seq: the files this database's chain must agree with.
    own: list[tuple[int, Path]]
    # (seq, path, seq of the last checkpoint this database wrote in that directory): files
    # another database of this chain wrote after this one branched off (a restore).
    left_behind: list[tuple[int, Path, int]]
    # The branches this database wrote into ("branch-…"), in order.
    branches: list[str]


def chain_files(directory: Path | None, recorded: list[tuple[int, str]]) -> ChainFiles:
    """Which files of the chain's directory tree are this database's, by its recorded
    checkpoints (seq, file name), in seq order. Without a branch: every file directly in
    the chain's directory. With branches: in each directory the database left, the files
    up to its own last checkpoint there; the rest were written by the database that
    stayed (see the module docstring). Other branches are ignored."""
    if directory is None:
        return ChainFiles(own=[], left_behind=[], branches=[])
    last_in: dict[str, int] = {"": 0}
    for seq, name in recorded:
        last_in[branch_of(name)] = seq  # dicts keep the order directories were first used
    used = list(last_in)
    own: list[tuple[int, Path]] = []
    left: list[tuple[int, Path, int]] = []
    for index, branch in enumerate(used):
        files = list_checkpoints(directory / branch if branch else directory)
        if index == len(used) - 1:
            own += files
            continue
        own += [(seq, path) for seq, path in files if seq <= last_in[branch]]
        left += [(seq, path, last_in[branch]) for seq, path in files if seq > last_in[branch]]
    own.sort()
    return ChainFiles(own=own, left_behind=left, branches=used[1:])
