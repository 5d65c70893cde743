"""The Discord bot: discord.py 2.7 app commands in a cog, synced in setup_hook.

- `/hashtag text:<post> [count] [thread:<message link>]`: ranked hashtags, ephemeral, with a
  button to post them publicly.
- Message context menu "Suggest hashtags": the message, its replies (or the messages of the
  thread it started) as the conversation, and its image attachment.
- `/hashtag-settings` (Manage Server): count, language, blocked tags of the guild, stored through
  the extension API's community settings.

Intents: none are needed for slash commands and the context menu's own message (interactions
carry their data). Reading the *replies* of a message needs the privileged Message Content intent
(DISCORD_MESSAGE_CONTENT=1, enabled in the Developer Portal too); without it Discord blanks other
people's message text and the context menu uses the message alone.

`/hashtag thread:<link>` never lends the bot's access: the link must point into the server the
command is used in (or, in direct messages, into the same conversation), at a channel where the
person has View Channel and Read Message History.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import traceback
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bots import defaults
from bots import formatting as fmt
from bots.client import CommunitySettings, CoreClient, CoreError, CoreUnavailable, ImagesNotSupported
from bots.logsafe import RedactSecrets
from bots.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MESSAGE_LINK = re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)")


@dataclass
class DiscordConfig:
    token: str
    api_base: str | None = None  # DISCORD_API_BASE: e.g. a REST rate-limit proxy
    count: int = defaults.COUNT  # hashtags per answer unless the guild or the command says otherwise
    max_image_bytes: int = defaults.DISCORD_MAX_IMAGE_BYTES
    thread_depth: int = defaults.THREAD_DEPTH  # replies used as conversation
    history_scan: int = defaults.DISCORD_HISTORY_SCAN  # messages after the target scanned for replies to it
    message_content: bool = False  # request the privileged intent (needed to read replies)
    rate_burst: int = defaults.RATE_BURST  # answers per guild (per person in DMs) ...
    rate_window_s: float = defaults.RATE_WINDOW_S  # ... per this many seconds
    sync_guild: int | None = None  # sync commands to one guild only (instant; for development)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "DiscordConfig":
        env = os.environ if env is None else env
        token = env.get("DISCORD_TOKEN", "")
        if not token:
            raise SystemExit("error: set DISCORD_TOKEN to your application's bot token")
        return cls(
            token=token,
            api_base=env.get("DISCORD_API_BASE") or None,
            count=int(env.get("TAGSMITH_BOT_COUNT", cls.count)),
            max_image_bytes=int(env.get("TAGSMITH_MAX_IMAGE_BYTES", cls.max_image_bytes)),
            message_content=env.get("DISCORD_MESSAGE_CONTENT", "") in ("1", "true", "yes"),
            sync_guild=int(env["DISCORD_SYNC_GUILD"]) if env.get("DISCORD_SYNC_GUILD") else None,
        )


def intents_for(config: DiscordConfig) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True  # channel/thread cache for interactions; not privileged
    intents.message_content = config.message_content
    return intents


def community_id(guild_id: int) -> str:
    return f"discord-{guild_id}"


class UserFacingError(app_commands.AppCommandError):
    """A mistake of the person (bad link, ...): answered as is, not logged as a failure."""


class HashtagTree(app_commands.CommandTree):
    """The one error handler: answers ephemerally, logs failures with context, tokens redacted."""

    redactor: RedactSecrets = RedactSecrets([])

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, UserFacingError):
            text = str(error)
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "This command works in servers only."
        elif isinstance(error, app_commands.MissingPermissions):
            text = "You need the Manage Server permission to change the hashtag settings."
        elif isinstance(error, app_commands.CheckFailure):
            text = "You cannot use this command here."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            where = f"command={command!r} guild={interaction.guild_id} channel={interaction.channel_id} user={interaction.user.id if interaction.user else None}"
            original = getattr(error, "original", error)
            trace = "".join(traceback.format_exception(type(original), original, original.__traceback__))
            log.error("discord interaction failed [%s]: %s", where, self.redactor.redact(trace))
            text = fmt.GENERIC_ERROR
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about an error (interaction %s)", interaction.id)


class PostPubliclyView(discord.ui.View):
    """The button under an ephemeral answer: posts the same hashtags in the channel."""

    def __init__(self, content: str):
        super().__init__(timeout=15 * 60)
        self.content = content

    @discord.ui.button(label="Post publicly", style=discord.ButtonStyle.primary)
    async def post_publicly(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message(self.content, allowed_mentions=discord.AllowedMentions.none())
        self.stop()


class HashtagCog(commands.Cog):
    def __init__(self, bot: "HashtagBot"):
        self.bot, self.core, self.config = bot, bot.core, bot.config
        self.limiter = RateLimiter(burst=self.config.rate_burst, window_s=self.config.rate_window_s)
        # Context menus cannot be declared inside a cog: added to the tree by hand.
        self.menu = app_commands.ContextMenu(name="Suggest hashtags", callback=self.suggest_for_message)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # -- commands ------------------------------------------------------------------------------
    @app_commands.command(name="hashtag", description="Suggest hashtags for a post")
    @app_commands.describe(
        text="the post",
        count="how many hashtags (default: the server's setting, or 10)",
        thread="link to a message whose replies are the conversation around the post",
    )
    async def hashtag(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, 4000],
        count: app_commands.Range[int, 1, 20] | None = None,
        thread: str | None = None,
    ) -> None:
        if not await self._admit(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        conversation: list[str] = []
        if thread:
            message = await self._message_from_link(thread, interaction)
            conversation = [t for t in [message.content, *await self._replies(message)] if t]
        await self._answer(interaction, text, conversation, None, count)

    async def suggest_for_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        attachment = next((a for a in message.attachments if (a.content_type or "").startswith("image/")), None)
        if not message.content and attachment is None:
            what = "a file" if message.attachments else "a message without text"
            await interaction.response.send_message(fmt.UNSUPPORTED_CONTENT.format(what=what) if message.attachments else fmt.EMPTY_POST, ephemeral=True)
            return
        if attachment is not None and attachment.size > self.config.max_image_bytes:
            if not message.content:
                await interaction.response.send_message(fmt.too_large(self.config.max_image_bytes), ephemeral=True)
                return
            attachment = None  # the text alone still gets suggestions
        if not await self._admit(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        image = await attachment.read() if attachment is not None else None
        await self._answer(interaction, message.content, await self._replies(message), image, None)

    @app_commands.command(name="hashtag-settings", description="Hashtag suggestions for this server: count, language, blocked tags")
    @app_commands.describe(
        count="hashtags per suggestion (1-20)",
        language="language of the posts",
        blocked="tags never to suggest, separated by spaces or commas; '-' clears the list",
    )
    @app_commands.choices(
        language=[
            app_commands.Choice(name="detect per post", value="auto"),
            app_commands.Choice(name="English", value="en"),
            app_commands.Choice(name="Chinese", value="zh"),
        ]
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def hashtag_settings(
        self,
        interaction: discord.Interaction,
        count: app_commands.Range[int, 1, 20] | None = None,
        language: app_commands.Choice[str] | None = None,
        blocked: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        cid = community_id(interaction.guild_id)
        try:
            settings = dataclasses.replace(await self.core.get_settings(cid))  # a copy: the cached one stays as stored
            if count is not None or language is not None or blocked is not None:
                if count is not None:
                    settings.max_count = count
                if language is not None:
                    settings.lang = None if language.value == "auto" else language.value
                if blocked is not None:
                    tags = [t for t in re.split(r"[\s,]+", blocked) if t and t != "-"]
                    settings.blocked_tags = ["#" + t.lstrip("#") for t in tags]
                settings = await self.core.put_settings(cid, settings)
        except CoreError as exc:
            sentence = self._core_failed(exc, interaction)
            await interaction.followup.send(fmt.SETTINGS_NOT_STORED if sentence == fmt.CORE_REFUSED else sentence, ephemeral=True)
            return
        await interaction.followup.send(
            f"Hashtags per suggestion: {settings.max_count or self.config.count}\n"
            f"Language: {settings.lang or 'detect per post'}\n"
            f"Blocked: {' '.join(settings.blocked_tags) or 'none'}",
            ephemeral=True,
        )

    # -- the work ------------------------------------------------------------------------------
    async def _admit(self, interaction: discord.Interaction) -> bool:
        """Rate limit per guild (per person in DMs); answers and returns False when over."""
        key = interaction.guild_id or ("user", interaction.user.id)
        wait = self.limiter.hit(key)
        if wait:
            await interaction.response.send_message(fmt.slow_down(wait), ephemeral=True)
        return not wait

    async def _message_from_link(self, link: str, interaction: discord.Interaction) -> discord.Message:
        """The linked message, when the person could read it themselves; else a UserFacingError."""
        match = MESSAGE_LINK.search(link)
        if not match:
            raise UserFacingError(fmt.THREAD_LINK_EXPECTED)
        guild_part, channel_id, message_id = match.group(1), int(match.group(2)), int(match.group(3))
        if interaction.guild_id is None:  # a direct message: only the conversation the command is in
            if guild_part != "@me" or channel_id != interaction.channel_id or interaction.channel is None:
                raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
            channel = interaction.channel
        else:
            if guild_part != str(interaction.guild_id):
                raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
            channel = await self._readable_channel(channel_id, interaction)
        try:
            return await channel.fetch_message(message_id)
        except (discord.NotFound, discord.Forbidden):
            raise UserFacingError(fmt.THREAD_UNREADABLE)

    async def _readable_channel(self, channel_id: int, interaction: discord.Interaction) -> discord.abc.Messageable:
        """A channel of the interaction's guild in which the invoking member may read the history."""
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)  # e.g. an archived thread
            except discord.HTTPException:
                raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
        member = interaction.user
        if getattr(channel, "guild", None) is None or channel.guild.id != interaction.guild_id or not isinstance(member, discord.Member):
            raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
        try:
            permissions = channel.permissions_for(member)
        except discord.ClientException:  # a thread whose parent is not cached
            raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
        allowed = permissions.view_channel and permissions.read_message_history
        if allowed and isinstance(channel, discord.Thread) and channel.is_private() and not permissions.manage_threads:
            allowed = channel.owner_id == member.id or await self._in_thread(channel, member.id)
        if not allowed:
            raise UserFacingError(fmt.THREAD_NOT_ALLOWED)
        return channel

    @staticmethod
    async def _in_thread(thread: discord.Thread, user_id: int) -> bool:
        """Whether the person was added to a private thread."""
        if thread.get_member(user_id) is not None:
            return True
        try:
            await thread.fetch_member(user_id)
        except discord.HTTPException:
            return False
        return True

    async def _replies(self, message: discord.Message) -> list[str]:
        """The conversation under a message: the thread it started, else the messages replying to it."""
        limit = self.config.thread_depth
        texts: list[str] = []
        try:
            thread = getattr(message, "thread", None)
            if thread is not None:
                async for m in thread.history(limit=limit, oldest_first=True):
                    if m.content and not m.author.bot:
                        texts.append(m.content)
            else:
                async for m in message.channel.history(after=message, limit=self.config.history_scan, oldest_first=True):
                    if m.reference and m.reference.message_id == message.id and m.content and not m.author.bot:
                        texts.append(m.content)
                        if len(texts) >= limit:
                            break
        except discord.HTTPException as exc:  # no Read Message History: the message alone
            log.info("cannot read replies of message %s: %s", message.id, exc.status)
        return texts

    async def _settings(self, guild_id: int | None) -> CommunitySettings:
        if guild_id is None:
            return CommunitySettings()
        try:
            return await self.core.get_settings(community_id(guild_id))
        except CoreError:
            return CommunitySettings()  # the suggestion call will say whether the core is down

    async def _answer(self, interaction: discord.Interaction, text: str, thread: list[str], image: bytes | None, count: int | None) -> None:
        settings = await self._settings(interaction.guild_id)
        count = count or settings.max_count or self.config.count
        if settings.max_count:
            count = min(count, settings.max_count)
        k = min(20, count + len(settings.blocked_tags) + 2)  # room for the tags filtered out (blocked, duplicates)
        tags: list[str] = []
        try:
            try:
                result = await self.core.suggest(text, thread=thread, image=image, k=k, lang=settings.lang)
            except ImagesNotSupported:
                if not text:
                    raise
                result = await self.core.suggest(text, thread=thread, k=k, lang=settings.lang)
            tags = fmt.pick_tags(result.suggestions, count, settings.blocked_tags)
            content = fmt.format_tags(tags)
        except ImagesNotSupported:
            content = fmt.IMAGES_NOT_SUPPORTED
        except CoreError as exc:
            content = self._core_failed(exc, interaction)
        if tags:
            await interaction.followup.send(content, ephemeral=True, view=PostPubliclyView(content))
        else:
            await interaction.followup.send(content, ephemeral=True)

    def _core_failed(self, exc: CoreError, interaction: discord.Interaction) -> str:
        """Log the core's own text (redacted) and return the sentence the person sees instead."""
        if not isinstance(exc, CoreUnavailable):
            where = f"guild={interaction.guild_id} channel={interaction.channel_id}"
            log.warning("core refused a request [%s]: %s", where, self.bot.tree.redactor.redact(str(exc)))
        return fmt.core_error_sentence(exc)


class HashtagBot(commands.Bot):
    def __init__(self, config: DiscordConfig, core: CoreClient | None = None):
        if config.api_base:
            discord.http.Route.BASE = config.api_base.rstrip("/")
        super().__init__(command_prefix=commands.when_mentioned, intents=intents_for(config), tree_cls=HashtagTree, help_command=None)
        self.config = config
        self.core = core or CoreClient()
        self.tree.redactor = RedactSecrets([config.token, self.core.config.api_key or ""])

    async def setup_hook(self) -> None:
        await self.add_cog(HashtagCog(self))
        guild = discord.Object(self.config.sync_guild) if self.config.sync_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        log.info("synced %d application commands (%s)", len(synced), f"guild {guild.id}" if guild else "global")

    async def close(self) -> None:
        await self.core.close()
        await super().close()
