"""tagsmith training side: data ingest, models, training, evaluation and ONNX export (imports torch)."""
