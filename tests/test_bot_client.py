"""The bots' shared core client, formatting, rate limiter and log redaction, against a fake core."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from bots import formatting as fmt
from bots.client import CommunitySettings, CoreClient, CoreConfig, CoreError, CoreUnavailable, ImagesNotSupported, Suggestion
from bots.logsafe import RedactSecrets
from bots.ratelimit import RateLimiter
from bots.testing import FakeCore


def free_port() -> int:
    """A port nothing listens on: connecting to it is refused ("core down")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def fake_core(aiohttp_server):
    fake = FakeCore(api_key="core-secret-key")
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


def client_for(url: str, **overrides) -> CoreClient:
    config = CoreConfig(url=url, api_key="core-secret-key", timeout_s=2.0, retries=2, backoff_s=0.01)
    for name, value in overrides.items():
        setattr(config, name, value)
    return CoreClient(config)


async def test_suggest_sends_the_contract_body_with_the_api_key(fake_core):
    client = client_for(fake_core.url)
    result = await client.suggest("Final set tonight", thread=["what a match"], hashtags=["#tennis"], image=b"\x89PNG", k=3, lang="en")
    await client.close()
    assert [s.tag for s in result.suggestions] == ["#AusOpen", "#Tennis", "#ausopen"]
    assert result.model == "fake@0"
    body = fake_core.requests[0]
    assert body == {"text": "Final set tonight", "thread": ["what a match"], "hashtags": ["#tennis"], "image": "iVBORw==", "k": 3, "lang": "en"}


async def test_wrong_api_key_is_a_core_error_not_a_retry(fake_core):
    client = client_for(fake_core.url, api_key="wrong")
    with pytest.raises(CoreError) as info:
        await client.suggest("hello")
    await client.close()
    assert info.value.status == 401 and not isinstance(info.value, CoreUnavailable)
    assert len(fake_core.requests) == 0


async def test_transient_503_is_retried_with_backoff(fake_core):
    fake_core.fail_times = 2
    client = client_for(fake_core.url)
    result = await client.suggest("hello")
    await client.close()
    assert result.suggestions and len(fake_core.requests) == 3


async def test_core_down_raises_unavailable_after_retries():
    client = client_for(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(CoreUnavailable):
        await client.suggest("hello")
    await client.close()
    assert time.monotonic() - started < 2.0


async def test_slow_core_times_out_as_unavailable(fake_core):
    fake_core.delay_s = 1.0
    client = client_for(fake_core.url, timeout_s=0.1, retries=1)
    with pytest.raises(CoreUnavailable):
        await client.suggest("hello")
    await client.close()
    assert len(fake_core.requests) == 2


async def test_image_alone_answers_images_not_supported(fake_core):
    client = client_for(fake_core.url)
    with pytest.raises(ImagesNotSupported):
        await client.suggest("", image=b"jpeg bytes")
    await client.close()


async def test_settings_default_when_none_stored_and_round_trip(fake_core):
    client = client_for(fake_core.url)
    assert await client.get_settings("discord-1") == CommunitySettings()
    stored = await client.put_settings("discord-1", CommunitySettings(blocked_tags=["#Spam"], max_count=3, lang="en"))
    assert stored.max_count == 3
    client._settings_cache.clear()
    assert await client.get_settings("discord-1") == CommunitySettings(blocked_tags=["#Spam"], max_count=3, lang="en")
    await client.close()


def test_pick_tags_cleans_dedupes_and_blocks():
    suggestions = [Suggestion(**{k: v for k, v in s.items()}) for s in FakeCore().suggestions]
    assert fmt.pick_tags(suggestions, 10) == ["#AusOpen", "#Tennis", "#FinalSet", "#NightSession"]
    assert fmt.pick_tags(suggestions, 2, blocked=["tennis"]) == ["#AusOpen", "#FinalSet"]
    assert fmt.format_tags(["#AusOpen", "#Tennis"]) == "#AusOpen #Tennis"
    assert fmt.format_tags([]) == fmt.NO_SUGGESTIONS


def test_rate_limiter_allows_a_burst_then_asks_to_wait():
    limiter = RateLimiter(burst=2, per_s=10.0)
    assert limiter.hit("chat", now=0.0) == 0.0
    assert limiter.hit("chat", now=0.0) == 0.0
    assert limiter.hit("chat", now=0.0) == pytest.approx(5.0)
    assert limiter.hit("other", now=0.0) == 0.0
    assert limiter.hit("chat", now=5.0) == 0.0


def test_log_redaction_removes_tokens_from_messages_and_tracebacks(caplog):
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactSecrets(["123456:ABC-secret-token"]))
    try:
        raise RuntimeError("POST https://api.telegram.org/bot123456:ABC-secret-token/getMe failed")
    except RuntimeError:
        logger.exception("call failed for %s", "bot123456:ABC-secret-token")
    text = caplog.text
    assert "ABC-secret-token" not in text and "***" in text
