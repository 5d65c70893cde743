"""The bots' hardening, piece by piece: Retry-After, redaction in any case or encoding, the rate
limit's notice, formatting without the model's code, webhook and history limits, one set of defaults."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote

import pytest

from bots import defaults
from bots import formatting as fmt
from bots.client import CoreClient, CoreConfig, CoreError, CoreUnavailable, Suggestion, retry_after_s
from bots.discord_bot import DiscordConfig
from bots.logsafe import RedactSecrets
from bots.ratelimit import RateLimiter
from bots.run import run_telegram
from bots.telegram_bot import TelegramConfig, WebhookSecretError, check_webhook_secret
from bots.telegram_chat import ChatHistory, pick_photo
from bots.testing import FakeCore

TELEGRAM_TOKEN = "123456:TEST-telegram-token-do-not-leak"


@pytest.fixture
async def fake_core(aiohttp_server):
    fake = FakeCore()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


def client_for(url: str) -> CoreClient:
    return CoreClient(CoreConfig(url=url, timeout_s=2.0, retries=3, backoff_s=0.01, max_retry_after_s=1.0))


# -- the core client ------------------------------------------------------------------------------
async def test_a_503_with_retry_after_is_not_retried_sooner(fake_core):
    fake_core.fail_times, fake_core.retry_after = 1, "0.4"
    client = client_for(fake_core.url)
    started = time.monotonic()
    result = await client.suggest("hello")
    await client.close()
    assert result.suggestions and len(fake_core.requests) == 2
    assert time.monotonic() - started >= 0.4


async def test_a_retry_after_beyond_the_bound_means_unavailable_at_once(fake_core):
    fake_core.fail_times, fake_core.retry_after = 3, "60"
    client = client_for(fake_core.url)
    started = time.monotonic()
    with pytest.raises(CoreUnavailable, match="Retry-After 60 s"):
        await client.suggest("hello")
    await client.close()
    assert len(fake_core.requests) == 1 and time.monotonic() - started < 1.0


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_s("3") == 3.0 and retry_after_s(None) == 0.0 and retry_after_s("soon") == 0.0
    in_five = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5), usegmt=True)
    assert 3.0 < retry_after_s(in_five) <= 5.0
    assert CoreConfig().max_retry_after_s == defaults.CORE_MAX_RETRY_AFTER_S <= 10.0


# -- redaction ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        f"Bad request: bot{TELEGRAM_TOKEN.lower()} has no such file",  # python-telegram-bot lower-cases
        f"GET /file/bot{quote(TELEGRAM_TOKEN, safe='')}/photos/1.jpg",  # percent-encoded
        f"GET /file/bot{quote(TELEGRAM_TOKEN, safe='').lower()}/photos/1.jpg",  # ... with lower-case hex
        f"proxy said {quote(quote(TELEGRAM_TOKEN, safe=''), safe='')}",  # encoded twice
        f"secret alone: {TELEGRAM_TOKEN.split(':')[1].upper()}",
    ],
)
def test_a_named_token_is_redacted_in_any_case_or_encoding(line):
    redacted = RedactSecrets([TELEGRAM_TOKEN]).redact(line)
    assert "do-not-leak" not in redacted.lower() and "***" in redacted


def test_anything_shaped_like_a_bot_token_is_redacted_even_unnamed():
    redact = RedactSecrets([]).redact
    telegram = "7012345678:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
    discord = "MTA5ODc2NTQzMjEwOTg3NjU0.GAbCdE.abcdefghijklmnopqrstuvwxyz012345"
    assert redact(f"https://api.telegram.org/bot{telegram}/getMe") == "https://api.telegram.org/bot***/getMe"
    assert redact(f"/file/bot{telegram.replace(':', '%3a')}/x.jpg") == "/file/bot***/x.jpg"
    assert redact(f"Authorization: Bot {discord}") == "Authorization: Bot ***"
    assert redact("chat=42 at 12:30, 5 tags in 1700000000 ms") == "chat=42 at 12:30, 5 tags in 1700000000 ms"


def test_the_filter_redacts_arguments_tracebacks_and_stacks(caplog):
    caplog.handler.addFilter(RedactSecrets([TELEGRAM_TOKEN]))
    logger = logging.getLogger("test.redact")
    try:
        raise RuntimeError(f"POST /bot{TELEGRAM_TOKEN.upper()}/getMe failed")
    except RuntimeError:
        logger.exception("call failed for %s", quote(TELEGRAM_TOKEN, safe=""), stack_info=True)
    assert "do-not-leak" not in caplog.text.lower() and caplog.text.count("***") >= 2


# -- rate limit -----------------------------------------------------------------------------------
def test_the_window_is_in_seconds_and_refusals_get_one_notice_per_window():
    limiter = RateLimiter(burst=2, window_s=10.0)
    assert [limiter.hit("chat", now=0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(5.0)]
    assert [limiter.notice_due("chat", now=t) for t in (0.0, 1.0, 9.9, 10.0)] == [True, False, False, True]
    assert limiter.notice_due("other chat", now=1.0)
    assert RateLimiter(burst=2, per_s=30.0).window_s == 30.0  # the old name still means the window
    with pytest.raises(ValueError):
        RateLimiter(burst=0)


def test_the_bots_defaults_live_in_one_place():
    for config in (DiscordConfig(token="t"), TelegramConfig(token="t")):
        assert (config.rate_burst, config.rate_window_s, config.count) == (defaults.RATE_BURST, defaults.RATE_WINDOW_S, defaults.COUNT)
        assert not hasattr(config, "rate_per_s")
    assert (RateLimiter().burst, RateLimiter().window_s) == (defaults.RATE_BURST, defaults.RATE_WINDOW_S)
    assert CoreConfig().url == defaults.CORE_URL and CoreConfig().retries == defaults.CORE_RETRIES


# -- formatting -----------------------------------------------------------------------------------
def test_the_bots_never_import_the_model_or_the_extension_api():
    code = (
        "import sys, bots.client, bots.formatting, bots.discord_bot, bots.telegram_bot, bots.run, bots.testing\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('inference', 'extension_api'))\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tags_come_from_the_core_and_words_alone_get_a_local_rule():
    assert fmt.clean_tag(Suggestion(tag="#NBAFinals", words="nba finals")) == "#NBAFinals"  # the core's casing kept
    assert fmt.clean_tag(Suggestion(tag="", words="night session")) == "#NightSession"
    assert fmt.clean_tag(Suggestion(tag="#", words="iPhone case")) == "#iPhoneCase"
    assert fmt.clean_tag(Suggestion(tag="", words="澳网 决赛")) == "#澳网决赛"
    assert fmt.clean_tag(Suggestion(tag="", words="")) == ""


def test_tags_equal_ignoring_case_are_one_tag():
    suggestions = [Suggestion(tag=t) for t in ("#AusOpen", "#ausopen", "#AUSOPEN", "#Tennis", "#FinalSet")]
    assert fmt.pick_tags(suggestions, 10) == ["#AusOpen", "#Tennis", "#FinalSet"]
    assert fmt.pick_tags(suggestions, 10, blocked=[" #TENNIS ", "ausopen"]) == ["#FinalSet"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 429, 500])
def test_people_never_see_the_cores_error_text(status):
    sentence = fmt.core_error_sentence(CoreError(status, "key_revoked", "API key 3 was revoked"))
    assert "API key" not in sentence and sentence.endswith(".")


# -- Telegram: webhook and memory -----------------------------------------------------------------
@pytest.mark.parametrize("secret", [None, "", "too-short", "long enough but has spaces", "x" * 257])
def test_a_webhook_secret_is_required_and_well_formed(secret):
    with pytest.raises(WebhookSecretError):
        check_webhook_secret(secret)


def test_webhook_listens_on_localhost_by_default():
    assert TelegramConfig(token=TELEGRAM_TOKEN).webhook_listen == "127.0.0.1"
    assert TelegramConfig.from_env({"TELEGRAM_TOKEN": TELEGRAM_TOKEN}).webhook_listen == "127.0.0.1"


def test_webhook_mode_without_a_secret_refuses_to_start(monkeypatch):
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://127.0.0.1:8443/telegram")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="needs TELEGRAM_WEBHOOK_SECRET"):
        run_telegram(argparse.Namespace(webhook_url=None, webhook_listen=None, webhook_port=None))


def test_chat_history_forgets_the_least_recently_active_chat_and_old_messages():
    from telegram import Chat, Message

    def seen(chat_id: int, message_id: int) -> Message:
        return Message(message_id, datetime.now(timezone.utc), Chat(chat_id, "supergroup"), text="x" * 5000)

    history = ChatHistory(per_chat=3, max_chats=2)
    history.record(seen(1, 1))
    history.record(seen(2, 1))
    history.record(seen(1, 2))  # chat 1 active again: chat 2 is now the least recently active
    history.record(seen(3, 1))
    assert len(history) == 2 and history.messages_in(2) == 0 and history.messages_in(1) == 2
    for message_id in range(3, 10):
        history.record(seen(1, message_id))
    assert history.messages_in(1) == 3
    assert len(history._chats[1][9][0]) == history.text_chars
    assert (ChatHistory().max_chats, ChatHistory().per_chat) == (defaults.TELEGRAM_HISTORY_CHATS, defaults.TELEGRAM_HISTORY_PER_CHAT)


def test_pick_photo_prefers_the_largest_size_under_the_limit():
    from telegram import PhotoSize

    sizes = [PhotoSize("a", "ua", 90, 90, file_size=100), PhotoSize("b", "ub", 800, 800, file_size=5000), PhotoSize("c", "uc", 1280, 1280, file_size=9000)]
    assert pick_photo(sizes, 6000).file_id == "b"
    assert pick_photo(sizes, 50) is None
