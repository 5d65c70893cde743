"""Entry points: `tagsmith discord` and `tagsmith telegram`.

Configuration comes from the environment (tokens never on the command line, where `ps` shows
them): DISCORD_TOKEN / TELEGRAM_TOKEN, TAGSMITH_URL (default http://127.0.0.1:8080),
TAGSMITH_API_KEY, DISCORD_API_BASE, TELEGRAM_BASE_URL / TELEGRAM_BASE_FILE_URL,
TELEGRAM_WEBHOOK_URL (webhook mode instead of polling; it needs TELEGRAM_WEBHOOK_SECRET, and
listens on TELEGRAM_WEBHOOK_LISTEN, default 127.0.0.1, behind your HTTPS proxy).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from urllib.parse import urlparse

from bots import logsafe
from bots.client import CoreClient, CoreConfig

log = logging.getLogger(__name__)


def run_discord(args: argparse.Namespace) -> int:
    from bots.discord_bot import DiscordConfig, HashtagBot

    logsafe.install()
    config = DiscordConfig.from_env()
    if getattr(args, "sync_guild", None):
        config.sync_guild = args.sync_guild
    core = CoreClient(CoreConfig.from_env())
    log.info("discord bot: core at %s, message content intent %s", core.config.url, "on" if config.message_content else "off")
    HashtagBot(config, core).run(config.token, log_handler=None)  # logging is ours (redacting)
    return 0


def run_telegram(args: argparse.Namespace) -> int:
    from telegram import Update
    from telegram.error import NetworkError

    from bots.telegram_bot import TelegramConfig, WebhookSecretError, build_application, check_webhook_secret

    config = TelegramConfig.from_env()
    for name in ("webhook_url", "webhook_listen", "webhook_port"):
        if getattr(args, name, None):
            setattr(config, name, getattr(args, name))
    if config.webhook_url:
        try:
            check_webhook_secret(config.webhook_secret)
        except WebhookSecretError as exc:
            raise SystemExit(f"error: {exc}") from None
    logsafe.install()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every polling URL, token included
    core = CoreClient(CoreConfig.from_env())
    app = build_application(config, core)
    log.info("telegram bot: core at %s, %s", core.config.url, "webhook" if config.webhook_url else "polling")
    # no network: one line saying so (below), not the library's logged retry traceback
    logging.getLogger("telegram.ext").addFilter(lambda record: "Network Retry Loop (Bootstrap" not in record.getMessage())
    try:
        if config.webhook_url:
            asyncio.run(serve_webhook(app, config))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except KeyboardInterrupt:
        pass
    except NetworkError as exc:
        raise SystemExit(f"error: cannot reach Telegram ({str(exc).replace(config.token, '<token>')}); "
                         "check the network or TELEGRAM_BASE_URL") from None
    return 0


async def serve_webhook(app, config) -> None:
    """Webhook mode: Telegram POSTs updates to our aiohttp app (behind your HTTPS proxy)."""
    from aiohttp import web
    from telegram import Update

    from bots.telegram_bot import webhook_app

    secret = config.webhook_secret
    path = urlparse(config.webhook_url).path or "/telegram"
    runner = web.AppRunner(webhook_app(app, secret=secret, path=path))
    async with app:  # initialize ... shutdown
        await app.start()
        await app.bot.set_webhook(url=config.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        await runner.setup()
        await web.TCPSite(runner, config.webhook_listen, config.webhook_port).start()
        log.info("webhook listening on %s:%d%s", config.webhook_listen, config.webhook_port, path)
        try:
            await asyncio.Event().wait()  # until interrupted
        finally:
            await runner.cleanup()
            await app.stop()
            await app.bot_data["hashtag_bot"].core.close()
