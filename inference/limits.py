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
# OCR is skipped on a photo that decodes to more pixels than this (after a JPEG's draft): a PNG that large
# would be decoded at full size a second time, beside the tagger's decode (a 4K screenshot still is read)
MAX_OCR_DECODE_PIXELS = 3840 * 2160
# room for a MAX_IMAGE_BYTES photo in base64 JSON (4/3 of its bytes) and the text around it: an image
# the image check accepts is never refused for the size of its request first
MAX_BODY_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
MAX_SMALL_BODY_BYTES = 64 * 1024  # the extension API's JSON bodies (feedback, settings)

RATE_PER_S = 10.0  # requests per second per API key (token bucket refill)
RATE_BURST = 20  # requests at once after idling (bucket size)

# -- cost-aware admission (inference/server/admission.py) ------------------------------------------
# A request is charged in cost units, one being about a typical request (a post and a short thread,
# no image; ~40 ms of one core): 1 + its characters / COST_CHARS_PER_UNIT (a Han, kana or hangul
# character counts COST_CJK_WEIGHT times: segmentation and phrase extraction cost ~4x more per
# character) + for an image COST_IMAGE_BASE + COST_IMAGE_UNITS_PER_MPX per megapixel it decodes to
# (a JPEG's after its 1/8-scale draft) + COST_IMAGE_UNITS_PER_MB per MB of file. A maximum-size
# request (10,000 + 50 x 5,000 characters) counts what the text stages read of it (MAX_READ_CHARS below):
# 9 units in English, 33 in Chinese; a 16 Mpx PNG 35.
COST_CHARS_PER_UNIT = 1_000
COST_CJK_WEIGHT = 4
COST_IMAGE_BASE = 1.0  # the tagger's run
COST_IMAGE_UNITS_PER_MPX = 2.0  # decoding (~80 ms per full-size megapixel of PNG)
COST_IMAGE_UNITS_PER_MB = 1.0  # entropy decoding (a JPEG's coefficients are all read, whatever the draft)
# The cost budget follows the request limit (RATE_PER_S, RATE_BURST above; `tagsmith serve --rate-limit`,
# `--rate-burst`) unless set apart: 2 units per allowed request, so typical posts at the request limit
# (~1.5 units each) never meet it and expensive ones do. A costlier request than the bucket is admitted
# on a full bucket and leaves the key in debt.
COST_UNITS_PER_REQUEST = 2.0  # cost rate = this x the request rate
COST_BURST_PER_REQUEST = 3.0  # cost burst = this x the request burst
COST_RATE_PER_S = COST_UNITS_PER_REQUEST * RATE_PER_S  # 20 cost units/s per key
COST_BURST = COST_BURST_PER_REQUEST * RATE_BURST  # 60 cost units
HEAVY_COST = 4.0  # requests whose text costs more run in the heavy lane (a key has one heavy text or image decode at a time)
MAX_INFLIGHT_PER_KEY = 8  # requests of one key being read or served at once; more wait their turn
MAX_WAITING_PER_KEY = 32  # beyond these waiting ones: 429
MAX_HEAVY_QUEUE = 64  # requests in the heavy lane, served and waiting (one per key at a time); beyond: 503
MAX_IMAGE_QUEUE = 64  # images being decoded or waiting (one per key at a time); beyond: 503
IMAGE_THREADS = 2  # image decoding pool (separate from the text batches' pool)

# An image decoded at full size (PNG, WebP, GIF, BMP, TIFF; a JPEG after its DCT-domain downscale)
# may have at most this many pixels: ~67 MB as RGBA. Larger: 413 (a 50 Mpx JPEG decodes to <= 1 Mpx).
MAX_DECODE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 65_535  # the JPEG and GIF format limit; a PNG strip wider than this decodes through huge line buffers

# -- connections (inference/server/serve.py) -------------------------------------------------------
BODY_TIMEOUT_S = 30.0  # a request body must have arrived this long after its headers: 408 and closed
KEEPALIVE_TIMEOUT_S = 15.0  # an idle connection (before its first request or between two) is closed
FD_RESERVE = 64  # file descriptors kept free beside the connection cap (models, SQLite, logs, pipes)

# -- work per request (inference/runtime/suggester.py, sentence_encoder.py; inference/text/tags.py) -
# A valid request may carry 260,000 characters (MAX_TEXT_CHARS + MAX_THREAD_MESSAGES x
# MAX_THREAD_MESSAGE_CHARS); the models read far less. Every text stage (tokens for the sources and
# the reranker, phrases, the sentence encoder, the safety and support checks) reads the post, then the
# thread in order, up to MAX_READ_CHARS in all, so a maximum-size request costs a bounded multiple of a
# typical one (about 0.2 s of CPU instead of 5 s in English and 25 s in Chinese). Existing #tags are
# still read from the whole post. Posts with threads under the caps are read whole.
MAX_READ_CHARS = 8_000  # post + thread characters the text stages read (the 99th percentile of en dev: ~6,000)
MAX_ENCODER_TOKENS = 2_048  # sentencepiece pieces the sentence encoder reads of a text (~6,700 English characters)
MAX_LANG_ID_CHARS = 4_000  # characters the language identifier reads (its results are cached per text)
