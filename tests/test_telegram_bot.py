"""The Telegram bot: the real python-telegram-bot Application, polling a fake Bot API server.

Both the Bot API (getMe, getUpdates, getFile, file download, sendMessage, answerInlineQuery) and
the core service are small aiohttp servers on 127.0.0.1; nothing touches the real network.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import socket

from urllib.parse import quote

import pytest
from aiohttp import web

from bots import formatting as fmt
from bots.client import CoreClient, CoreConfig
from bots.telegram_bot import TelegramConfig, build_application, webhook_app
from bots.testing import FakeCore, capture_logs

TOKEN = "123456:TEST-telegram-token-do-not-leak"
BOT_ID = 999
USERNAME = "tagsmith_bot"
PHOTO_BYTES = {"small": b"\xff\xd8small-jpeg" * 10, "big": b"\xff\xd8big-jpeg" * 2000}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ann"}
GROUP = {"id": -100, "type": "supergroup", "title": "Tennis fans"}
ANN = {"id": 7, "is_bot": False, "first_name": "Ann"}
BEN = {"id": 8, "is_bot": False, "first_name": "Ben"}
WEBHOOK_SECRET = "hook-secret-0123456789"


class FakeBotAPI:
    """Just enough of the Telegram Bot API; records what the bot sends."""

    def __init__(self):
        self.pending: list[dict] = []
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1000)
        self.sent: list[dict] = []  # sendMessage parameters
        self.inline_answers: list[dict] = []
        self.file_requests: list[str] = []
        self.fail_get_file = False
        self.changed = asyncio.Event()

    def deliver(self, **update) -> None:
        self.pending.append({"update_id": next(self.update_ids), **update})
        self.changed.set()

    def ok(self, result) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def method(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        params = dict(await request.post()) if request.can_read_body else {}
        name = request.match_info["method"]
        if name == "getMe":
            return self.ok({"id": BOT_ID, "is_bot": True, "first_name": "Tagsmith", "username": USERNAME, "supports_inline_queries": True})
        if name == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
            if not self.pending:
                self.changed.clear()
                try:  # a short long-poll: fast to answer new updates, fast to stop
                    await asyncio.wait_for(self.changed.wait(), 0.2)
                except asyncio.TimeoutError:
                    pass
            return self.ok(self.pending)
        if name == "getFile":
            self.file_requests.append(params["file_id"])
            if self.fail_get_file:
                # python-telegram-bot lower-cases this text (str.capitalize); the file URL is percent-encoded
                description = f"Bad Request: bot{TOKEN} has no such file (/file/bot{quote(TOKEN, safe='')}/photos/big.jpg)"
                return web.json_response({"ok": False, "error_code": 400, "description": description}, status=400)
            data = PHOTO_BYTES[params["file_id"]]
            return self.ok({"file_id": params["file_id"], "file_unique_id": "u" + params["file_id"], "file_size": len(data), "file_path": f"photos/{params['file_id']}.jpg"})
        if name == "sendMessage":
            params = {k: (json.loads(v) if k == "reply_parameters" else v) for k, v in params.items()}
            self.sent.append(params)
            chat_id = int(params["chat_id"])
            chat = PRIVATE if chat_id == PRIVATE["id"] else GROUP
            return self.ok({"message_id": next(self.message_ids), "date": 1700000000, "chat": chat, "text": params["text"],
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tagsmith", "username": USERNAME}})
        if name == "answerInlineQuery":
            self.inline_answers.append({k: (json.loads(v) if k in ("results", "button") else v) for k, v in params.items()})
            return self.ok(True)
        return self.ok(True)  # deleteWebhook, sendChatAction, ...

    async def file(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        name = request.match_info["path"].split("/")[-1].removesuffix(".jpg")
        return web.Response(body=PHOTO_BYTES[name], content_type="image/jpeg")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.method)
        app.router.add_get("/file/bot{token}/{path:.*}", self.file)
        return app

    async def settle(self, quiet_s: float = 0.3, timeout: float = 10.0) -> list[dict]:
        """Wait until every delivered update was fetched and the bot has sent nothing for quiet_s."""
        for _ in range(int(timeout / 0.02)):
            if not self.pending:
                break
            await asyncio.sleep(0.02)
        count = -1
        while count != len(self.sent):
            count = len(self.sent)
            await asyncio.sleep(quiet_s)
        return self.sent

    async def wait_sent(self, n: int = 1, timeout: float = 5.0) -> list[dict]:
        for _ in range(int(timeout / 0.02)):
            if len(self.sent) >= n:
                return self.sent
            await asyncio.sleep(0.02)
        raise AssertionError(f"the bot sent {len(self.sent)} messages, expected {n}: {self.sent}")


def message(message_id: int, chat=PRIVATE, sender=ANN, **fields) -> dict:
    return {"message_id": message_id, "date": 1700000000, "chat": chat, "from": sender, **fields}


def photo_sizes() -> list[dict]:
    return [
        {"file_id": "small", "file_unique_id": "us", "width": 90, "height": 90, "file_size": len(PHOTO_BYTES["small"])},
        {"file_id": "big", "file_unique_id": "ub", "width": 1280, "height": 960, "file_size": len(PHOTO_BYTES["big"])},
    ]


@pytest.fixture(autouse=True)
def no_log_record_carries_the_token():
    """Every log record of every test here, as production logging writes it, free of the token."""
    with capture_logs([TOKEN]) as logs:
        yield logs
    assert logs.leaks(TOKEN) == []


@pytest.fixture
async def telegram(aiohttp_server):
    """Start fake Bot API + fake core; `start(**config)` runs the real Application polling them."""
    api, core = FakeBotAPI(), FakeCore()
    api_server = await aiohttp_server(api.app())
    core_server = await aiohttp_server(core.app())
    base = str(api_server.make_url("")).rstrip("/")
    started = []

    async def start(core_url: str | None = None, core_timeout: float = 2.0, **overrides):
        config = TelegramConfig(token=TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", concurrent_updates=1)
        for name, value in overrides.items():
            setattr(config, name, value)
        client = CoreClient(CoreConfig(url=core_url or str(core_server.make_url("")).rstrip("/"), timeout_s=core_timeout, retries=1, backoff_s=0.01))
        app = build_application(config, client)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        started.append(app)
        return app

    api.start, api.core, api.base = start, core, base
    yield api
    for app in started:
        if app.updater.running:
            await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.bot_data["hashtag_bot"].core.close()  # post_shutdown runs only under run_polling


async def test_photo_with_caption_gets_hashtags_from_image_and_caption(telegram):
    await telegram.start()
    telegram.deliver(message=message(1, photo=photo_sizes(), caption="Final set tonight"))
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == "#AusOpen #Tennis #FinalSet #NightSession"
    assert sent[0]["chat_id"] == "42"
    body = telegram.core.requests[0]
    assert body["text"] == "Final set tonight"
    assert base64.b64decode(body["image"]) == PHOTO_BYTES["big"]  # the largest size under the limit


async def test_largest_photo_size_under_the_limit_is_downloaded(telegram):
    await telegram.start(max_image_bytes=len(PHOTO_BYTES["small"]) + 1)
    telegram.deliver(message=message(1, photo=photo_sizes(), caption="Final set tonight"))
    await telegram.wait_sent(1)
    assert telegram.file_requests == ["small"]
    assert base64.b64decode(telegram.core.requests[0]["image"]) == PHOTO_BYTES["small"]


async def test_oversized_photo_gets_a_clear_answer_without_calling_the_core(telegram):
    await telegram.start(max_image_bytes=10)
    telegram.deliver(message=message(1, photo=photo_sizes()))
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == fmt.too_large(10)
    assert telegram.core.requests == [] and telegram.file_requests == []


async def test_photo_without_caption_says_images_are_not_supported_yet(telegram):
    await telegram.start()
    telegram.deliver(message=message(1, photo=photo_sizes()))
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == fmt.IMAGES_NOT_SUPPORTED
    assert base64.b64decode(telegram.core.requests[0]["image"]) == PHOTO_BYTES["big"]


async def test_hashtag_reply_uses_the_reply_chain_as_conversation(telegram):
    """In a group (privacy off) the bot stays silent but remembers; /hashtag as a reply to B
    suggests for B with A, the message B replies to, as the conversation."""
    await telegram.start()
    a = message(1, chat=GROUP, sender=ANN, text="Who wins the final tonight?")
    b = message(2, chat=GROUP, sender=BEN, text="Sinner in straight sets", reply_to_message=a)
    telegram.deliver(message=a)
    telegram.deliver(message=b)
    b_nested = {k: v for k, v in b.items() if k != "reply_to_message"}  # the Bot API nests one level only
    telegram.deliver(message=message(3, chat=GROUP, sender=ANN, text="/hashtag", entities=[{"type": "bot_command", "offset": 0, "length": 8}], reply_to_message=b_nested))
    sent = await telegram.wait_sent(1)
    assert len(sent) == 1  # A and B were not addressed to the bot
    assert sent[0]["text"].startswith("#AusOpen")
    assert sent[0]["reply_parameters"]["message_id"] == 3
    assert telegram.core.requests == [{"text": "Sinner in straight sets", "thread": ["Who wins the final tonight?"], "hashtags": [], "k": 12}]  # two spare for duplicates


async def test_hashtag_replying_to_a_photo_in_a_group_uses_the_photo(telegram):
    await telegram.start()
    photo = message(1, chat=GROUP, sender=BEN, photo=photo_sizes(), caption="Rod Laver Arena")
    telegram.deliver(message=message(2, chat=GROUP, text="/hashtag", entities=[{"type": "bot_command", "offset": 0, "length": 8}], reply_to_message=photo))
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"].startswith("#AusOpen")
    assert telegram.core.requests[0]["text"] == "Rod Laver Arena"
    assert base64.b64decode(telegram.core.requests[0]["image"]) == PHOTO_BYTES["big"]


async def test_hashtag_command_with_text_and_group_mention(telegram):
    await telegram.start()
    telegram.deliver(message=message(1, chat=GROUP, text="/hashtag what a final", entities=[{"type": "bot_command", "offset": 0, "length": 8}]))
    await telegram.wait_sent(1)
    telegram.deliver(message=message(2, chat=GROUP, text=f"@{USERNAME} night session at the Rod Laver Arena", entities=[{"type": "mention", "offset": 0, "length": 13}]))
    await telegram.wait_sent(2)
    assert [r["text"] for r in telegram.core.requests] == ["what a final", "night session at the Rod Laver Arena"]


async def test_unsupported_content_gets_a_clear_answer_and_groups_stay_quiet(telegram):
    await telegram.start()
    sticker = {"file_id": "st", "file_unique_id": "ust", "width": 512, "height": 512, "is_animated": False, "is_video": False, "type": "regular"}
    telegram.deliver(message=message(1, chat=GROUP, sticker=sticker))  # not addressed: ignored
    telegram.deliver(message=message(2, video={"file_id": "v", "file_unique_id": "uv", "width": 640, "height": 480, "duration": 3}))
    sent = await telegram.wait_sent(1)
    await asyncio.sleep(0.1)
    assert [m["text"] for m in sent] == [fmt.UNSUPPORTED_CONTENT.format(what="a video")]
    assert telegram.core.requests == []


async def test_core_down_answers_unavailable_and_keeps_running(telegram):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    await telegram.start(core_url=dead)
    telegram.deliver(message=message(1, text="Final set tonight"))
    telegram.deliver(message=message(2, text="/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}]))
    sent = await telegram.wait_sent(2)
    assert sent[0]["text"] == fmt.UNAVAILABLE
    assert sent[1]["text"].startswith("Send me a post")


async def test_slow_core_answers_unavailable(telegram):
    telegram.core.delay_s = 1.0
    await telegram.start(core_timeout=0.1)
    telegram.deliver(message=message(1, text="Final set tonight"))
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == fmt.UNAVAILABLE


async def test_inline_query_answers_tappable_results(telegram):
    await telegram.start()
    telegram.deliver(inline_query={"id": "iq1", "from": ANN, "query": "Final set tonight", "offset": ""})
    for _ in range(250):
        if telegram.inline_answers:
            break
        await asyncio.sleep(0.02)
    results = telegram.inline_answers[0]["results"]
    assert results[0]["input_message_content"]["message_text"] == "Final set tonight\n\n#AusOpen #Tennis #FinalSet #NightSession"
    assert [r["title"] for r in results[2:]] == ["#AusOpen", "#Tennis", "#FinalSet", "#NightSession"]


async def test_rate_limit_per_chat(telegram):
    await telegram.start(rate_burst=1, rate_window_s=60.0)
    telegram.deliver(message=message(1, text="first post"))
    telegram.deliver(message=message(2, text="second post"))
    sent = await telegram.wait_sent(2)
    assert sent[1]["text"].startswith("Slow down: try again in")
    assert len(telegram.core.requests) == 1


async def test_error_handler_logs_context_without_the_token_and_answers(telegram, caplog, no_log_record_carries_the_token):
    telegram.fail_get_file = True
    await telegram.start()
    with caplog.at_level(logging.ERROR, logger="bots.telegram_bot"):
        telegram.deliver(message=message(1, photo=photo_sizes(), caption="Final set"))
        sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == fmt.GENERIC_ERROR
    assert "chat=42" in caplog.text and "has no such file" in caplog.text
    assert TOKEN.casefold() not in caplog.text.casefold() and quote(TOKEN, safe="").casefold() not in caplog.text.casefold()
    # the bot's own error line held the token lower-cased and percent-encoded: both redacted
    error_line = next(line for line in no_log_record_carries_the_token.own if "has no such file" in line)
    assert error_line.count("***") >= 2


async def test_webhook_mode_queues_posted_updates(telegram, aiohttp_client):
    app = await telegram.start()
    await app.updater.stop()  # webhook instead of polling
    client = await aiohttp_client(webhook_app(app, secret=WEBHOOK_SECRET))
    update = {"update_id": 77, "message": message(1, text="Final set tonight")}
    assert (await client.post("/telegram", json=update)).status == 403
    assert (await client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})).status == 200
    sent = await telegram.wait_sent(1)
    assert sent[0]["text"].startswith("#AusOpen")


def command(message_id: int, text: str, chat=PRIVATE, **fields) -> dict:
    entity = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
    return message(message_id, chat=chat, text=text, entities=[entity], **fields)


STICKER = {"file_id": "st", "file_unique_id": "ust", "width": 512, "height": 512, "is_animated": False, "is_video": False, "type": "regular"}


async def test_a_flood_from_one_chat_gets_its_burst_of_answers_and_one_notice(telegram):
    await telegram.start()  # the defaults: 5 answers per 10 s
    for i in range(30):
        telegram.deliver(message=message(i + 1, text=f"post number {i}"))
    await telegram.wait_sent(6)
    sent = await telegram.settle()
    assert [m["text"].startswith("Slow down") for m in sent] == [False] * 5 + [True]
    assert len(telegram.core.requests) == 5


async def test_stickers_help_and_bare_hashtag_count_against_the_chat_budget(telegram):
    await telegram.start(rate_burst=1, rate_window_s=60.0)
    ids = itertools.count(1)
    for _ in range(30):
        telegram.deliver(message=message(next(ids), sticker=STICKER))
        telegram.deliver(message=command(next(ids), "/help"))
        telegram.deliver(message=command(next(ids), "/hashtag"))
    await telegram.wait_sent(2)
    sent = await telegram.settle()
    assert [m["text"] for m in sent] == [fmt.UNSUPPORTED_CONTENT.format(what="a sticker"), fmt.slow_down(60.0)]
    telegram.deliver(message=command(next(ids), "/help", chat=GROUP))  # another chat has its own budget
    sent = await telegram.wait_sent(3)
    assert sent[2]["text"].startswith("Send me a post") and sent[2]["chat_id"] == str(GROUP["id"])


async def test_a_group_flood_of_commands_gets_one_answer_and_one_notice(telegram):
    await telegram.start(rate_burst=1, rate_window_s=60.0)
    for i in range(30):
        telegram.deliver(message=command(i + 1, f"/hashtag@{USERNAME} post {i}", chat=GROUP))
    await telegram.wait_sent(2)
    sent = await telegram.settle()
    assert len(sent) == 2 and sent[1]["text"].startswith("Slow down")
    assert len(telegram.core.requests) == 1


async def test_edits_are_never_answered_and_cost_nothing(telegram):
    await telegram.start(rate_burst=2, rate_window_s=60.0)
    telegram.deliver(message=message(1, text="Final set tonight"))
    await telegram.wait_sent(1)
    for i in range(5):
        telegram.deliver(edited_message=message(1, text=f"Final set tonight (edit {i})", edit_date=1700000100 + i))
        telegram.deliver(edited_message=command(2, f"/hashtag edit {i}", edit_date=1700000100 + i))
    telegram.deliver(message=message(3, text="Night session next"))
    await telegram.wait_sent(2)
    sent = await telegram.settle()
    assert len(sent) == 2 and not any(m["text"].startswith("Slow down") for m in sent)
    assert [r["text"] for r in telegram.core.requests] == ["Final set tonight", "Night session next"]


async def test_core_errors_reach_the_chat_as_a_sentence_and_the_log_as_text(telegram, caplog):
    telegram.core.refuse = (403, "key_revoked", "API key 3 was revoked")
    await telegram.start()
    with caplog.at_level(logging.WARNING, logger="bots.telegram_bot"):
        telegram.deliver(message=message(1, text="Final set tonight"))
        sent = await telegram.wait_sent(1)
    assert sent[0]["text"] == fmt.MISCONFIGURED
    assert "API key 3 was revoked" in caplog.text and "chat=42" in caplog.text


async def test_webhook_needs_a_secret_and_refuses_forged_updates(telegram, aiohttp_client):
    app = await telegram.start()
    await app.updater.stop()  # webhook instead of polling
    client = await aiohttp_client(webhook_app(app, secret=WEBHOOK_SECRET))
    forged = {"update_id": 78, "message": command(1, "/hashtag buy followers", chat=GROUP)}
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"}):
        assert (await client.post("/telegram", json=forged, headers=headers)).status == 403
    await telegram.settle(quiet_s=0.2)
    assert telegram.sent == [] and telegram.core.requests == []
