"""Every default of the bots in one place (the environment and the config classes override them)."""

from __future__ import annotations

# -- the core service -----------------------------------------------------------------------------
CORE_URL = "http://127.0.0.1:8080"  # TAGSMITH_URL
CORE_TIMEOUT_S = 20.0  # per attempt
CORE_RETRIES = 3  # attempts after the first
CORE_BACKOFF_S = 0.5  # first wait between attempts; doubles each retry
CORE_MAX_RETRY_AFTER_S = 10.0  # a longer Retry-After is not waited for: the core counts as unavailable
SETTINGS_TTL_S = 60.0  # how long community settings are cached

# -- answers --------------------------------------------------------------------------------------
COUNT = 10  # hashtags per answer (TAGSMITH_BOT_COUNT)
THREAD_DEPTH = 10  # messages of conversation sent with a post

# -- rate limit: RATE_BURST answers per chat/guild, refilled evenly over RATE_WINDOW_S seconds ----
RATE_BURST = 5
RATE_WINDOW_S = 10.0
RATE_MAX_KEYS = 10_000  # buckets kept in memory (oldest forgotten first)

# -- Discord --------------------------------------------------------------------------------------
DISCORD_MAX_IMAGE_BYTES = 8_000_000
DISCORD_HISTORY_SCAN = 100  # messages after the target scanned for replies to it

# -- Telegram -------------------------------------------------------------------------------------
TELEGRAM_MAX_IMAGE_BYTES = 5_000_000  # largest photo size sent to the core
TELEGRAM_HISTORY_CHATS = 1_000  # chats whose recent messages are remembered (least recently used forgotten)
TELEGRAM_HISTORY_PER_CHAT = 200  # messages remembered per chat, for reply chains
TELEGRAM_HISTORY_TEXT_CHARS = 2_000  # longest text remembered per message
TELEGRAM_CONCURRENT_UPDATES = 8  # one slow core call must not hold up other chats
TELEGRAM_WEBHOOK_LISTEN = "127.0.0.1"  # behind your HTTPS reverse proxy
TELEGRAM_WEBHOOK_PORT = 8443
TELEGRAM_WEBHOOK_SECRET_MIN_CHARS = 16
