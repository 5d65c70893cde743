"""What the Telegram bot knows about chats and messages: the remembered history, the filter for
messages addressed to the bot, and small readers of a message (its text, what it carries)."""

from __future__ import annotations

import re
from collections import OrderedDict

from telegram import Message, PhotoSize
from telegram.ext import filters

from bots import defaults

Entry = tuple[str, int | None, bool]  # (text, parent message id, from a bot?)


class ChatHistory:
    """(chat, message id) -> (text, parent id, from a bot?) for the last messages of recent chats.

    Bounded: `max_chats` chats (the least recently active forgotten first), `per_chat` messages
    each, texts cut to `text_chars`.
    """

    def __init__(
        self,
        per_chat: int = defaults.TELEGRAM_HISTORY_PER_CHAT,
        max_chats: int = defaults.TELEGRAM_HISTORY_CHATS,
        text_chars: int = defaults.TELEGRAM_HISTORY_TEXT_CHARS,
    ):
        self.per_chat, self.max_chats, self.text_chars = per_chat, max_chats, text_chars
        self._chats: OrderedDict[int, OrderedDict[int, Entry]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._chats)

    def messages_in(self, chat_id: int) -> int:
        return len(self._chats.get(chat_id, ()))

    def record(self, message: Message) -> None:
        chat = self._chats.pop(message.chat_id, None)
        if chat is None:
            chat = OrderedDict()
        self._chats[message.chat_id] = chat  # most recently active last
        while len(self._chats) > self.max_chats:
            self._chats.popitem(last=False)
        parent = message.reply_to_message
        old = chat.pop(message.message_id, None)
        # The Bot API nests one reply level: a nested message arrives without its own parent,
        # so never forget a parent learnt earlier.
        parent_id = parent.message_id if parent else (old[1] if old else None)
        is_bot = bool(message.from_user and message.from_user.is_bot)
        chat[message.message_id] = (message_text(message)[: self.text_chars], parent_id, is_bot)
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


class AddressedToBot(filters.MessageFilter):
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
