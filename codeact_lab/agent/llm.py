"""The model: any OpenAI-compatible chat endpoint, streamed through ``openai.AsyncOpenAI``.

What this adds to the ``openai`` client is what a CodeAct loop needs from it:

* ``</execute>`` as a stop sequence, with the tag put back when the server strips
  it (most do), so the parser always sees a closed block;
* bounded retries with exponential backoff (``Retry-After`` honoured) on 429, 5xx,
  timeouts and connections that fail or close mid-stream; the caller is told when a
  retry discards a partial reply, so a live view can reset its draft;
* a :class:`Sampling` for one reply, which the loop asks for after the model repeated
  itself (a reply sampled, not greedy, with a seed so it can be reproduced);
* one error type, :class:`LLMError`, whose message says in a line what went wrong
  (unreachable endpoint, bad key, unknown model, a reply that is not a chat stream).

The API key is held by the ``openai`` client only: it is never part of a message,
an error, a log line or ``repr``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import openai

from .episode import Usage
from .tokens import DEFAULT_CONTEXT_TOKENS, DEFAULT_REPLY_TOKENS
from .wire import SamplingRecord

try:  # the transport errors of the HTTP library the openai client is built on
    import httpx2 as _http
except ImportError:  # pragma: no cover - older openai releases use httpx
    import httpx as _http  # type: ignore[no-redef]

STOP_SEQUENCE = "</execute>"
NO_KEY = "not-needed"  # local servers (llama.cpp, vLLM, Ollama) ignore the key

DeltaCallback = Callable[[str], None]
RetryCallback = Callable[[int, str, float], None]  # attempt, reason, delay


class LLMError(RuntimeError):
    """The model could not be reached or did not answer a chat stream."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Sampling:
    """How one reply is sampled instead of the config's temperature. ``seed`` makes the
    draw reproducible on servers that honour it (llama.cpp, vLLM, Ollama, OpenAI)."""

    temperature: float
    seed: int | None = None

    def to_dict(self) -> SamplingRecord:
        return {"temperature": self.temperature, "seed": self.seed}


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    retries: int = 0


@dataclass
class LLMConfig:
    model: str = ""
    base_url: str | None = None  # None: OPENAI_BASE_URL, else OpenAI's own
    api_key: str | None = field(default=None, repr=False)  # None: OPENAI_API_KEY
    temperature: float = 0.0
    max_tokens: int | None = 1024
    # The model's context window in tokens; None: the local model's n_ctx, else
    # DEFAULT_CONTEXT_TOKENS. Each prompt is condensed to fit it with max_tokens to spare.
    context_tokens: int | None = None
    request_timeout: float = 120.0  # connect + each read of the stream
    max_retries: int = 3
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    use_stop_sequence: bool = True
    stream_usage: bool = True  # ask for usage in the last chunk (stream_options)
    extra_body: dict[str, Any] = field(default_factory=dict)
    organization: str | None = field(default=None, repr=False)
    project: str | None = field(default=None, repr=False)
    default_headers: dict[str, str] = field(default_factory=dict, repr=False)
    # False for an endpoint the user did not configure (one a browser named): it gets no
    # credential of any kind, whatever the environment holds.
    trusted: bool = True
    reply_timeout: float | None = 300.0  # seconds for one whole reply, retries included

    def resolved_base_url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None

    def resolved_api_key(self) -> str:
        return self.api_key or os.environ.get("OPENAI_API_KEY") or NO_KEY


def public_endpoint(url: str | None) -> str:
    """The endpoint as it may be shown and stored: no credentials, no query, no fragment."""
    if not url:
        return "https://api.openai.com/v1"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class ChatModel(Protocol):
    """What the loop calls. A model may also say its ``context_tokens`` and
    ``reply_tokens`` (as :class:`LLMClient` does); one that does not is given
    ``DEFAULT_CONTEXT_TOKENS`` and ``DEFAULT_REPLY_TOKENS``."""

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        on_delta: DeltaCallback | None = None,
        on_retry: RetryCallback | None = None,
        sampling: Sampling | None = None,
    ) -> Completion: ...


def close_open_execute(text: str) -> str:
    """Put back ``</execute>`` when the server stripped the stop sequence."""
    lower = text.lower()
    if lower.count("<execute>") > lower.count("</execute>") and lower.rfind(
        "<execute>"
    ) > lower.rfind("</execute>"):
        return text + ("" if text.endswith("\n") else "\n") + STOP_SEQUENCE
    return text


@functools.lru_cache(maxsize=1)
def _tls_context() -> Any:
    """One TLS context for every client of the process. Making one reads the CA bundle
    (80 ms of CPU on 2 cores) and the server makes a client per episode: 20 episodes
    started at once held its event loop for 1.6 s (benchmarks/scale.py)."""
    return _http.create_ssl_context()


# What a request to an untrusted endpoint may carry: the openai client reads the
# organization, the project and custom headers from the environment on its own.
_PLAIN_HEADERS = {
    "host",
    "accept",
    "accept-encoding",
    "content-type",
    "content-length",
    "connection",
    "user-agent",
}


async def _strip_credentials(request: Any) -> None:
    for name in list(request.headers.keys()):
        lower = name.lower()
        if lower not in _PLAIN_HEADERS and not lower.startswith("x-stainless-"):
            del request.headers[name]
    request.headers["Authorization"] = f"Bearer {NO_KEY}"


class LLMClient:
    """Streams chat completions from one OpenAI-compatible endpoint."""

    def __init__(self, config: LLMConfig, *, client: openai.AsyncOpenAI | None = None) -> None:
        self.config = config
        self.endpoint = public_endpoint(config.resolved_base_url())
        # Retries are ours (they must cover failures mid-stream too), so the client's are off.
        trusted = config.trusted
        self._client = client or openai.AsyncOpenAI(
            base_url=config.resolved_base_url(),
            api_key=config.resolved_api_key() if trusted else NO_KEY,
            organization=config.organization if trusted else None,
            project=config.project if trusted else None,
            default_headers=config.default_headers if trusted else None,
            timeout=config.request_timeout,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                verify=_tls_context(),
                event_hooks={} if trusted else {"request": [_strip_credentials]},
            ),
        )

    @property
    def context_tokens(self) -> int:
        """The context window each prompt is condensed to fit (the reply included)."""
        return self.config.context_tokens or DEFAULT_CONTEXT_TOKENS

    @property
    def reply_tokens(self) -> int:
        """The room each prompt leaves for the reply."""
        return self.config.max_tokens or DEFAULT_REPLY_TOKENS

    def __repr__(self) -> str:
        return f"LLMClient(model={self.config.model!r}, endpoint={self.endpoint!r})"

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        on_delta: DeltaCallback | None = None,
        on_retry: RetryCallback | None = None,
        sampling: Sampling | None = None,
    ) -> Completion:
        """One whole reply. A reply that has not ended within ``reply_timeout`` (a stream
        that trickles a token every few seconds, say) is an error, never a wait forever."""
        limit = self.config.reply_timeout
        if not limit:
            return await self._complete(messages, on_delta, on_retry, sampling)
        try:
            return await asyncio.wait_for(
                self._complete(messages, on_delta, on_retry, sampling), limit
            )
        except asyncio.TimeoutError:
            raise LLMError(
                f"the model endpoint {self.endpoint} did not finish its reply within "
                f"{limit:g} s (CodeAct.reply_timeout)"
            ) from None

    async def _complete(
        self,
        messages: Sequence[dict[str, Any]],
        on_delta: DeltaCallback | None,
        on_retry: RetryCallback | None,
        sampling: Sampling | None = None,
    ) -> Completion:
        attempt = 0
        while True:
            try:
                completion = await self._stream_once(messages, on_delta, sampling)
                completion.retries = attempt
                return completion
            except LLMError as err:
                if not err.retryable or attempt >= self.config.max_retries:
                    if attempt:
                        raise LLMError(f"{err} (after {attempt + 1} attempts)") from err
                    raise
                attempt += 1
                delay = self._backoff(attempt, getattr(err, "retry_after", None))
                if on_retry:
                    on_retry(attempt, str(err), delay)
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.config.retry_max_delay)
        delay = self.config.retry_base_delay * 2 ** (attempt - 1)
        return min(delay * (0.75 + random.random() / 2), self.config.retry_max_delay)

    def _request(
        self, messages: Sequence[dict[str, Any]], sampling: Sampling | None = None
    ) -> dict[str, Any]:
        cfg = self.config
        # The messages travel in extra_body, which the client sends as they are: its own
        # per-message TypedDict transform costs ~0.1 ms a message (a no-op for chat messages),
        # which made a 200-turn episode spend more time there than in the kernel.
        request: dict[str, Any] = {
            "model": cfg.model,
            "messages": [],
            "stream": True,
            "temperature": cfg.temperature if sampling is None else sampling.temperature,
            "extra_body": {**cfg.extra_body, "messages": list(messages)},
        }
        if sampling is not None and sampling.seed is not None:
            request["seed"] = sampling.seed
        if cfg.max_tokens:
            request["max_tokens"] = cfg.max_tokens
        if cfg.use_stop_sequence:
            request["stop"] = [STOP_SEQUENCE]
        if cfg.stream_usage:
            request["stream_options"] = {"include_usage": True}
        return request

    async def _stream_once(
        self,
        messages: Sequence[dict[str, Any]],
        on_delta: DeltaCallback | None,
        sampling: Sampling | None = None,
    ) -> Completion:
        text: list[str] = []
        finish_reason: str | None = None
        usage: Usage | None = None
        chunks = 0
        pieces, chars = 0, 0
        limit = self.config.max_tokens
        try:
            stream = await self._client.chat.completions.create(**self._request(messages, sampling))
            try:
                async for chunk in stream:
                    chunks += 1
                    if getattr(chunk, "usage", None):
                        usage = Usage(
                            chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0
                        )
                    for choice in chunk.choices or []:
                        delta = getattr(choice.delta, "content", None) if choice.delta else None
                        if delta:
                            text.append(delta)
                            pieces, chars = pieces + 1, chars + len(delta)
                            if on_delta:
                                on_delta(delta)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                    if limit and _past_token_limit(pieces, chars, limit):
                        # An endpoint that ignores max_tokens: cut the reply here, as a
                        # server that honours it would ("length").
                        finish_reason = "length"
                        break
            finally:
                await stream.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._as_llm_error(exc, mid_stream=chunks > 0) from exc
        if chunks == 0 or (finish_reason is None and not text):
            raise LLMError(f"{self.endpoint} closed the stream without a reply", retryable=True)
        reply = "".join(text)
        if finish_reason in ("stop", None) and self.config.use_stop_sequence:
            reply = close_open_execute(reply)
        return Completion(reply, finish_reason, usage)

    def _as_llm_error(self, exc: Exception, *, mid_stream: bool = False) -> LLMError:
        err = self._classify(exc, mid_stream)
        key = self.config.resolved_api_key()
        if key != NO_KEY and key in str(err):  # a server that echoes the key back
            safe = LLMError(str(err).replace(key, "[redacted]"), retryable=err.retryable)
            safe.retry_after = getattr(err, "retry_after", None)  # type: ignore[attr-defined]
            return safe
        return err

    def _classify(self, exc: Exception, mid_stream: bool) -> LLMError:
        where = f"the model endpoint {self.endpoint}"
        # The openai client wraps transport errors raised mid-stream as connection errors.
        if mid_stream and isinstance(exc, (openai.APITimeoutError, _http.TimeoutException)):
            return LLMError(f"{where} stopped sending mid-reply (read timeout)", retryable=True)
        if mid_stream and isinstance(exc, (openai.APIConnectionError, _http.TransportError)):
            return LLMError(
                f"{where} closed the connection mid-reply ({_cause(exc)})", retryable=True
            )
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"{where} timed out", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"{where} is unreachable ({_cause(exc)})", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            detail = _server_message(exc).replace(self.config.resolved_api_key(), "***")
            if code == 429:
                err = LLMError(f"{where} is rate-limiting (429): {detail}", retryable=True)
                err.retry_after = _retry_after(exc)  # type: ignore[attr-defined]
                return err
            if code >= 500:
                return LLMError(f"{where} failed with {code}: {detail}", retryable=True)
            if code in (401, 403):
                return LLMError(f"{where} refused the API key ({code}): {detail}")
            if code == 404:
                return LLMError(
                    f"{where} does not know model {self.config.model!r} (404): {detail}"
                )
            return LLMError(f"{where} rejected the request ({code}): {detail}")
        if isinstance(exc, _http.TimeoutException):
            return LLMError(f"{where} stopped sending mid-reply (read timeout)", retryable=True)
        if isinstance(exc, _http.TransportError):
            return LLMError(
                f"{where} closed the connection mid-reply ({type(exc).__name__})", retryable=True
            )
        if isinstance(exc, (json.JSONDecodeError, openai.APIError, AttributeError, TypeError)):
            return LLMError(f"{where} did not answer an OpenAI-compatible chat stream: {exc}")
        return LLMError(f"{where} failed: {type(exc).__name__}: {exc}")


def _past_token_limit(pieces: int, chars: int, max_tokens: int) -> bool:
    """Whether a reply is surely longer than ``max_tokens``: a streamed piece is at least
    one token, and a token is rarely more than 8 characters; a small margin covers
    servers that count differently."""
    return pieces > max_tokens + 16 or chars > max_tokens * 8 + 64


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {cause}" if cause else str(exc)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc.message)[:300]


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
