"""One small thread pool for a request's independent stages: the sentence encoder reads the post while
the model's sources run, the generator searches while retrieval scores. onnxruntime and numpy let go
of the GIL, so a lone request uses the second core; under load the cores are busy anyway and the
pool only changes which thread does the work (outputs are identical either way)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

# threads are made when first needed; each job is a leaf (it never waits on another job of the pool)
AHEAD = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tagsmith-ahead")
