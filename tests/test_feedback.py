"""POST /v1/feedback: validation into clear 4xx errors, storage that survives a restart, no raw text
unless the deployment opts in. Also the per-community settings routes the bots use."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from extension_api.setup import ExtensionConfig, make_standalone_app
from inference.server.gateway import GatewayConfig
from inference.server.store import DB_FILENAME, Store

HASH = hashlib.sha256(b"Watching the final set at the Australian Open").hexdigest()
JSON = {"Content-Type": "application/json"}  # raw bytes sent as the JSON they claim to be


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    async def make(**kwargs):
        return await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path), ExtensionConfig(**kwargs)))

    return make


async def test_feedback_is_stored_and_survives_a_restart(make_client, tmp_path):
    client = await make_client()
    ids = []
    for body in (
        {"tag": "#AusOpen", "text_hash": HASH, "action": "accepted", "client": "chrome-extension/0.1"},
        {"suggestion_id": "s-123", "text_hash": HASH, "action": "rejected", "client": "chrome-extension/0.1"},
        {"tag": "tennis", "text_hash": HASH, "action": "typed", "client": "discord-bot", "community_id": "discord:42"},
    ):
        resp = await client.post("/v1/feedback", json=body)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    await client.close()  # the app's cleanup closes the store

    rows = {r["id"]: r for r in Store(tmp_path).db.query("SELECT * FROM feedback")}
    assert sorted(rows) == sorted(ids)
    assert "".join(rows[ids[0]]["tag"].split()) == "ausopen" and rows[ids[0]]["lang"] == "en"  # segmented
    assert rows[ids[1]]["suggestion_id"] == "s-123" and rows[ids[1]]["tag"] is None
    assert rows[ids[2]]["community_id"] == "discord:42"

    client = await make_client()  # a new app on the same file
    trending = await (await client.get("/v1/trending")).json()
    assert ["".join(t["tag"].split()) for t in trending["tags"]] == ["ausopen", "tennis"]


@pytest.mark.parametrize(
    "body, status, code, says",
    [
        (b"{oops", 400, "invalid_json", "not valid JSON"),
        (b"", 400, "invalid_json", "empty"),
        (b"[1, 2]", 400, "invalid_json", "JSON object"),
        ({"tag": "x", "text_hash": HASH}, 400, "missing_input", "'action' is required"),
        ({"tag": "x", "text_hash": HASH, "action": "liked"}, 400, "invalid_field", "'action' must be one of"),
        ({"text_hash": HASH, "action": "accepted"}, 400, "missing_input", "'tag'"),
        ({"suggestion_id": "s1", "text_hash": HASH, "action": "typed"}, 400, "missing_input", "'typed' feedback needs 'tag'"),
        ({"tag": "x", "action": "accepted"}, 400, "missing_input", "'text_hash' is required"),
        ({"tag": "x", "text_hash": "not-hex", "action": "accepted"}, 400, "invalid_field", "hex digest"),
        ({"tag": 5, "text_hash": HASH, "action": "accepted"}, 400, "invalid_field", "'tag' must be a string"),
        ({"tag": "x" * 101, "text_hash": HASH, "action": "accepted"}, 400, "invalid_field", "1 to 100"),
        ({"tag": "###", "text_hash": HASH, "action": "accepted"}, 400, "invalid_field", "no letters or digits"),
        ({"tag": "x", "text_hash": HASH, "action": "accepted", "lang": "fr"}, 400, "unknown_lang", "'fr'"),
        ({"tag": "x", "text_hash": HASH, "action": "accepted", "post": "hi"}, 400, "invalid_field", "unknown field(s) ['post']"),
        ({"tag": "x", "text_hash": HASH, "action": "accepted", "suggestion_id": "bad id!"}, 400, "invalid_field", "'suggestion_id'"),
        ({"tag": "x", "text_hash": HASH, "action": "accepted", "text": 3}, 400, "invalid_field", "'text'"),
    ],
)
async def test_bad_feedback_gets_a_4xx_saying_what_was_wrong(make_client, body, status, code, says):
    client = await make_client()
    resp = await (client.post("/v1/feedback", data=body, headers=JSON) if isinstance(body, bytes) else client.post("/v1/feedback", json=body))
    assert resp.status == status
    error = (await resp.json())["error"]
    assert error["code"] == code and says in error["message"]


async def test_oversized_bodies_and_wrong_methods_are_4xx(make_client):
    client = await make_client()
    resp = await client.post("/v1/feedback", data=b"x" * 70_000, headers=JSON)
    assert resp.status == 413
    resp = await client.get("/v1/feedback")
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_raw_post_text_is_dropped_unless_the_deployment_opts_in(make_client, tmp_path):
    body = {"tag": "x", "text_hash": HASH, "action": "accepted", "text": "secret post text"}
    client = await make_client()
    resp = await client.post("/v1/feedback", json=body)
    assert resp.status == 201 and (await resp.json())["text_stored"] is False
    await client.close()
    assert b"secret post text" not in b"".join(p.read_bytes() for p in tmp_path.glob(DB_FILENAME + "*"))

    client = await make_client(store_post_text=True)
    resp = await client.post("/v1/feedback", json=body)
    assert (await resp.json())["text_stored"] is True
    await client.close()
    stored = sqlite3.connect(tmp_path / DB_FILENAME).execute("SELECT post_text FROM feedback WHERE post_text IS NOT NULL").fetchall()
    assert stored == [("secret post text",)]


async def test_the_file_is_in_wal_mode_with_full_sync(tmp_path):
    store = Store(tmp_path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


# -- community settings ---------------------------------------------------------------------------
async def test_community_settings_default_then_round_trip(make_client, tmp_path):
    client = await make_client()
    resp = await client.get("/v1/communities/discord:1234/settings")
    assert await resp.json() == {"community_id": "discord:1234", "blocked_tags": [], "max_count": None, "lang": None}
    put = {"blocked_tags": ["#NSFW", "spoiler alert", "nsfw"], "max_count": 5, "lang": "en"}
    resp = await client.put("/v1/communities/discord:1234/settings", json=put)
    assert resp.status == 200
    expected = {"community_id": "discord:1234", "blocked_tags": ["nsfw", "spoiler alert"], "max_count": 5, "lang": "en"}
    assert await resp.json() == expected
    assert await (await client.get("/v1/communities/discord:1234/settings")).json() == expected
    # other communities are untouched; bots in-process read the same store
    assert (await (await client.get("/v1/communities/telegram:-100987/settings")).json())["blocked_tags"] == []
    await client.close()
    assert Store(tmp_path).get_community_settings("discord:1234").max_count == 5


@pytest.mark.parametrize(
    "body, says",
    [
        ({"blocked_tags": "nsfw"}, "'blocked_tags' must be a list"),
        ({"blocked_tags": [""]}, "'blocked_tags' must be a list"),
        ({"max_count": 0}, "'max_count' must be an integer from 1 to 50"),
        ({"max_count": True}, "'max_count'"),
        ({"lang": "de"}, "unknown lang"),
        ({"colour": "red"}, "unknown field(s) ['colour']"),
    ],
)
async def test_bad_community_settings_get_a_400(make_client, body, says):
    client = await make_client()
    resp = await client.put("/v1/communities/discord:1/settings", json=body)
    assert resp.status == 400 and says in (await resp.json())["error"]["message"]


async def test_bad_community_ids_get_a_400(make_client):
    client = await make_client()
    resp = await client.get("/v1/communities/has%20space/settings")
    assert resp.status == 400 and "community id" in (await resp.json())["error"]["message"]
