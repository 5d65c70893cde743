"""Schema migrations: a v1 file written by hand is upgraded in place and keeps its rows."""

from __future__ import annotations

import sqlite3

import pytest

from inference.server.store import DB_FILENAME, SCHEMA_VERSION, SchemaTooNewError, Store, schema_version

# The schema as tagsmith first shipped it (version 1), frozen here on purpose.
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at FLOAT);
CREATE TABLE api_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, salt TEXT NOT NULL, key_hash TEXT NOT NULL,
                       created_at FLOAT NOT NULL, revoked_at FLOAT);
CREATE TABLE feedback (id INTEGER PRIMARY KEY, tag TEXT, suggestion_id TEXT, text_hash TEXT NOT NULL,
                       action TEXT NOT NULL, client TEXT NOT NULL, created_at FLOAT NOT NULL);
INSERT INTO schema_version VALUES (1, 0);
"""


def _write_v1(path):
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO api_keys VALUES (1, 'old key', '00', 'ff', 1.0, NULL)")
    conn.executemany(
        "INSERT INTO feedback VALUES (?, ?, NULL, 'abab', ?, 'old-client', ?)",
        [(1, "aus open", "accepted", 10.0), (2, "网球", "typed", 11.0), (3, "golf", "rejected", 12.0)],
    )
    conn.commit()
    conn.close()


def test_a_v1_file_is_upgraded_and_keeps_its_rows(tmp_path):
    _write_v1(tmp_path / DB_FILENAME)
    store = Store(tmp_path)
    assert schema_version(store.db) == SCHEMA_VERSION
    rows = list(store.db.query("SELECT id, tag, action, client, lang, key_id, post_text FROM feedback ORDER BY id"))
    assert rows == [
        {"id": 1, "tag": "aus open", "action": "accepted", "client": "old-client", "lang": "en", "key_id": None, "post_text": None},
        {"id": 2, "tag": "网球", "action": "typed", "client": "old-client", "lang": "zh", "key_id": None, "post_text": None},
        {"id": 3, "tag": "golf", "action": "rejected", "client": "old-client", "lang": "en", "key_id": None, "post_text": None},
    ]
    assert [k["name"] for k in store.list_keys()] == ["old key"]
    # the new parts work on the upgraded file
    assert store.get_community_settings("discord:1").blocked_tags == []
    new_id = store.add_feedback(action="accepted", text_hash="cd" * 16, client="new", tag="tennis")
    assert new_id == 4
    assert store.integrity_check() == "ok"
    store.close()


def test_opening_a_current_file_again_changes_nothing(tmp_path):
    Store(tmp_path).close()
    store = Store(tmp_path)
    versions = [r["version"] for r in store.db.query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    store.close()


def test_a_file_from_a_newer_tagsmith_is_refused_untouched(tmp_path):
    _write_v1(tmp_path / DB_FILENAME)
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNewError, match="upgrade tagsmith"):
        Store(tmp_path)
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    assert "lang" not in [c[1] for c in conn.execute("PRAGMA table_info(feedback)")]
