"""The Telegram bot: python-telegram-bot 22 Application, handlers and filters.

- A photo (with or without caption) sent to the bot, or `/hashtag` replying to a photo: hashtags
  for the image (largest size under the limit) and the caption.
- `/hashtag <text>`; `/hashtag` as a reply: that message plus the reply chain above it as the
  conversation (the Bot API nests only one reply level, so the chain comes from the messages the
  bot has seen in that chat, kept in memory).
- Groups: answers only when commanded, mentioned (@bot) or replied to; works with privacy mode on.
- Inline mode: `@bot some text` -> results the person taps to send.
- Video, stickers, voice, files: a clear sentence instead of silence.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web
from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    PhotoSize,
    Update,
)
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bots import formatting as fmt
from bots.client import CoreClient, CoreError, CoreUnavailable, ImagesNotSupported
from bots.logsafe import RedactSecrets
from bots.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class TelegramConfig:
    token: str
    base_url: str = "https://api.telegram.org/bot"  # TELEGRAM_BASE_URL: a self-hosted Bot API server
    base_file_url: str = "https://api.telegram.org/file/bot"
    count: int = 10  # hashtags per answer
    max_image_bytes: int = 5_000_000  # largest photo size sent to the core
    thread_depth: int = 10  # reply-chain messages used as conversation
    history_per_chat: int = 500  # messages remembered per chat for reply chains
    rate_burst: int = 5  # per chat (per person for inline queries)
    rate_per_s: float = 10.0
    concurrent_updates: int = 8  # one slow core call must not hold up other chats
    webhook_url: str | None = None  # public URL: webhook mode instead of polling
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = None

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


class ChatHistory:
    """(chat, message id) -> (text, parent id, from a bot?) for the last messages of each chat."""

    def __init__(self, per_chat: int = 500):
        self.per_chat = per_chat
        self._chats: dict[int, OrderedDict[int, tuple[str, int | None, bool]]] = {}

    def record(self, message: Message) -> None:
        chat = self._chats.setdefault(message.chat_id, OrderedDict())
        parent = message.reply_to_message
        old = chat.pop(message.message_id, None)
        # The Bot API nests one reply level: a nested message arrives without its own parent,
        # so never forget a parent learnt earlier.
        parent_id = parent.message_id if parent else (old[1] if old else None)
        is_bot = bool(message.from_user and message.from_user.is_bot)
        chat[message.message_id] = (message_text(message), parent_id, is_bot)
        while len(chat) > self.per_chat:
            chat.popitem(last=False)
        if parent is not None:
            self.record(parent)

    def chain_above(self, chat_id: int, message_id: int, depth: int) -> list[str]:
        """Texts of the messages the given one replies to, oldest first (bots' messages skipped)."""
        chat = self._chats.get(chat_id, {})
        texts: list[str] = []
        seen = {message_id}
        parent_id = chat.get(message_id, ("", None, False))[1]
        while parent_id is not None and parent_id not in seen and len(texts) < depth and parent_id in chat:
            seen.add(parent_id)
            text, next_id, is_bot = chat[parent_id]
            if text and not is_bot:
                texts.append(text)
            parent_id = next_id
        return texts[::-1]


def message_text(message: Message) -> str:
    return message.text or message.caption or ""


def unsupported_kind(message: Message) -> str | None:
    """What the message carries that the bot cannot tag, in words; None for text/photos."""
    for attr, words in (
        ("animation", "a GIF"),
        ("video", "a video"),
        ("video_note", "a video message"),
        ("sticker", "a sticker"),
        ("voice", "a voice message"),
        ("audio", "audio"),
    ):
        if getattr(message, attr, None):
            return words
    if message.document and not (message.document.mime_type or "").startswith("image/"):
        return "a file"
    return None


def pick_photo(sizes: tuple[PhotoSize, ...] | list[PhotoSize], limit: int) -> PhotoSize | None:
    """The largest photo size whose file is under the limit (None when every size is over)."""
    fitting = [p for p in sizes if p.file_size is None or p.file_size <= limit]
    return max(fitting, key=lambda p: (p.width * p.height, p.file_size or 0), default=None)


class _AddressedToBot(filters.MessageFilter):
    """Private chats; in groups: replies to the bot's messages and @mentions of the bot."""

    def filter(self, message: Message) -> bool:
        if message.chat.type == "private":
            return True
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        return bool(bot.username) and mentions(message_text(message), bot.username)


def mentions(text: str, username: str) -> bool:
    return re.search(rf"@{re.escape(username)}\b", text, re.IGNORECASE) is not None


def strip_mention(text: str, username: str | None) -> str:
    if not username:
        return text.strip()
    return re.sub(rf"\s*@{re.escape(username)}\b", "", text, flags=re.IGNORECASE).strip()


class TelegramHashtagBot:
    """Holds the core client, the limits and the chat history; its methods are the handlers."""

    def __init__(self, config: TelegramConfig, core: CoreClient):
        self.config, self.core = config, core
        self.limiter = RateLimiter(burst=config.rate_burst, per_s=config.rate_per_s)
        self.history = ChatHistory(config.history_per_chat)
        self.redactor = RedactSecrets([config.token, core.config.api_key or "", config.webhook_secret or ""])

    # -- handlers ------------------------------------------------------------------------------
    async def remember(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group -1: record every message seen, so later replies can rebuild their chain."""
        if update.effective_message is not None:
            self.history.record(update.effective_message)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(
            "Send me a post's text or a photo and I answer with hashtags.\n"
            "/hashtag <text> - hashtags for that text\n"
            "/hashtag as a reply - hashtags for that message and the replies above it\n"
            f"Inline: @{context.bot.username} <text> in any chat."
        )

    async def hashtag_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        await self._suggest_for(update.effective_message, update.effective_message)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        await self._suggest_for(message, message)

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        await message.reply_text(fmt.UNSUPPORTED_CONTENT.format(what=unsupported_kind(message) or "that"))

    async def inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        except CoreUnavailable:
            await query.answer([], cache_time=0, button=InlineQueryResultsButton(fmt.UNAVAILABLE[:64], start_parameter="unavailable"))
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
            wait = self.limiter.hit(reply_to.chat_id)  # before the download, which costs too
            if wait:
                await reply_to.reply_text(fmt.slow_down(wait))
                return
            file = await reply_to.get_bot().get_file(file_id)
            if file.file_size is not None and file.file_size > limit:
                await reply_to.reply_text(fmt.too_large(limit))
                return
            image = bytes(await file.download_as_bytearray())
            if len(image) > limit:
                await reply_to.reply_text(fmt.too_large(limit))
                return
            await self._suggest(reply_to, text, thread, image=image, rate_checked=True)
            return
        await self._suggest(reply_to, text, thread)

    async def _suggest(
        self, reply_to: Message, text: str, thread: list[str], image: bytes | None = None, rate_checked: bool = False
    ) -> None:
        if not text and image is None:
            await reply_to.reply_text(fmt.EMPTY_POST)
            return
        if not rate_checked:
            wait = self.limiter.hit(reply_to.chat_id)
            if wait:
                await reply_to.reply_text(fmt.slow_down(wait))
                return
        try:
            await reply_to.get_bot().send_chat_action(reply_to.chat_id, ChatAction.TYPING)
        except Exception:  # cosmetic only
            pass
        answer = await self._ask_core(text, thread, image)
        await reply_to.reply_text(answer)

    async def _ask_core(self, text: str, thread: list[str], image: bytes | None) -> str:
        """The core's answer as the message to send; every core failure becomes a sentence."""
        try:
            try:
                result = await self.core.suggest(text, thread=thread, image=image, k=min(20, self.config.count + 2))
            except ImagesNotSupported:
                if not text:
                    return fmt.IMAGES_NOT_SUPPORTED
                result = await self.core.suggest(text, thread=thread, k=min(20, self.config.count + 2))
        except CoreUnavailable:
            return fmt.UNAVAILABLE
        except CoreError as exc:
            return f"Could not suggest hashtags: {exc.message}"
        return fmt.format_tags(fmt.pick_tags(result.suggestions, self.config.count))


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
    addressed = _AddressedToBot()
    image = filters.PHOTO | filters.Document.IMAGE
    unsupported = (
        filters.ANIMATION | filters.VIDEO | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.VOICE | filters.AUDIO | filters.Document.ALL
    ) & ~filters.Document.IMAGE
    app.add_handler(MessageHandler(filters.ALL, bot.remember), group=-1)
    app.add_handler(CommandHandler("hashtag", bot.hashtag_command))
    app.add_handler(CommandHandler(["start", "help"], bot.help))
    app.add_handler(InlineQueryHandler(bot.inline_query))
    app.add_handler(MessageHandler(addressed & image, bot.photo))
    app.add_handler(MessageHandler(addressed & unsupported, bot.unsupported))
    app.add_handler(MessageHandler(addressed & filters.TEXT & ~filters.COMMAND, bot.text))
    app.add_error_handler(bot.on_error)
    return app


def webhook_app(application: Application, path: str = "/telegram", secret: str | None = None) -> web.Application:
    """An aiohttp app receiving Telegram's webhook POSTs and queueing them for the Application.

    The Application must be initialized and started (its lifecycle belongs to the caller).
    """

    async def receive(request: web.Request) -> web.Response:
        if secret and request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
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
