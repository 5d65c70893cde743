"""The extension API's SQLite file: schema migrations, API keys, feedback, trending, community settings.

One file, `<data dir>/tagsmith.db`, opened in WAL mode with synchronous=FULL so that a write is on disk
before the HTTP response acknowledging it is sent (a SIGKILL or power cut loses nothing acknowledged).
All methods are blocking; the aiohttp side calls writes through `Store.run`, reads through
`Store.run_read` and the API-key check of every request through `Store.run_auth`: three connections,
each with its own one-thread executor, so no read (trending, settings) or write (a fsync) ever queues in
front of a key check (WAL lets readers run beside a writer). Other processes (`tagsmith keys`, bots)
open their own Store on the same file; SQLite's locking plus busy_timeout serialises them.

Trending reads `trending_counts`, per-(language, tag, time bucket) counts kept in the same transaction
as each feedback insert, never the raw feedback; `prune` deletes raw feedback past its retention.
The folder is created 0700 and the file 0600 (tightened on open when looser): it holds key hashes,
feedback and, where opted in, post text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from inference.text.tags import tag_key, tag_lang

log = logging.getLogger(__name__)

DB_FILENAME = "tagsmith.db"
FEEDBACK_ACTIONS = ("accepted", "rejected", "typed")
TRENDING_ACTIONS = ("accepted", "typed")
# trending_counts resolutions (bucket widths, s): minutes for windows up to 64 h, hours beyond
BUCKET_SECONDS = (60, 3600)
MAX_TRENDING_WINDOW_S = 30 * 86400
KEYS_CREATED = "keys_created"  # meta row: a key was created once; revoking them all never reopens keyless use


def default_data_dir() -> Path:
    """`$TAGSMITH_DATA_DIR`, else ./var (relative to the working directory)."""
    return Path(os.environ.get("TAGSMITH_DATA_DIR") or "var")


class SchemaTooNewError(RuntimeError):
    """The file was written by a newer tagsmith: refuse to touch it rather than corrupt it."""


# -- migrations -----------------------------------------------------------------------------------
# Each migration takes the file from version N-1 to N inside one transaction (DDL is transactional
# in SQLite, so a crash mid-migration leaves the old version intact). Never edit a shipped
# migration: add a new one. tests/test_migrations.py builds a v1 file by hand and upgrades it.


def _migrate_1(db: sqlite_utils.Database) -> None:
    db["api_keys"].create(
        {"id": int, "name": str, "salt": str, "key_hash": str, "created_at": float, "revoked_at": float},
        pk="id",
        not_null={"name", "salt", "key_hash", "created_at"},
    )
    db["feedback"].create(
        {"id": int, "tag": str, "suggestion_id": str, "text_hash": str, "action": str, "client": str, "created_at": float},
        pk="id",
        not_null={"text_hash", "action", "client", "created_at"},
    )


def _migrate_2(db: sqlite_utils.Database) -> None:
    # Feedback learns its language (trending is per language), the key that sent it, the community
    # it came from, and (only where the deployment opts in) the raw post text.
    feedback = db["feedback"]
    feedback.add_column("lang", str, not_null_default="en")
    feedback.add_column("key_id", int)
    feedback.add_column("community_id", str)
    feedback.add_column("post_text", str)
    db.register_function(lambda tag: 1 if tag and tag_lang(tag) == "zh" else 0, name="has_cjk", deterministic=True, replace=True)
    db.execute("UPDATE feedback SET lang = 'zh' WHERE has_cjk(tag)")
    feedback.create_index(["lang", "created_at"], index_name="feedback_lang_time")


def _migrate_3(db: sqlite_utils.Database) -> None:
    db["community_settings"].create(
        {"community_id": str, "blocked_tags": str, "max_count": int, "lang": str, "updated_at": float},
        pk="community_id",
        not_null={"blocked_tags", "updated_at"},
    )


_COUNT_SQL = """INSERT INTO trending_counts (lang, res, bucket, key, tag, n) VALUES (?, ?, ?, ?, ?, 1)
    ON CONFLICT (lang, res, bucket, key, tag) DO UPDATE SET n = n + 1"""


def _migrate_4(db: sqlite_utils.Database) -> None:
    # Trending from counts kept per (language, bucket width, bucket start, tag identity, spelling) with
    # each insert, not a scan of the raw rows; an index to prune them by age; the keys-created marker.
    db.execute("""CREATE TABLE trending_counts (lang TEXT NOT NULL, res INTEGER NOT NULL, bucket INTEGER NOT NULL,
        key TEXT NOT NULL, tag TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (lang, res, bucket, key, tag)) WITHOUT ROWID""")
    db.execute("CREATE INDEX feedback_time ON feedback (created_at)")
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta SELECT ?, '1' WHERE EXISTS (SELECT 1 FROM api_keys)", [KEYS_CREATED])
    backfill_trending_counts(db)


def backfill_trending_counts(db: sqlite_utils.Database) -> None:
    """trending_counts from every feedback row (migration 4; a benchmark's bulk-loaded file)."""
    db.register_function(tag_key, name="tag_key", deterministic=True, replace=True)
    for res in BUCKET_SECONDS:
        db.execute(
            f"""INSERT INTO trending_counts SELECT lang, ?, CAST(created_at / ? AS INTEGER) * ? AS b, tag_key(tag), tag, COUNT(*)
            FROM feedback WHERE tag IS NOT NULL AND action IN ({",".join("?" * len(TRENDING_ACTIONS))})
            GROUP BY lang, b, tag""",
            [res, res, res, *TRENDING_ACTIONS],
        )


MIGRATIONS = [_migrate_1, _migrate_2, _migrate_3, _migrate_4]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    if not db["schema_version"].exists():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def migrate(db: sqlite_utils.Database) -> tuple[int, int]:
    """Bring the file to SCHEMA_VERSION; returns (version before, version after)."""
    before = schema_version(db)
    if before == SCHEMA_VERSION:
        return before, before
    # BEGIN IMMEDIATE takes the write lock before the version is re-read, so two processes opening a
    # fresh file at once cannot both run a migration; the whole upgrade commits or none of it does.
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db["schema_version"].exists():
            db["schema_version"].create({"version": int, "applied_at": float}, pk="version")
        before = schema_version(db)
        if before > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"the data file is at schema version {before}, this tagsmith knows up to {SCHEMA_VERSION}: upgrade tagsmith"
            )
        for version in range(before + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version - 1](db)
            db["schema_version"].insert({"version": version, "applied_at": time.time()})
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return before, SCHEMA_VERSION


# -- the store ------------------------------------------------------------------------------------


@dataclass
class CommunitySettings:
    community_id: str
    blocked_tags: list[str]
    max_count: int | None = None  # None: the service default
    lang: str | None = None  # None: detect per post

    def to_json(self) -> dict:
        return {"community_id": self.community_id, "blocked_tags": self.blocked_tags, "max_count": self.max_count, "lang": self.lang}


def _private_file(data_dir: Path) -> Path:
    """The database path, in a folder created 0700, the file (and its -wal/-shm) 0600."""
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700)
    elif data_dir.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; the database in it is not (0600)", data_dir)
    path = data_dir / DB_FILENAME
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite gives -wal/-shm the file's mode
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)
    return path


def _reader(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.execute("PRAGMA query_only=1")
    return db


class Store:
    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.path = _private_file(self.data_dir)
        conn = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False)
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        with self.db.ensure_autocommit_on():
            mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"could not put {self.path} in WAL mode (got {mode!r})")
        # FULL: every commit fsyncs the WAL, so acknowledged writes survive power loss, not only SIGKILL.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        with self._lock:
            migrate(self.db)
        self.reader = _reader(self.path)
        self._read_lock = threading.Lock()
        self._read_executor: ThreadPoolExecutor | None = None
        self.auth_reader = _reader(self.path)  # key checks only: never behind a trending read
        self._auth_lock = threading.Lock()
        self._auth_executor: ThreadPoolExecutor | None = None

    # -- plumbing
    async def run(self, fn, *args):
        """Run blocking work that writes off the event loop, one at a time."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagsmith-store")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run_read(self, fn, *args):
        """Run blocking work that only reads off the event loop, beside the writes."""
        if self._read_executor is None:
            self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagsmith-store-read")
        return await asyncio.get_running_loop().run_in_executor(self._read_executor, fn, *args)

    async def run_auth(self, fn, *args):
        """Run an API-key check (microseconds) on its own thread and connection."""
        if self._auth_executor is None:
            self._auth_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagsmith-store-auth")
        return await asyncio.get_running_loop().run_in_executor(self._auth_executor, fn, *args)

    def close(self) -> None:
        for executor in (self._executor, self._read_executor, self._auth_executor):
            if executor is not None:
                executor.shutdown(wait=True)
        self._executor = self._read_executor = self._auth_executor = None
        with self._read_lock:
            self.reader.close()
        with self._auth_lock:
            self.auth_reader.close()
        with self._lock:
            self.db.close()

    def integrity_check(self) -> str:
        with self._lock:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    # -- API keys (hashing lives in inference/server/keys.py; this stores and reads rows)
    def insert_key(self, name: str, salt: str, key_hash: str) -> int:
        with self._lock, self.db.atomic():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, '1')", [KEYS_CREATED])
            return self.db["api_keys"].insert({"name": name, "salt": salt, "key_hash": key_hash, "created_at": time.time()}).last_pk

    def get_key(self, key_id: int) -> dict | None:
        with self._auth_lock:
            rows = list(self.auth_reader.query("SELECT * FROM api_keys WHERE id = ?", [key_id]))
        return rows[0] if rows else None

    def list_keys(self) -> list[dict]:
        with self._auth_lock:
            return list(self.auth_reader.query("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY id"))

    def revoke_key(self, key_id: int) -> bool:
        """True if the key existed and was active."""
        with self._lock, self.db.atomic():
            cursor = self.db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [time.time(), key_id])
            return cursor.rowcount == 1

    def active_key_count(self) -> int:
        with self._auth_lock:
            return self.auth_reader.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0]

    def keys_ever_created(self) -> bool:
        """True once any key was created here, even if every key is revoked since."""
        with self._auth_lock:
            return self.auth_reader.execute("SELECT 1 FROM meta WHERE name = ?", [KEYS_CREATED]).fetchone() is not None

    # -- feedback
    def add_feedback(
        self,
        *,
        action: str,
        text_hash: str,
        client: str,
        tag: str | None = None,
        suggestion_id: str | None = None,
        lang: str | None = None,
        key_id: int | None = None,
        community_id: str | None = None,
        post_text: str | None = None,
        created_at: float | None = None,
    ) -> int:
        """Store one feedback event; returns its id once it is committed (and fsynced)."""
        if action not in FEEDBACK_ACTIONS:
            raise ValueError(f"action must be one of {FEEDBACK_ACTIONS}")
        row = {
            "tag": tag,
            "suggestion_id": suggestion_id,
            "text_hash": text_hash,
            "action": action,
            "client": client,
            "created_at": time.time() if created_at is None else created_at,
            "lang": lang or (tag_lang(tag) if tag else "en"),
            "key_id": key_id,
            "community_id": community_id,
            "post_text": post_text,
        }
        with self._lock, self.db.atomic():
            feedback_id = self.db["feedback"].insert(row).last_pk
            if tag and action in TRENDING_ACTIONS:
                for res in BUCKET_SECONDS:
                    bucket = int(row["created_at"] // res) * res
                    self.db.execute(_COUNT_SQL, [row["lang"], res, bucket, tag_key(tag), tag])
            return feedback_id

    def prune(self, *, feedback_before: float, batch: int = 5000) -> tuple[int, int]:
        """Delete at most `batch` raw feedback rows created before `feedback_before` and at most `batch`
        counts older than any trending window, in one short transaction; returns the rows deleted of
        each (call again while either equals `batch`: writes get the lock in between)."""
        counts_before = time.time() - MAX_TRENDING_WINDOW_S - max(BUCKET_SECONDS)
        with self._lock, self.db.atomic():
            feedback = self.db.execute(
                "DELETE FROM feedback WHERE id IN (SELECT id FROM feedback WHERE created_at < ? LIMIT ?)", [feedback_before, batch]
            ).rowcount
            counts = self.db.execute(
                "DELETE FROM trending_counts WHERE (lang, res, bucket, key, tag) IN "
                "(SELECT lang, res, bucket, key, tag FROM trending_counts WHERE bucket < ? LIMIT ?)", [counts_before, batch]
            ).rowcount
        return feedback, counts

    def trending(self, *, window_s: float, lang: str, limit: int = 20, now: float | None = None, half_life_s: float | None = None) -> list[dict]:
        """Tags ranked by exponentially time-decayed counts of accepted + typed feedback.

        An event of age a counts 0.5 ** (a / half_life) (half-life: a quarter of the window by default),
        events older than the window count 0. Read from `trending_counts`: buckets of a minute (hours for
        windows over 64 h, so at least 64 buckets per window), each aged by its middle; a bucket counts
        when it starts inside the window. Spellings of one tag ('aus open', 'ausopen') count as one,
        shown in their most frequent spelling.
        """
        now = time.time() if now is None else now
        half_life_s = half_life_s or window_s / 4
        res = max(r for r in BUCKET_SECONDS if r == BUCKET_SECONDS[0] or r <= window_s / 64)
        first, last = math.ceil((now - window_s) / res) * res, math.floor(now / res) * res
        # CROSS JOIN: the buckets drive the loop, each one a primary-key range of trending_counts
        weights = {str(b): math.pow(0.5, max(0.0, now - b - res / 2) / half_life_s) for b in range(int(first), int(last) + 1, res)}
        sql = """
            WITH w AS (SELECT CAST(key AS INTEGER) AS bucket, value AS weight FROM json_each(?))
            SELECT c.key, c.tag, SUM(c.n * w.weight), SUM(c.n) FROM w CROSS JOIN trending_counts c
            WHERE c.lang = ? AND c.res = ? AND c.bucket = w.bucket GROUP BY c.key, c.tag
        """
        with self._read_lock:
            rows = self.reader.execute(sql, [json.dumps(weights), lang, res]).fetchall()
        scores: dict[str, float] = {}
        counts: dict[str, int] = {}
        best: dict[str, tuple[int, str]] = {}
        for key, tag, score, n in rows:
            scores[key] = scores.get(key, 0.0) + score
            counts[key] = counts.get(key, 0) + n
            best[key] = max(best.get(key, (0, "")), (n, tag))
        ranked = sorted(scores, key=lambda k: (-scores[k], k))[:limit]
        return [{"tag": best[k][1], "score": round(scores[k], 4), "count": counts[k]} for k in ranked]

    # -- community settings
    def get_community_settings(self, community_id: str) -> CommunitySettings:
        """The stored settings, or the defaults (nothing blocked, service defaults) if none are stored."""
        with self._read_lock:
            rows = list(self.reader.query("SELECT * FROM community_settings WHERE community_id = ?", [community_id]))
        if not rows:
            return CommunitySettings(community_id=community_id, blocked_tags=[])
        row = rows[0]
        return CommunitySettings(community_id, json.loads(row["blocked_tags"]), row["max_count"], row["lang"])

    def put_community_settings(self, settings: CommunitySettings) -> None:
        row = {
            "community_id": settings.community_id,
            "blocked_tags": json.dumps(settings.blocked_tags, ensure_ascii=False),
            "max_count": settings.max_count,
            "lang": settings.lang,
            "updated_at": time.time(),
        }
        with self._lock, self.db.atomic():
            self.db["community_settings"].upsert(row, pk="community_id")
