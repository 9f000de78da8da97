"""llama.cpp server(s) over HTTP: the narration backend ``narrate.backend: server``.

Requests go concurrently to one or several OpenAI-compatible endpoints
(``python -m llama_cpp.server`` or ``llama-server --parallel N``), with retries and
exponential backoff.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from traumasynth.core.errors import NarratorUnavailableError, ParamsError
from traumasynth.narrate.generation.backend import FollowUp, Generation, Request, Sampling, context_error

logger = logging.getLogger(__name__)


class ServerBackend:
    """OpenAI-compatible llama.cpp server(s): ``/v1/completions`` and ``/v1/chat/completions``.

    Requests go out ``concurrency`` at a time (0 = the servers' slots added up, so every slot of
    ``llama-server --parallel N`` stays busy), spread round-robin over ``urls``; a failed
    request is retried on the next URL after ``backoff_s * 2**attempt`` seconds.

    What llama-server gets: completion prompts (``prompt_format: completion``) at
    ``/v1/completions``, tokenised there as in process (BOS added, special tokens parsed), with
    ``stop``; chat prompts at ``/v1/chat/completions``, where the server applies the model's
    chat template. Both carry ``max_tokens`` (llama-server's ``n_predict``), ``temperature``,
    ``top_p``, the request's ``seed`` and ``cache_prompt`` (the slot keeps the KV cache of the
    shared few-shot prefix between requests).
    """

    name = "server"
    lock_wait_seconds = 0.0  # servers take no CPU lock

    def __init__(
        self,
        *,
        urls: Sequence[str],
        concurrency: int,
        retries: int,
        timeout_s: float,
        backoff_s: float = 0.5,
    ) -> None:
        """Check that at least one server answers ``GET /v1/models``.

        Args:
            urls: base URLs of the servers.
            concurrency: requests in flight at once; 0 = the sum of the servers' slots
                (``total_slots`` of llama-server's ``/props``; 1 for a server without it).
            retries: tries per request.
            timeout_s: seconds to wait for one response.
            backoff_s: first wait before a retry (doubled at each further one).

        Raises:
            NarratorUnavailableError: no server answered after ``retries`` tries.
        """
        if not urls:
            raise ParamsError("narrate.server_urls is empty: give at least one URL, e.g. http://127.0.0.1:8080.")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self._next = itertools.count()
        self.model_id = self._call("GET", "/v1/models", None, start=0)["data"][0]["id"]
        self.concurrency = concurrency if concurrency > 0 else sum(self._slots(u) for u in self.urls)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="narrate")

    def _slots(self, url: str) -> int:
        """Parallel slots of the server at ``url``: llama-server's ``/props`` ``total_slots``, else 1."""
        try:
            with urllib.request.urlopen(url + "/props", timeout=self.timeout_s) as resp:
                return max(int(json.loads(resp.read()).get("total_slots", 1)), 1)
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError, AttributeError):
            return 1  # python -m llama_cpp.server has no /props and serves one request at a time

    def _unavailable(self, last: str) -> NarratorUnavailableError:
        return NarratorUnavailableError(
            f"No llama.cpp server answered at {', '.join(self.urls)} after {self.retries} tries (last error: {last}). "
            f"Start one, e.g. `python -m llama_cpp.server --model MODEL.gguf --port 8080` or "
            f"`llama-server -m MODEL.gguf -c 16384 --parallel 8 --port 8080`, check narrate.server_urls, "
            f"or set narrate.backend: llama_cpp to narrate in this process."
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, start: int) -> dict[str, Any]:
        last = "no attempt"
        for attempt in range(self.retries):
            url = self.urls[(start + attempt) % len(self.urls)] + path
            data = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                if exc.code == 400 and ("context" in detail.lower() or "exceed" in detail.lower()):
                    raise context_error("?", int((body or {}).get("max_tokens", 0)), "the server's") from exc
                last = f"HTTP {exc.code} from {url}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
                last = f"{url}: {exc}"
            if attempt + 1 < self.retries:
                delay = self.backoff_s * 2**attempt
                logger.warning("llama.cpp server request failed (%s); retrying in %.1f s", last, delay)
                time.sleep(delay)
        raise self._unavailable(last)

    def _one(self, req: Request, sampling: Sampling, start: int) -> Generation:
        body: dict[str, Any] = {
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": req.seed,
            "cache_prompt": True,  # llama-server: keep the slot's KV cache of the shared prefix
        }
        if req.prompt.text is not None:
            body.update(prompt=req.prompt.text, stop=list(sampling.stop))
            res = self._call("POST", "/v1/completions", body, start=start)
            text = res["choices"][0]["text"]
        else:
            body["messages"] = list(req.prompt.messages or ())
            res = self._call("POST", "/v1/chat/completions", body, start=start)
            text = res["choices"][0]["message"]["content"] or ""
        usage = res.get("usage") or {}
        return Generation(text, int(usage.get("completion_tokens", 0)), int(usage.get("prompt_tokens", 0)))

    def generate(self, requests: Sequence[Request], *, sampling: Sampling) -> list[Generation]:
        """Generate concurrently; see ``NarratorBackend.generate``.

        Raises:
            NarratorUnavailableError: a request failed on every try.
            ParamsError: the server refused a prompt longer than its context.
        """
        futures = [self._pool.submit(self._one, r, sampling, next(self._next)) for r in requests]
        return [f.result() for f in futures]

    def generate_until_done(self, requests: Sequence[Request], *, sampling: Sampling, follow_up: FollowUp) -> None:
        """See ``NarratorBackend.generate_until_done``: a follow-up is sent as soon as its row's answer arrives.

        Raises:
            NarratorUnavailableError: a request failed on every try.
            ParamsError: the server refused a prompt longer than its context.
        """
        pending = {self._pool.submit(self._one, r, sampling, next(self._next)): i for i, r in enumerate(requests)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):  # one order for answers that arrive together
                    i = pending.pop(future)
                    nxt = follow_up(i, future.result())
                    if nxt is not None:
                        pending[self._pool.submit(self._one, nxt, sampling, next(self._next))] = i
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the request threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)
