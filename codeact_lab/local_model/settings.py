"""The local model's settings: traitlets of ``CodeAct`` (``c.CodeAct.local_model = ...``).

They live here, with the code that reads them; ``CodeAct`` inherits them.
"""

from __future__ import annotations

import os

from traitlets import CaselessStrEnum, Float, Int, List, Unicode, default
from traitlets.config import Configurable

from .detect import DEFAULT_URLS
from .weights import DEFAULT_MODEL, LIGHT_MODEL


class LocalModelSettings(Configurable):
    local_model = Unicode(
        help=(
            f"The embedded model used when no endpoint is configured: {DEFAULT_MODEL!r} "
            f"(default), {LIGHT_MODEL!r} (lighter, weaker), a path to a .gguf file, or 'off' "
            "(never start a local model). Env CODEACT_LOCAL_MODEL."
        )
    ).tag(config=True)
    local_model_path = Unicode(
        help="A GGUF file to serve instead of the pinned weights (env CODEACT_LOCAL_MODEL_PATH)."
    ).tag(config=True)
    local_model_start = CaselessStrEnum(
        ["lazy", "startup"],
        "lazy",
        help="Start the local model server on the first episode (lazy) or with Jupyter (startup).",
    ).tag(config=True)
    local_model_threads = Int(
        0, help="Threads of the local model server (0: one per core, at most 8)."
    ).tag(config=True)
    local_model_repeat_penalty = Float(
        1.1,
        help=(
            "llama.cpp's repeat penalty on the embedded model's replies (1.0: none), sent "
            "with every request. 1.1 is llama-cpp-python's server default; 1.0 (pure greedy "
            "at temperature 0) was measured and solved one task fewer on both the built-in "
            "suite and benchmarks/local_tasks.py."
        ),
    ).tag(config=True)
    detect_local_servers = List(
        Unicode(),
        list(DEFAULT_URLS),
        help=(
            "With no endpoint configured: where to look, in the background, for a model server "
            "the user already runs (GET /v1/models, and Ollama's /api/tags), so the sidebar can "
            "offer it. Never used unless the user accepts; no key is sent to it. Default: "
            "Ollama (11434), LM Studio (1234), vLLM / llama.cpp (8000, 8080) on 127.0.0.1. "
            "Empty: do not look."
        ),
    ).tag(config=True)

    @default("local_model")
    def _default_local_model(self) -> str:
        return os.environ.get("CODEACT_LOCAL_MODEL", DEFAULT_MODEL)

    @default("local_model_path")
    def _default_local_model_path(self) -> str:
        return os.environ.get("CODEACT_LOCAL_MODEL_PATH", "")
