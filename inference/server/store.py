"""The extension API's SQLite file: schema migrations, API keys, feedback, trending, community settings.

One file, `<data dir>/tagsmith.db`, opened in WAL mode with synchronous=FULL so that a write is on disk
before the HTTP response acknowledging it is sent (a SIGKILL or power cut loses nothing acknowledged).
All methods are blocking; the aiohttp side calls writes through `Store.run` and reads through
`Store.run_read`: two connections, each with its own one-thread executor, so reads (the API-key check
of every request, trending) never queue behind a write's fsync (WAL lets readers run beside a writer). Other processes (`tagsmith keys`, bots) open their own
Store on the same file; SQLite's locking plus busy_timeout serialises them.
"""

from __future__ import annotations

import asyncio
import json
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

DB_FILENAME = "tagsmith.db"
FEEDBACK_ACTIONS = ("accepted", "rejected", "typed")
TRENDING_ACTIONS = ("accepted", "typed")


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


MIGRATIONS = [_migrate_1, _migrate_2, _migrate_3]
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


class Store:
    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
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
        reader = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False)
        self.reader = sqlite_utils.Database(reader, execute_plugins=False)
        self.reader.execute("PRAGMA query_only=1")
        self._read_lock = threading.Lock()
        self._read_executor: ThreadPoolExecutor | None = None

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

    def close(self) -> None:
        for executor in (self._executor, self._read_executor):
            if executor is not None:
                executor.shutdown(wait=True)
        self._executor = self._read_executor = None
        with self._read_lock:
            self.reader.close()
        with self._lock:
            self.db.close()

    def integrity_check(self) -> str:
        with self._lock:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    # -- API keys (hashing lives in inference/server/keys.py; this stores and reads rows)
    def insert_key(self, name: str, salt: str, key_hash: str) -> int:
        with self._lock, self.db.atomic():
            return self.db["api_keys"].insert({"name": name, "salt": salt, "key_hash": key_hash, "created_at": time.time()}).last_pk

    def get_key(self, key_id: int) -> dict | None:
        with self._read_lock:
            rows = list(self.reader.query("SELECT * FROM api_keys WHERE id = ?", [key_id]))
        return rows[0] if rows else None

    def list_keys(self) -> list[dict]:
        with self._read_lock:
            return list(self.reader.query("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY id"))

    def revoke_key(self, key_id: int) -> bool:
        """True if the key existed and was active."""
        with self._lock, self.db.atomic():
            cursor = self.db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [time.time(), key_id])
            return cursor.rowcount == 1

    def active_key_count(self) -> int:
        with self._read_lock:
            return self.reader.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0]

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
            return self.db["feedback"].insert(row).last_pk

    def trending(self, *, window_s: float, lang: str, limit: int = 20, now: float | None = None, half_life_s: float | None = None) -> list[dict]:
        """Tags ranked by exponentially time-decayed counts of accepted + typed feedback.

        An event of age a counts 0.5 ** (a / half_life) (half-life: a quarter of the window by default),
        events older than the window count 0. Ages are bucketed into 64 slices of the window in SQL so
        the query returns at most 64 rows per tag however much feedback there is.
        """
        now = time.time() if now is None else now
        half_life_s = half_life_s or window_s / 4
        bucket_s = window_s / 64
        sql = f"""
            SELECT tag, CAST((? - created_at) / ? AS INTEGER) AS bucket, COUNT(*) AS n
            FROM feedback
            WHERE lang = ? AND created_at > ? AND created_at <= ? AND tag IS NOT NULL
              AND action IN ({",".join("?" * len(TRENDING_ACTIONS))})
            GROUP BY tag, bucket
        """
        params = [now, bucket_s, lang, now - window_s, now, *TRENDING_ACTIONS]
        with self._read_lock:
            rows = self.reader.execute(sql, params).fetchall()
        # Spellings of one tag ('aus open', 'ausopen', as segmenter versions differ) count as one,
        # shown in their most frequent spelling.
        scores: dict[str, float] = {}
        counts: dict[str, int] = {}
        spellings: dict[str, dict[str, int]] = {}
        for tag, bucket, n in rows:
            key = tag_key(tag)
            age = (bucket + 0.5) * bucket_s
            scores[key] = scores.get(key, 0.0) + n * math.pow(0.5, age / half_life_s)
            counts[key] = counts.get(key, 0) + n
            spelled = spellings.setdefault(key, {})
            spelled[tag] = spelled.get(tag, 0) + n
        ranked = sorted(scores, key=lambda k: (-scores[k], k))[:limit]
        best = {k: max(spellings[k].items(), key=lambda kv: (kv[1], kv[0]))[0] for k in ranked}
        return [{"tag": best[k], "score": round(scores[k], 4), "count": counts[k]} for k in ranked]

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
