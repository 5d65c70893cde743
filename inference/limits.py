"""Every size limit and rate-limit default of the service, in one place (imports nothing).

The HTTP layer checks requests against these, the runtime checks what it is handed against them,
the OpenAPI document states them, and the CLI shows them as defaults.
"""

MAX_TEXT_CHARS = 10_000  # a post
MAX_THREAD_MESSAGES = 50  # replies in a thread
MAX_THREAD_MESSAGE_CHARS = 5_000  # one reply
MAX_HASHTAGS = 100  # tags already on a post
MAX_HASHTAG_CHARS = 200
MIN_K, MAX_K, DEFAULT_K = 1, 20, 10  # suggestions asked for

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # an encoded photo
MAX_IMAGE_PIXELS = 50_000_000  # its decoded size (header check before decoding)
MAX_OCR_PIXELS = 1_000_000  # OCR reads a photo downscaled to at most this many pixels (~1155x866)
# room for a MAX_IMAGE_BYTES photo in base64 JSON (4/3 of its bytes) and the text around it: an image
# the image check accepts is never refused for the size of its request first
MAX_BODY_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
MAX_SMALL_BODY_BYTES = 64 * 1024  # the extension API's JSON bodies (feedback, settings)

RATE_PER_S = 10.0  # requests per second per API key (token bucket refill)
RATE_BURST = 20  # requests at once after idling (bucket size)
