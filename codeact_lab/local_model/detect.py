"""Model servers the user already runs on this machine: Ollama, LM Studio, llama.cpp, vLLM.

With no endpoint configured, the embedded model is small; a user who runs a larger one
locally should be offered it. :func:`detect` asks each URL of
``c.CodeAct.detect_local_servers`` for its models (``GET /v1/models``; Ollama's
``/api/tags`` too), each with a short timeout, all at once. Nothing is switched here:
the server reports what was found and the user chooses.

A probe sends no credential (no key, no header of the configured endpoint), follows no
redirect, ignores proxy settings (the URLs are on this machine) and reads a bounded
reply. A server that lists no model, or wants a key to list them (the embedded llama.cpp
server does: it has a random key), is not offered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_URLS = (
    "http://127.0.0.1:11434",  # Ollama
    "http://127.0.0.1:1234",  # LM Studio
    "http://127.0.0.1:8000",  # vLLM, llama-cpp-python
    "http://127.0.0.1:8080",  # llama.cpp's llama-server
)
PROBE_TIMEOUT = 1.0  # seconds per request: a local server answers in milliseconds
MAX_REPLY_BYTES = 1_000_000
MAX_MODELS = 50

# /v1/models' "owned_by", as each server fills it in.
OWNERS = {
    "library": "Ollama",
    "organization_owner": "LM Studio",
    "vllm": "vLLM",
    "llamacpp": "llama.cpp",
    "me": "llama.cpp",  # llama-cpp-python
}
PORTS = {11434: "Ollama", 1234: "LM Studio"}  # when the reply does not say


@dataclass(frozen=True)
class DetectedServer:
    name: str  # "Ollama"
    base_url: str  # the OpenAI-compatible base, ".../v1"
    models: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.base_url, "models": list(self.models)}


def server_root(url: str) -> str:
    """``http://127.0.0.1:11434/v1/`` → ``http://127.0.0.1:11434``."""
    root = url.strip().rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def port_of(url: str) -> int | None:
    try:
        parts = urlsplit(url)
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    """The JSON a GET returns with status 200, or None (any failure, or a reply too big)."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return None
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_REPLY_BYTES:
                    return None
        return json.loads(body)
    except (httpx.HTTPError, ValueError, OSError):
        return None


def _names(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        return []
    names = [item.get(key) for item in items if isinstance(item, dict)]
    return [n[:200] for n in names if isinstance(n, str) and n.strip()][:MAX_MODELS]


async def probe(client: httpx.AsyncClient, url: str) -> DetectedServer | None:
    """What one URL serves, or None when nothing usable answers there."""
    root = server_root(url)
    listing = await _get_json(client, f"{root}/v1/models")
    data = listing.get("data") if isinstance(listing, dict) else None
    items = data if isinstance(data, list) else []
    models = _names(items, "id")
    owners = {str(item.get("owned_by")) for item in items if isinstance(item, dict)}
    name = next((OWNERS[o] for o in sorted(owners) if o in OWNERS), "")
    if not models:  # Ollama before 0.2 lists its models only at /api/tags
        tags = await _get_json(client, f"{root}/api/tags")
        models = _names(tags.get("models") if isinstance(tags, dict) else None, "name")
        name = "Ollama" if models else name
    if not models:
        return None
    name = name or PORTS.get(port_of(root) or 0, "OpenAI-compatible server")
    return DetectedServer(name, f"{root}/v1", tuple(models))


async def detect(
    urls: Iterable[str], exclude_ports: Iterable[int] = (), timeout: float = PROBE_TIMEOUT
) -> list[DetectedServer]:
    """Every server found at ``urls``, in their order; ``exclude_ports``: our own servers."""
    skip = set(exclude_ports)
    wanted = [u for u in dict.fromkeys(urls) if u.strip() and port_of(server_root(u)) not in skip]
    if not wanted:
        return []
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), trust_env=False, follow_redirects=False
    ) as client:
        found = await asyncio.gather(*(probe(client, u) for u in wanted))
    return [server for server in found if server is not None]


class LocalServerScout:
    """Detection in the background for the Jupyter server: it starts at start-up, reports
    what it last found, and looks again when asked after ``every`` seconds."""

    def __init__(
        self,
        urls: Iterable[str],
        exclude_ports: Iterable[int] = (),
        timeout: float = PROBE_TIMEOUT,
        every: float = 60.0,
    ) -> None:
        self.urls = list(urls)
        self.exclude_ports = set(exclude_ports)
        self.timeout = timeout
        self.every = every
        self.found: list[DetectedServer] = []
        self._task: asyncio.Task[None] | None = None
        self._last = -float("inf")

    @property
    def enabled(self) -> bool:
        return any(u.strip() for u in self.urls)

    def look_soon(self) -> None:
        """Start a look unless one runs or the last is recent; never waits for it."""
        if not self.enabled or (self._task is not None and not self._task.done()):
            return
        if time.monotonic() - self._last < self.every:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test, a script): nothing to run it on
            return
        self._last = time.monotonic()
        self._task = loop.create_task(self.look())

    async def look(self) -> None:
        try:
            self.found = await detect(self.urls, self.exclude_ports, self.timeout)
        except Exception:  # a help, never a failure of the server
            logging.getLogger("codeact_lab").exception("codeact-lab: local server detection failed")

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def public(self) -> list[dict[str, Any]]:
        return [server.to_dict() for server in self.found]
