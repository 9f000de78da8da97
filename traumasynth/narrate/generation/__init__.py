"""Running the language model: llama.cpp in this process or on servers, one generation per request.

- ``backend``: what every backend offers (``NarratorBackend``, ``Request``, ``Sampling``, ``Generation``).
- ``in_process``: ``LlamaCppBackend``; ``batched``: its continuous-batching decoder.
- ``server``: ``ServerBackend`` (llama.cpp server(s) over HTTP).
- ``prompt_cache``: the few-shot prefix's saved state; ``cpu_lock``: one CPU narration at a time.
- ``modelfile``: the GGUF model file (the embedded default, its sha256).
"""
