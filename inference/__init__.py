"""tagsmith runtime: preprocessing, segmentation, onnxruntime sessions, beam search, ranking,
the aiohttp core service and the CLI. Never imports torch."""

__version__ = "0.1.0"
