"""The Telegram bot: python-telegram-bot 22 Application, handlers and filters.

- A photo (with or without caption) sent to the bot, or `/hashtag` replying to a photo: hashtags
  for the image (largest size under the limit) and the caption.
- `/hashtag <text>`; `/hashtag` as a reply: that message plus the reply chain above it as the
  conversation (the Bot API nests only one reply level, so the chain comes from the messages the
  bot has seen in that chat, kept in memory).
- Groups: answers only when commanded, mentioned (@bot) or replied to; works with privacy mode on.
- Inline mode: `@bot some text` -> results the person taps to send.
- Video, stickers, voice, files: a clear sentence instead of silence.

Flood control: every answer in a chat (suggestions, /help, usage lines, "not supported"
sentences) takes one token of the chat's budget (`rate_burst` answers per `rate_window_s`
seconds); past it the bot says "Slow down" at most once per window and otherwise stays silent.
Edited messages are never answered (the edit only updates the remembered text; reply /hashtag
to it for fresh tags). Webhook mode needs a secret, checked in constant time.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import traceback
from dataclasses import dataclass

from aiohttp import web
from telegram import InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent, Message, Update
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bots import defaults
from bots import formatting as fmt
from bots.client import CoreClient, CoreError, CoreUnavailable, ImagesNotSupported
from bots.logsafe import RedactSecrets
from bots.ratelimit import RateLimiter
from bots.telegram_chat import AddressedToBot, ChatHistory, message_text, pick_photo, strip_mention, unsupported_kind

log = logging.getLogger(__name__)


COMMANDS = ("hashtag", "start", "help")
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token


class WebhookSecretError(ValueError):
    """Webhook mode without a usable secret: forged updates would be accepted."""


@dataclass
class TelegramConfig:
    token: str
    base_url: str = "https://api.telegram.org/bot"  # TELEGRAM_BASE_URL: a self-hosted Bot API server
    base_file_url: str = "https://api.telegram.org/file/bot"
    count: int = defaults.COUNT  # hashtags per answer
    max_image_bytes: int = defaults.TELEGRAM_MAX_IMAGE_BYTES  # largest photo size sent to the core
    thread_depth: int = defaults.THREAD_DEPTH  # reply-chain messages used as conversation
    history_per_chat: int = defaults.TELEGRAM_HISTORY_PER_CHAT  # messages remembered per chat for reply chains
    history_chats: int = defaults.TELEGRAM_HISTORY_CHATS  # chats remembered (least recently active forgotten)
    rate_burst: int = defaults.RATE_BURST  # answers per chat (per person for inline queries) ...
    rate_window_s: float = defaults.RATE_WINDOW_S  # ... per this many seconds
    concurrent_updates: int = defaults.TELEGRAM_CONCURRENT_UPDATES  # one slow core call must not hold up other chats
    webhook_url: str | None = None  # public URL: webhook mode instead of polling
    webhook_listen: str = defaults.TELEGRAM_WEBHOOK_LISTEN  # behind your HTTPS proxy
    webhook_port: int = defaults.TELEGRAM_WEBHOOK_PORT
    webhook_secret: str | None = None  # required in webhook mode

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "TelegramConfig":
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_TOKEN", "")
        if not token:
            raise SystemExit("error: set TELEGRAM_TOKEN to the token @BotFather gave you")
        return cls(
            token=token,
            base_url=env.get("TELEGRAM_BASE_URL", cls.base_url),
            base_file_url=env.get("TELEGRAM_BASE_FILE_URL", cls.base_file_url),
            count=int(env.get("TAGSMITH_BOT_COUNT", cls.count)),
            max_image_bytes=int(env.get("TAGSMITH_MAX_IMAGE_BYTES", cls.max_image_bytes)),
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", cls.webhook_listen),
            webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", cls.webhook_port)),
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        )


class TelegramHashtagBot:
    """Holds the core client, the limits and the chat history; its methods are the handlers."""

    def __init__(self, config: TelegramConfig, core: CoreClient):
        self.config, self.core = config, core
        self.limiter = RateLimiter(burst=config.rate_burst, window_s=config.rate_window_s)
        self.history = ChatHistory(per_chat=config.history_per_chat, max_chats=config.history_chats)
        self.redactor = RedactSecrets([config.token, core.config.api_key or "", config.webhook_secret or ""])

    # -- handlers ------------------------------------------------------------------------------
    async def remember(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group -2: record every message seen (edits too), so later replies can rebuild their chain."""
        if update.effective_message is not None:
            self.history.record(update.effective_message)

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group -1: each answer costs the chat a token; past the limit one notice per window, then silence."""
        chat_id = update.effective_chat.id
        wait = self.limiter.hit(chat_id)
        if not wait:
            return
        if self.limiter.notice_due(chat_id):
            await update.effective_message.reply_text(fmt.slow_down(wait))
        raise ApplicationHandlerStop

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot does."""
        await update.effective_message.reply_text(
            "Send me a post's text or a photo and I answer with hashtags.\n"
            "/hashtag <text> - hashtags for that text\n"
            "/hashtag as a reply - hashtags for that message and the replies above it\n"
            f"Inline: @{context.bot.username} <text> in any chat."
        )

    async def hashtag_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/hashtag <text>, or /hashtag as a reply: hashtags for that text or message."""
        message = update.effective_message
        text = " ".join(context.args or []).strip()
        target = message.reply_to_message
        if text:  # /hashtag <text> (as a reply: the chain above it is the conversation)
            thread = self._conversation(target, include_target=True)
            await self._suggest(message, text, thread)
        elif target is not None:
            await self._suggest_for(message, target)
        else:
            await message.reply_text("Usage: /hashtag <text>, or reply /hashtag to a message or a photo.")

    async def photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo (or image file) addressed to the bot: hashtags for it and its caption."""
        await self._suggest_for(update.effective_message, update.effective_message)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text addressed to the bot: hashtags for it."""
        message = update.effective_message
        await self._suggest_for(message, message)

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Video, stickers, voice, files: say what the bot cannot tag."""
        message = update.effective_message
        await message.reply_text(fmt.UNSUPPORTED_CONTENT.format(what=unsupported_kind(message) or "that"))

    async def inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """@bot <text> in any chat: tappable results (rate limited per person)."""
        query = update.inline_query
        text = query.query.strip()
        if not text:
            await query.answer([], cache_time=300)
            return
        wait = self.limiter.hit(("inline", query.from_user.id))
        if wait:
            await query.answer([], cache_time=0, button=InlineQueryResultsButton(fmt.slow_down(wait), start_parameter="slow"))
            return
        try:
            result = await self.core.suggest(text, k=min(20, self.config.count + 2))
        except CoreError as exc:
            sentence = self._core_failed(exc, f"inline query of user {query.from_user.id}")
            await query.answer([], cache_time=0, button=InlineQueryResultsButton(sentence[:64], start_parameter="unavailable"))
            return
        tags = fmt.pick_tags(result.suggestions, self.config.count)
        if not tags:
            await query.answer([], cache_time=60)
            return
        line = fmt.format_tags(tags)
        results = [
            InlineQueryResultArticle("post", f"Post with {len(tags)} hashtags", InputTextMessageContent(f"{text}\n\n{line}"), description=line),
            InlineQueryResultArticle("tags", "Hashtags only", InputTextMessageContent(line), description=line),
        ] + [InlineQueryResultArticle(f"tag{i}", tag, InputTextMessageContent(f"{text} {tag}")) for i, tag in enumerate(tags)]
        await query.answer(results, cache_time=60, is_personal=False)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one error handler: log with the update's context, tokens redacted; tell the person."""
        where = "no update"
        if isinstance(update, Update):
            chat = update.effective_chat
            user = update.effective_user
            where = f"update={update.update_id} chat={chat.id if chat else None} ({chat.type if chat else '-'}) user={user.id if user else None}"
        err = context.error
        trace = "".join(traceback.format_exception(type(err), err, err.__traceback__)) if err else "no exception"
        log.error("telegram handler failed [%s]: %s", where, self.redactor.redact(trace))
        if isinstance(update, Update) and update.effective_message is not None:
            try:
                await update.effective_message.reply_text(fmt.GENERIC_ERROR)
            except Exception:  # the chat may be gone; the log line above is what matters
                log.warning("could not tell chat about the error [%s]", where)

    # -- the work ------------------------------------------------------------------------------
    def _conversation(self, message: Message | None, include_target: bool = False) -> list[str]:
        if message is None:
            return []
        thread = self.history.chain_above(message.chat_id, message.message_id, self.config.thread_depth)
        own = message_text(message)
        if include_target and own and not (message.from_user and message.from_user.is_bot):
            thread.append(own)
        return thread[-self.config.thread_depth :]

    async def _suggest_for(self, reply_to: Message, target: Message) -> None:
        """Suggest for `target` (its text or photo + caption, its chain above); answer `reply_to`."""
        kind = unsupported_kind(target)
        if kind:
            await reply_to.reply_text(fmt.UNSUPPORTED_CONTENT.format(what=kind))
            return
        username = reply_to.get_bot().username
        text = strip_mention(message_text(target), username)
        thread = self._conversation(target)
        image = None
        if target.photo or target.document:
            limit = self.config.max_image_bytes
            file_id = None
            if target.photo:
                best = pick_photo(target.photo, limit)
                file_id = best.file_id if best else None
            elif (target.document.file_size or 0) <= limit:
                file_id = target.document.file_id
            if file_id is None:
                await reply_to.reply_text(fmt.too_large(limit))
                return
            file = await reply_to.get_bot().get_file(file_id)
            if file.file_size is not None and file.file_size > limit:
                await reply_to.reply_text(fmt.too_large(limit))
                return
            image = bytes(await file.download_as_bytearray())
            if len(image) > limit:
                await reply_to.reply_text(fmt.too_large(limit))
                return
            await self._suggest(reply_to, text, thread, image=image)
            return
        await self._suggest(reply_to, text, thread)

    async def _suggest(self, reply_to: Message, text: str, thread: list[str], image: bytes | None = None) -> None:
        if not text and image is None:
            await reply_to.reply_text(fmt.EMPTY_POST)
            return
        try:
            await reply_to.get_bot().send_chat_action(reply_to.chat_id, ChatAction.TYPING)
        except Exception:  # cosmetic only
            pass
        answer = await self._ask_core(text, thread, image, where=f"chat={reply_to.chat_id}")
        await reply_to.reply_text(answer)

    async def _ask_core(self, text: str, thread: list[str], image: bytes | None, where: str) -> str:
        """The core's answer as the message to send; every core failure becomes a sentence."""
        try:
            try:
                result = await self.core.suggest(text, thread=thread, image=image, k=min(20, self.config.count + 2))
            except ImagesNotSupported:
                if not text:
                    return fmt.IMAGES_NOT_SUPPORTED
                result = await self.core.suggest(text, thread=thread, k=min(20, self.config.count + 2))
        except CoreError as exc:
            return self._core_failed(exc, where)
        return fmt.format_tags(fmt.pick_tags(result.suggestions, self.config.count))

    def _core_failed(self, exc: CoreError, where: str) -> str:
        """Log the core's own text (redacted) and return the sentence the person sees instead."""
        if not isinstance(exc, CoreUnavailable):
            log.warning("core refused a suggestion [%s]: %s", where, self.redactor.redact(str(exc)))
        return fmt.core_error_sentence(exc)


def build_application(config: TelegramConfig, core: CoreClient | None = None) -> Application:
    """The one builder: an Application whose handlers call the core, ready for polling or webhook."""
    core = core or CoreClient()
    bot = TelegramHashtagBot(config, core)

    async def close_core(app: Application) -> None:
        await core.close()

    app = (
        Application.builder()
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .concurrent_updates(config.concurrent_updates)
        .post_shutdown(close_core)
        .build()
    )
    app.bot_data["hashtag_bot"] = bot
    fresh = ~filters.UpdateType.EDITED  # edits are remembered, never answered
    addressed = fresh & AddressedToBot()
    image = addressed & (filters.PHOTO | filters.Document.IMAGE)
    unsupported = addressed & (
        filters.ANIMATION | filters.VIDEO | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.VOICE | filters.AUDIO | filters.Document.ALL
    ) & ~filters.Document.IMAGE
    text = addressed & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(filters.ALL, bot.remember), group=-2)
    app.add_handler(CommandHandler(COMMANDS, bot.gate, filters=filters.UpdateType.MESSAGE), group=-1)
    app.add_handler(MessageHandler(image | unsupported | text, bot.gate), group=-1)
    app.add_handler(CommandHandler("hashtag", bot.hashtag_command, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CommandHandler(["start", "help"], bot.help, filters=filters.UpdateType.MESSAGE))
    app.add_handler(InlineQueryHandler(bot.inline_query))
    app.add_handler(MessageHandler(image, bot.photo))
    app.add_handler(MessageHandler(unsupported, bot.unsupported))
    app.add_handler(MessageHandler(text, bot.text))
    app.add_error_handler(bot.on_error)
    return app


def check_webhook_secret(secret: str | None) -> str:
    """The webhook secret, or a WebhookSecretError saying what a usable one looks like."""
    if not secret:
        raise WebhookSecretError(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET (without it anyone can post forged updates); "
            "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if not WEBHOOK_SECRET.fullmatch(secret) or len(secret) < defaults.TELEGRAM_WEBHOOK_SECRET_MIN_CHARS:
        raise WebhookSecretError(
            f"TELEGRAM_WEBHOOK_SECRET must be {defaults.TELEGRAM_WEBHOOK_SECRET_MIN_CHARS} to 256 characters "
            "of A-Z, a-z, 0-9, '_' and '-' (Telegram's rule)"
        )
    return secret


def webhook_app(application: Application, *, secret: str, path: str = "/telegram") -> web.Application:
    """An aiohttp app receiving Telegram's webhook POSTs and queueing them for the Application.

    Requests without the secret (X-Telegram-Bot-Api-Secret-Token) are refused. The Application
    must be initialized and started (its lifecycle belongs to the caller).
    """
    expected = check_webhook_secret(secret).encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": {"code": "forbidden", "message": "bad secret token"}}, status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except Exception:
            return web.json_response({"error": {"code": "bad_update", "message": "body is not a Telegram update"}}, status=400)
        await application.update_queue.put(update)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(path, receive)
    return app
