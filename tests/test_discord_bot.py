"""The Discord bot: the real discord.py CommandTree driven with interaction payloads.

As discord.py's own tests do, interactions are built from payloads and handed to
`tree.call`; every REST call (login, command sync, interaction callbacks, follow-ups, channel
history, attachment download) goes to a fake Discord API on 127.0.0.1 through
`discord.http.Route.BASE` (the bot's DISCORD_API_BASE). The core is a fake too.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import socket

import discord
import pytest
from aiohttp import web

from bots import formatting as fmt
from bots.client import CoreClient, CoreConfig
from bots.discord_bot import DiscordConfig, HashtagBot, intents_for
from bots.testing import FakeCore, capture_logs

TOKEN = "MTIzNDU2.fake-discord-token-do-not-leak"
APP_ID = 4242
GUILD_ID = 500
CHANNEL_ID = 600
EPHEMERAL = 1 << 6
USER = {"id": "77", "username": "ann", "discriminator": "0", "avatar": None, "global_name": "Ann"}
IMAGE = b"\x89PNG fake image bytes"


def json_response(data, status: int = 200) -> web.Response:
    """discord.py decodes a body only when its content type is exactly application/json."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


class FakeDiscordAPI:
    """Just enough of Discord's REST API; records interaction responses and follow-ups."""

    def __init__(self):
        self.synced: list[dict] = []
        self.callbacks: list[dict] = []  # interaction responses (type 4 message, 5 deferred, ...)
        self.followups: list[dict] = []
        self.channel_messages: list[dict] = []
        self.linkable: dict[str, dict] = {}  # message id -> message, for GET channels/{id}/messages/{id}
        self.fetched: list[str] = []  # "channel/message" of every single message fetched
        self.ids = itertools.count(10_000)
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        assert request.headers.get("Authorization") in (f"Bot {TOKEN}", None)
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        if request.content_type.startswith("multipart/"):
            body = {}
            async for part in await request.multipart():
                if part.name == "payload_json":
                    body = await part.json()
        if path == "users/@me":
            return json_response({**USER, "id": "900", "username": "tagsmith", "bot": True})
        if path == "oauth2/applications/@me":
            return json_response({"id": str(APP_ID), "name": "tagsmith", "description": "", "icon": None, "bot_public": True,
                                      "bot_require_code_grant": False, "owner": USER, "verify_key": "00", "flags": 0})
        if path == f"applications/{APP_ID}/commands":
            self.synced = body
            return json_response([{"description": "", **c, "id": str(next(self.ids)), "application_id": str(APP_ID), "version": "1"} for c in body])
        if path.startswith("interactions/"):
            interaction_id = path.split("/")[1]
            self.callbacks.append(body)
            return json_response({"interaction": {"id": interaction_id, "type": 2}, "resource": {"type": body["type"]}})
        if path.startswith(f"webhooks/{APP_ID}/"):
            self.followups.append(body)
            body["_message_id"] = next(self.ids)  # the id the posted message gets
            return json_response(self.message(body["_message_id"], body.get("content", ""), author={**USER, "id": "900", "bot": True}, flags=body.get("flags", 0)))
        if path == f"channels/{CHANNEL_ID}/messages":
            return json_response(self.channel_messages)
        if path.startswith("channels/") and "/messages/" in path:
            channel_id, message_id = path.split("/")[1], path.split("/")[3]
            self.fetched.append(f"{channel_id}/{message_id}")
            if message_id in self.linkable:
                return json_response(self.linkable[message_id])
        return json_response({"message": f"fake Discord has no {request.method} {path}", "code": 0}, status=404)

    async def cdn(self, request: web.Request) -> web.Response:
        return web.Response(body=IMAGE, content_type="image/png")

    def message(self, message_id: int, content: str, author=USER, **extra) -> dict:
        return {"id": str(message_id), "channel_id": str(CHANNEL_ID), "author": author, "content": content,
                "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "tts": False, "mention_everyone": False,
                "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0, **extra}

    def attachment(self, size: int) -> dict:
        return {"id": "700", "filename": "court.png", "size": size, "url": f"{self.base}/cdn/court.png", "proxy_url": f"{self.base}/cdn/court.png",
                "content_type": "image/png", "width": 10, "height": 10}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self.handle)
        app.router.add_get("/cdn/{name}", self.cdn)
        return app


def interaction_payload(data: dict, permissions: str = str(discord.Permissions.all().value), interaction_type: int = 2, **extra) -> dict:
    return {"id": str(next(_interaction_ids)), "application_id": str(APP_ID), "type": interaction_type, "token": "interaction-token",
            "version": 1, "guild_id": str(GUILD_ID), "channel_id": str(CHANNEL_ID),
            "channel": {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "general", "position": 0, "permission_overwrites": []},
            "member": {"user": USER, "roles": [], "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0, "permissions": permissions},
            "app_permissions": "8", "locale": "en-US", "attachment_size_limit": 10_000_000, "entitlements": [], "data": data, **extra}


_interaction_ids = itertools.count(1)


def slash(name: str, **options) -> dict:
    kinds = {str: 3, int: 4}
    return {"id": "1", "name": name, "type": 1, "options": [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]}


@pytest.fixture(autouse=True)
def no_log_record_carries_the_token():
    """Every log record of every test here, as production logging writes it, free of the token."""
    with capture_logs([TOKEN]) as logs:
        yield logs
    assert logs.leaks(TOKEN) == []


@pytest.fixture
async def discord_bot(aiohttp_server):
    """Fake Discord API + fake core; `start()` logs the real bot in (setup_hook syncs the tree)."""
    api, core = FakeDiscordAPI(), FakeCore()
    api_server = await aiohttp_server(api.app())
    core_server = await aiohttp_server(core.app())
    api.base = str(api_server.make_url("")).rstrip("/")
    old_base = discord.http.Route.BASE
    bots: list[HashtagBot] = []

    async def start(core_url: str | None = None, core_timeout: float = 2.0, **overrides) -> HashtagBot:
        config = DiscordConfig(token=TOKEN, api_base=f"{api.base}/api/v10")
        for name, value in overrides.items():
            setattr(config, name, value)
        client = CoreClient(CoreConfig(url=core_url or str(core_server.make_url("")).rstrip("/"), timeout_s=core_timeout, retries=1, backoff_s=0.01))
        bot = HashtagBot(config, client)
        await bot.login(TOKEN)
        bots.append(bot)
        return bot

    api.start, api.core = start, core
    yield api
    for bot in bots:
        await bot.close()
    discord.http.Route.BASE = old_base


async def call(bot: HashtagBot, payload: dict) -> None:
    """What the gateway does with INTERACTION_CREATE, awaited (CommandTree._call: internal, pinned 2.7.1)."""
    await bot.tree._call(discord.Interaction(data=payload, state=bot._connection))


async def test_setup_hook_syncs_slash_commands_and_the_context_menu(discord_bot):
    await discord_bot.start()
    synced = {c["name"]: c for c in discord_bot.synced}
    assert set(synced) == {"hashtag", "hashtag-settings", "Suggest hashtags"}
    assert synced["Suggest hashtags"]["type"] == 3  # message context menu
    assert int(synced["hashtag-settings"]["default_member_permissions"]) == discord.Permissions(manage_guild=True).value


def test_intents_are_minimal_unless_message_content_is_asked_for():
    assert intents_for(DiscordConfig(token="t")).value == discord.Intents(guilds=True).value
    assert intents_for(DiscordConfig(token="t", message_content=True)).message_content


async def test_hashtag_answers_ephemerally_with_a_post_publicly_button(discord_bot):
    bot = await discord_bot.start()
    await call(bot, interaction_payload(slash("hashtag", text="Final set at the Australian Open tonight", count=3)))
    assert discord_bot.callbacks[0]["type"] == 5 and discord_bot.callbacks[0]["data"]["flags"] == EPHEMERAL  # deferred, ephemeral
    followup = discord_bot.followups[0]
    assert followup["content"] == "#AusOpen #Tennis #FinalSet"
    assert followup["flags"] & EPHEMERAL
    button = followup["components"][0]["components"][0]
    assert button["label"] == "Post publicly"
    assert discord_bot.core.requests[0]["text"] == "Final set at the Australian Open tonight"

    # clicking the button posts the same tags publicly (a component interaction on the ephemeral message)
    message = discord_bot.message(followup["_message_id"], followup["content"], flags=EPHEMERAL)
    click = interaction_payload({"custom_id": button["custom_id"], "component_type": 2}, interaction_type=3, message=message)
    bot._connection.parse_interaction_create(click)
    for _ in range(100):
        if len(discord_bot.callbacks) > 1:
            break
        await asyncio.sleep(0.02)
    public = discord_bot.callbacks[1]
    assert public["type"] == 4 and public["data"]["content"] == "#AusOpen #Tennis #FinalSet"
    assert not public["data"].get("flags", 0) & EPHEMERAL


async def test_context_menu_uses_replies_and_the_image_attachment(discord_bot):
    bot = await discord_bot.start()
    target = discord_bot.message(800, "Who wins the final tonight?", attachments=[discord_bot.attachment(len(IMAGE))])
    discord_bot.channel_messages = [
        discord_bot.message(801, "Sinner in straight sets", message_reference={"message_id": "800", "channel_id": str(CHANNEL_ID)}),
        discord_bot.message(802, "unrelated chatter"),
    ]
    data = {"id": "2", "name": "Suggest hashtags", "type": 3, "target_id": "800", "resolved": {"messages": {"800": target}}}
    await call(bot, interaction_payload(data))
    assert discord_bot.callbacks[0]["data"]["flags"] == EPHEMERAL
    assert discord_bot.followups[0]["content"].startswith("#AusOpen #Tennis")
    body = discord_bot.core.requests[0]
    assert body["text"] == "Who wins the final tonight?"
    assert body["thread"] == ["Sinner in straight sets"]
    assert base64.b64decode(body["image"]) == IMAGE


async def test_context_menu_on_an_image_alone_says_images_are_not_supported_yet(discord_bot):
    bot = await discord_bot.start()
    target = discord_bot.message(800, "", attachments=[discord_bot.attachment(len(IMAGE))])
    data = {"id": "2", "name": "Suggest hashtags", "type": 3, "target_id": "800", "resolved": {"messages": {"800": target}}}
    await call(bot, interaction_payload(data))
    assert discord_bot.followups[0]["content"] == fmt.IMAGES_NOT_SUPPORTED


async def test_context_menu_on_an_oversized_image_alone_is_refused(discord_bot):
    bot = await discord_bot.start(max_image_bytes=5)
    target = discord_bot.message(800, "", attachments=[discord_bot.attachment(len(IMAGE))])
    data = {"id": "2", "name": "Suggest hashtags", "type": 3, "target_id": "800", "resolved": {"messages": {"800": target}}}
    await call(bot, interaction_payload(data))
    answer = discord_bot.callbacks[0]
    assert answer["type"] == 4 and answer["data"]["content"] == fmt.too_large(5) and answer["data"]["flags"] == EPHEMERAL
    assert discord_bot.core.requests == []


async def test_core_down_answers_unavailable(discord_bot):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    bot = await discord_bot.start(core_url=dead)
    await call(bot, interaction_payload(slash("hashtag", text="Final set tonight")))
    assert discord_bot.followups[0]["content"] == fmt.UNAVAILABLE
    assert discord_bot.followups[0]["flags"] & EPHEMERAL
    assert "components" not in discord_bot.followups[0] or not discord_bot.followups[0]["components"]


async def test_slow_core_answers_unavailable(discord_bot):
    discord_bot.core.delay_s = 1.0
    bot = await discord_bot.start(core_timeout=0.1)
    await call(bot, interaction_payload(slash("hashtag", text="Final set tonight")))
    assert discord_bot.followups[-1]["content"] == fmt.UNAVAILABLE


async def test_settings_need_manage_server_and_apply_to_suggestions(discord_bot):
    bot = await discord_bot.start()
    await call(bot, interaction_payload(slash("hashtag-settings", count=2), permissions="0"))
    assert discord_bot.callbacks[0]["data"]["content"].startswith("You need the Manage Server permission")
    assert discord_bot.core.settings == {}

    await call(bot, interaction_payload(slash("hashtag-settings", count=2, blocked="#Tennis, spam")))
    assert discord_bot.core.settings[f"discord-{GUILD_ID}"] == {"blocked_tags": ["#Tennis", "#spam"], "max_count": 2, "lang": None}
    assert "Blocked: #Tennis #spam" in discord_bot.followups[0]["content"]

    await call(bot, interaction_payload(slash("hashtag", text="Final set tonight")))
    assert discord_bot.followups[1]["content"] == "#AusOpen #FinalSet"


async def test_rate_limit_per_guild(discord_bot):
    bot = await discord_bot.start(rate_burst=1, rate_window_s=60.0)
    await call(bot, interaction_payload(slash("hashtag", text="first")))
    await call(bot, interaction_payload(slash("hashtag", text="second")))
    assert discord_bot.callbacks[1]["data"]["content"].startswith("Slow down")
    assert discord_bot.callbacks[1]["data"]["flags"] == EPHEMERAL
    assert len(discord_bot.core.requests) == 1


async def test_error_handler_answers_and_logs_without_the_token(discord_bot, caplog):
    bot = await discord_bot.start()
    cog = bot.get_cog("HashtagCog")

    async def broken(*args, **kwargs):
        raise RuntimeError(f"exploded with {TOKEN}")

    cog._answer = broken
    with caplog.at_level(logging.ERROR, logger="bots.discord_bot"):
        await call(bot, interaction_payload(slash("hashtag", text="Final set tonight")))
    assert discord_bot.followups[0]["content"] == fmt.GENERIC_ERROR
    assert f"guild={GUILD_ID}" in caplog.text and "exploded" in caplog.text
    assert TOKEN not in caplog.text


OTHER_GUILD_ID, HIDDEN_CHANNEL_ID, OTHER_CHANNEL_ID = 501, 601, 602
EVERYONE_CAN = discord.Permissions(view_channel=True, read_message_history=True, send_messages=True, use_application_commands=True)


def text_channel(channel_id: int, guild_id: int, deny: discord.Permissions = discord.Permissions.none()) -> dict:
    overwrite = {"id": str(guild_id), "type": 0, "allow": "0", "deny": str(deny.value)}  # on @everyone
    return {"id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": f"c{channel_id}", "position": 0, "permission_overwrites": [overwrite]}


def cache_guild(bot: HashtagBot, guild_id: int, channels: list[dict]) -> None:
    """What GUILD_CREATE puts in the cache (the guilds intent): roles and channels of a server."""
    everyone = {"id": str(guild_id), "name": "@everyone", "permissions": str(EVERYONE_CAN.value), "position": 0,
                "color": 0, "hoist": False, "managed": False, "mentionable": False}
    bot._connection._add_guild_from_data({"id": str(guild_id), "name": f"g{guild_id}", "owner_id": "1", "roles": [everyone],
                                          "channels": channels, "features": [], "emojis": [], "stickers": []})


async def bot_in_two_servers(discord_bot, hidden_deny: discord.Permissions) -> HashtagBot:
    """The bot sees GUILD_ID (general + a channel with `hidden_deny` on @everyone) and OTHER_GUILD_ID."""
    bot = await discord_bot.start()
    cache_guild(bot, GUILD_ID, [text_channel(CHANNEL_ID, GUILD_ID), text_channel(HIDDEN_CHANNEL_ID, GUILD_ID, deny=hidden_deny)])
    cache_guild(bot, OTHER_GUILD_ID, [text_channel(OTHER_CHANNEL_ID, OTHER_GUILD_ID)])
    for message_id, channel_id in (("810", CHANNEL_ID), ("811", HIDDEN_CHANNEL_ID), ("812", OTHER_CHANNEL_ID)):
        discord_bot.linkable[message_id] = {**discord_bot.message(int(message_id), f"secret words {message_id}"), "channel_id": str(channel_id)}
    return bot


def link(guild: int | str, channel: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild}/{channel}/{message_id}"


async def test_thread_link_to_a_channel_the_member_reads_gives_the_conversation(discord_bot):
    bot = await bot_in_two_servers(discord_bot, hidden_deny=discord.Permissions(view_channel=True))
    await call(bot, interaction_payload(slash("hashtag", text="Final set tonight", thread=link(GUILD_ID, CHANNEL_ID, 810))))
    assert discord_bot.followups[0]["content"].startswith("#AusOpen")
    assert discord_bot.core.requests[0]["thread"] == ["secret words 810"]


@pytest.mark.parametrize(
    "thread, hidden_deny",
    [
        (link(OTHER_GUILD_ID, OTHER_CHANNEL_ID, 812), discord.Permissions.none()),  # another server
        (link(GUILD_ID, OTHER_CHANNEL_ID, 812), discord.Permissions.none()),  # another server's channel under this server's id
        (link(GUILD_ID, HIDDEN_CHANNEL_ID, 811), discord.Permissions(view_channel=True)),  # a channel the member cannot see
        (link(GUILD_ID, HIDDEN_CHANNEL_ID, 811), discord.Permissions(read_message_history=True)),  # ... or whose history they cannot read
        (link(GUILD_ID, 603, 813), discord.Permissions.none()),  # a channel the bot does not know
        (link("@me", CHANNEL_ID, 810), discord.Permissions.none()),  # a direct-message link used in a server
    ],
    ids=["other-server", "forged-server-id", "hidden-channel", "no-history", "unknown-channel", "dm-link"],
)
async def test_thread_link_the_member_could_not_read_is_refused_without_fetching(discord_bot, thread, hidden_deny):
    bot = await bot_in_two_servers(discord_bot, hidden_deny=hidden_deny)
    await call(bot, interaction_payload(slash("hashtag", text="Final set tonight", thread=thread)))
    assert discord_bot.followups[0]["content"] == fmt.THREAD_NOT_ALLOWED
    assert discord_bot.followups[0]["flags"] & EPHEMERAL
    assert discord_bot.fetched == [] and discord_bot.core.requests == []


async def test_core_errors_reach_the_member_as_a_sentence_and_the_log_as_text(discord_bot, caplog):
    discord_bot.core.refuse = (403, "key_revoked", "API key 3 was revoked")
    bot = await discord_bot.start()
    with caplog.at_level(logging.WARNING, logger="bots.discord_bot"):
        await call(bot, interaction_payload(slash("hashtag", text="Final set tonight")))
    assert discord_bot.followups[0]["content"] == fmt.MISCONFIGURED
    assert "API key 3 was revoked" in caplog.text and f"guild={GUILD_ID}" in caplog.text
