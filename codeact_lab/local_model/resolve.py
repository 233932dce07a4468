"""Which model an episode talks to: the one decision, shared by the server and the CLI.

:func:`resolve_model` looks at the settings and the environment:

1. an endpoint is configured (``CodeAct.base_url``, ``OPENAI_BASE_URL``, or an API key
   in config or the environment): that endpoint, as before;
2. otherwise, when llama-cpp-python (with its server extra) is importable and the
   weights are at hand: the embedded local model, served by a managed
   :class:`LocalModelServer` that starts on the first model call;
3. otherwise nothing: the result is not ``available`` and its ``note`` says, in one
   line, the two ways to get a model. The server shows it; the CLI prints it and exits.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..agent.llm import (
    NO_KEY,
    Completion,
    DeltaCallback,
    LLMClient,
    LLMConfig,
    LLMError,
    RetryCallback,
    Sampling,
    public_endpoint,
)
from ..agent.tokens import DEFAULT_REPLY_TOKENS, TOKENS_PER_MESSAGE, TOKENS_PER_PROMPT, content_text
from .server import N_CTX, LocalModelError, LocalModelServer
from .weights import MODELS, WeightsError, available, install_hint, is_gguf_path, resolve_weights

if TYPE_CHECKING:
    from ..config import CodeAct

# What ``python -m llama_cpp.server`` imports: llama-cpp-python and its [server] extra.
RUNTIME_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")

ENDPOINT_HOWTO = (
    "point codeact-lab at an OpenAI-compatible endpoint: set OPENAI_API_KEY (OpenAI), or "
    "c.CodeAct.base_url / OPENAI_BASE_URL and c.CodeAct.model (vLLM, Ollama, a llama.cpp server)"
)
NO_MODEL_NOTE = (
    "No model is configured. Either install the embedded local model (`make lab` in a "
    "codeact-lab checkout, or scripts/install-local-model.sh: Qwen2.5-Coder-1.5B on this "
    f"machine's CPU, no key or network needed), or {ENDPOINT_HOWTO}."
)
# Measured on 2 cores (see benchmarks/README.md): generation speed, for the note.
SPEED = {
    "qwen2.5-coder-1.5b": "about 12 tokens/s on 2 idle cores, fewer when they are busy",
    "qwen2.5-coder-0.5b": "about 22 tokens/s on 2 idle cores, fewer when they are busy",
}


def endpoint_configured(settings: CodeAct) -> bool:
    """An endpoint or a key was given: the user chose a model server; use it."""
    return bool(
        settings.base_url or os.environ.get("OPENAI_BASE_URL") or settings.resolved_api_key()
    )


def missing_runtime() -> list[str]:
    return [name for name in RUNTIME_MODULES if importlib.util.find_spec(name) is None]


MIN_REPLY_TOKENS = 48


class LocalLLMClient(LLMClient):
    """An :class:`LLMClient` that starts (or restarts) the local server before each call.

    The server's API key is new for every start, so each call sends the running one.

    The local model's context is small (``server.n_ctx``), and llama.cpp answers a
    request that overflows it with an empty stream. The loop condenses each prompt to
    fit (by an estimate that errs high); each call then counts the prompt's tokens with
    the model's own tokenizer: the reply's ``max_tokens`` is cut to the room that is
    left, and a conversation that still does not fit ends with an error that says so.
    """

    def __init__(self, config: LLMConfig, server: LocalModelServer) -> None:
        super().__init__(config)
        self.server = server
        self.max_tokens = config.max_tokens

    @property
    def context_tokens(self) -> int:
        """The server's context, or less when ``CodeAct.context_tokens`` says so."""
        return min(self.config.context_tokens or self.server.n_ctx, self.server.n_ctx)

    @property
    def reply_tokens(self) -> int:
        return self.max_tokens or DEFAULT_REPLY_TOKENS  # config.max_tokens is cut per call

    def use_key(self, key: str) -> None:
        """Send ``key`` from now on (the config's copy is what error messages are redacted of)."""
        self.config.api_key = key
        self._client.api_key = key  # the openai client reads it for every request

    async def fit_context(self, messages: Sequence[dict[str, Any]]) -> None:
        text = "\n".join(content_text(m.get("content")) for m in messages)
        counted = await self.server.count_tokens(text)
        if counted is None:  # a server that cannot count: let it answer as it can
            return
        used = counted + TOKENS_PER_MESSAGE * len(messages) + TOKENS_PER_PROMPT
        room = self.server.n_ctx - used
        if room < MIN_REPLY_TOKENS:
            raise LLMError(
                f"the conversation (about {used} tokens) no longer fits the local model's "
                f"context of {self.server.n_ctx} tokens: start a new episode, or use an "
                "endpoint with a larger model"
            )
        self.config.max_tokens = min(self.max_tokens or room, room)

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        on_delta: DeltaCallback | None = None,
        on_retry: RetryCallback | None = None,
        sampling: Sampling | None = None,
    ) -> Completion:
        try:
            await self.server.ensure_started()
        except (LocalModelError, WeightsError) as err:
            raise LLMError(str(err)) from err
        self.use_key(self.server.api_key)
        await self.fit_context(messages)
        return await super().complete(
            messages, on_delta=on_delta, on_retry=on_retry, sampling=sampling
        )


class NoModelClient(LLMClient):
    """The client when there is no model: every call ends the episode with the note."""

    def __init__(self, config: LLMConfig, note: str) -> None:
        super().__init__(config)
        self.note = note

    async def complete(self, messages: Sequence[dict[str, Any]], **_: Any) -> Completion:
        raise LLMError(self.note)


@dataclasses.dataclass
class ResolvedModel:
    """The model of a server or a CLI run: its LLM config and, when local, its server."""

    config: LLMConfig
    server: LocalModelServer | None = None
    title: str = ""
    note: str = ""  # for the UI: what this model is, or how to get one
    available: bool = True
    start: str = "lazy"  # local: "lazy" (first episode) or "startup"

    @property
    def local(self) -> bool:
        return self.server is not None

    def llm_config(self, **overrides: Any) -> LLMConfig:
        """A copy of the config, with the overrides that are not None."""
        config = dataclasses.replace(self.config, extra_body=dict(self.config.extra_body))
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config

    def client(self, config: LLMConfig | None = None) -> LLMClient:
        """The client for one episode (its config may name another endpoint)."""
        config = config or self.llm_config()
        if self.server is not None and config.base_url == self.server.base_url:
            return LocalLLMClient(config, self.server)
        if not self.available and not config.base_url:
            return NoModelClient(config, self.note)
        return LLMClient(config)

    def public(self) -> dict[str, Any]:
        """What ``GET /codeact/config`` adds: ``local`` and ``note``, when there is a note."""
        if self.local:
            return {"local": True, "note": self.note}
        if not self.available:
            return {"endpoint": "", "local": False, "note": self.note}
        return {}

    def start_with_server(self) -> None:
        """At Jupyter's start-up: start the local model now if so configured."""
        if self.server is not None and self.start == "startup":
            self.server.start_soon()

    async def aclose(self) -> None:
        if self.server is not None:
            await self.server.stop()


def _local_note(title: str, choice: str, size: int | None) -> str:
    speed = SPEED.get(choice, "its speed depends on its size and this machine's cores")
    weight = f", {size / 1e9:.1f} GB" if size else ""
    return (
        f"Local model: {title}{weight}, running on this machine's CPU. It is small and slow "
        f"({speed}) and gets harder tasks wrong. For a stronger model, {ENDPOINT_HOWTO}."
    )


def resolve_model(settings: CodeAct, log: logging.Logger | None = None) -> ResolvedModel:
    """The model to use with these settings; see the module's docstring for the order."""
    config = settings.llm_config()
    if endpoint_configured(settings):
        return ResolvedModel(config)
    unavailable = dataclasses.replace(config, base_url=None)
    choice = settings.local_model.strip()
    if choice.lower() in ("off", "none", ""):
        note = f"No endpoint is configured and CodeAct.local_model is {choice!r}: {ENDPOINT_HOWTO}."
        return ResolvedModel(unavailable, note=note, available=False)
    missing = missing_runtime()
    if missing:
        return ResolvedModel(unavailable, note=NO_MODEL_NOTE, available=False)
    path = settings.local_model_path.strip()
    if not path and not is_gguf_path(choice) and choice not in MODELS:
        note = f"CodeAct.local_model: unknown model {choice!r}; choose one of {', '.join(MODELS)} or a .gguf path."
        return ResolvedModel(unavailable, note=note, available=False)
    if not available(choice, path):
        where = path or choice
        if path or is_gguf_path(choice):
            what = f"there is no GGUF file at {os.path.expanduser(where)}"
        else:
            what = f"the weights of {MODELS[choice].title} are not installed: {install_hint(MODELS[choice])}"
        note = f"llama-cpp-python is installed, but {what}. Or {ENDPOINT_HOWTO}."
        return ResolvedModel(unavailable, note=note, available=False)

    if path or is_gguf_path(choice):
        file = os.path.expanduser(path or choice)
        alias = os.path.splitext(os.path.basename(file))[0]
        title, size, key = f"{alias} (a local GGUF file)", os.path.getsize(file), alias
    else:
        model = MODELS[choice]
        alias, title, size, key = model.name, model.title, model.size, model.name
    server = LocalModelServer(
        lambda: resolve_weights(choice, path),
        alias,
        n_ctx=settings.context_tokens or N_CTX,
        n_threads=settings.local_model_threads or None,
        log=log,
    )
    # The key is the server's, made when it starts; LocalLLMClient sends it.
    config.base_url, config.api_key, config.model = server.base_url, NO_KEY, alias
    # A llama-cpp-python sampling field, sent with every request so that runs record it
    # and the eval's peer gets the same; an extra_body of the user's own wins.
    config.extra_body = {"repeat_penalty": settings.local_model_repeat_penalty, **config.extra_body}
    return ResolvedModel(
        config,
        server=server,
        title=title,
        note=_local_note(title, key, size),
        start=settings.local_model_start,
    )


def describe(model: ResolvedModel) -> str:
    """One line for logs: which model, where."""
    if model.local:
        assert model.server is not None
        return f"local model {model.title}, started on demand on 127.0.0.1"
    if not model.available:
        return "no model: " + model.note
    return f"model {model.config.model} at {public_endpoint(model.config.resolved_base_url())}"
