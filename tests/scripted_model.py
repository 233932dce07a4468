"""A scripted OpenAI-compatible chat server: the one stand-in our tests allow.

It speaks ``POST /v1/chat/completions`` with server-sent events exactly as the real
API streams them (or, for a request without ``stream``, one JSON ``chat.completion``),
and answers from a script the test gives it, in order. Every
request it receives is recorded (body and headers), so a test can assert what the
model was sent. It runs on 127.0.0.1 in a thread of its own, so an in-process
test and a subprocess (the command line, a Jupyter server) can both use it.

A script entry is a dict:

``{"text": "...", "chunk": 7, "delay": 0.0, "finish_reason": "stop", "usage": true}``
    stream ``text`` in pieces of ``chunk`` characters, ``delay`` s apart. As real
    servers do, the reply is cut at the first stop sequence the request names,
    which is stripped. ``usage`` adds the final usage chunk when asked for.
``{"status": 500, "message": "...", "headers": {...}}``
    an HTTP error with an OpenAI-style error body.
``{"garbage": "<html>..."}``
    a 200 event stream whose data is not JSON.
``{"text": "...", "close_after": 10}``
    stream 10 characters, then drop the connection.
``{"hang": 30}``
    accept the request, send nothing for 30 s.
A callable entry is called with the request body and returns an entry: scripts
of any length (benchmarks) use that.

``GET /v1/models`` lists ``models`` (default: the one ``model`` name) as the OpenAI API
does, with ``owned_by`` as given; an empty list answers 404, as servers without the
route do. With ``tags`` it also answers Ollama's ``GET /api/tags``. The headers of
these requests are recorded in ``listing_headers``.

Run as a program (``python -m tests.scripted_model --port 8765``) it also answers
control routes, for browser tests that script it from another process:
``POST /_script`` (a JSON list of entries, appended), ``POST /_reset`` (forget the
script and the requests), ``GET /_requests`` (every request body so far) and
``GET /_health``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

Entry = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class ScriptedModel:
    def __init__(
        self,
        *entries: Entry,
        model: str = "scripted",
        models: list[str] | None = None,
        owned_by: str = "scripted",
        tags: list[str] | None = None,
    ) -> None:
        self.model = model
        self.models = [model] if models is None else list(models)
        self.owned_by = owned_by
        self.tags = tags  # None: no /api/tags route
        self.listing_headers: list[dict[str, str]] = []
        self._entries: deque[Entry] = deque(entries)
        self.default: Entry | None = None  # answered when the script runs out
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.sent_at: list[float] = []  # monotonic time each text chunk was written
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: HTTPServer | None = None
        self.port = 0

    # ---- script ----
    def script(self, *entries: Entry) -> None:
        with self._lock:
            self._entries.extend(entries)

    def next_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
            entry = self._entries.popleft() if self._entries else self.default
        if entry is None:
            return {"status": 500, "message": "scripted model: the script ran out"}
        return entry(body) if callable(entry) else entry

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- lifecycle ----
    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self.requests.clear()
            self.headers.clear()
            self.default = None

    def start(self, port: int = 0) -> ScriptedModel:
        sockets = bind_sockets(port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            app = web.Application(
                [
                    (r"/v1/chat/completions", _Completions, {"model": self}),
                    (r"/v1/models", _Models, {"model": self}),
                    (r"/api/tags", _Tags, {"model": self}),
                    (r"/_script", _Script, {"model": self}),
                    (r"/_reset", _Reset, {"model": self}),
                    (r"/_requests", _Requests, {"model": self}),
                    (r"/_health", _Health),
                ]
            )
            self._server = HTTPServer(app)
            self._server.add_sockets(sockets)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="scripted-model", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        def shutdown() -> None:
            if self._server is not None:
                self._server.stop()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    """Tokens counted as a quarter of the characters: known numbers for the tests."""
    prompt = sum(len(json.dumps(m.get("content"))) for m in body.get("messages", [])) // 4
    completion = max(1, len(text) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class _Completions(web.RequestHandler):
    def initialize(self, model: ScriptedModel) -> None:
        self.scripted = model

    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = {"_raw": self.request.body.decode("utf-8", "replace")}
        self.scripted.headers.append(dict(self.request.headers))
        entry = self.scripted.next_entry(body)
        if "hang" in entry:
            await asyncio.sleep(float(entry["hang"]))
        if "status" in entry:
            self.set_status(int(entry["status"]))
            for key, value in (entry.get("headers") or {}).items():
                self.set_header(key, str(value))
            self.set_header("Content-Type", "application/json")
            error = {"message": entry.get("message", "scripted error"), "type": "scripted"}
            self.finish(json.dumps({"error": error}))
            return
        if not body.get("stream"):
            self._whole(body, entry)  # a client that asked for one JSON reply
            return
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        try:
            if "garbage" in entry:
                self.write(f"data: {entry['garbage']}\n\n")
                await self.flush()
                self.finish()
                return
            await self._stream(body, entry)
        except StreamClosedError:
            pass

    async def _stream(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        model = self.scripted.model
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        text, _stopped = _cut_at_stop(str(entry.get("text", "")), stops)
        finish = entry.get("finish_reason", "stop")
        size = max(1, int(entry.get("chunk", 16)))
        delay = float(entry.get("delay", 0.0))
        close_after = entry.get("close_after")
        await self._send(_chunk(model, {"role": "assistant", "content": ""}))
        for start in range(0, len(text), size):
            if close_after is not None and start >= int(close_after):
                self.request.connection.stream.close()  # type: ignore[attr-defined]
                return
            if delay:
                await asyncio.sleep(delay)
            await self._send(_chunk(model, {"content": text[start : start + size]}))
            self.scripted.sent_at.append(time.monotonic())
        await self._send(_chunk(model, {}, finish))
        if (body.get("stream_options") or {}).get("include_usage") and entry.get("usage", True):
            await self._send({**_chunk(model, {}), "choices": [], "usage": _usage(body, text)})
        self.write("data: [DONE]\n\n")
        await self.flush()
        self.finish()

    def _whole(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        """The same reply as one ``chat.completion`` object, usage included."""
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        text, _stopped = _cut_at_stop(str(entry.get("text", "")), stops)
        message = {"role": "assistant", "content": text}
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": entry.get("finish_reason", "stop"),
        }
        reply = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.scripted.model,
            "choices": [choice],
            "usage": _usage(body, text),
        }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))

    async def _send(self, payload: dict[str, Any]) -> None:
        self.write(f"data: {json.dumps(payload)}\n\n")
        await self.flush()


class _Control(web.RequestHandler):
    def initialize(self, model: ScriptedModel) -> None:
        self.scripted = model


class _Models(_Control):
    def get(self) -> None:
        self.scripted.listing_headers.append(dict(self.request.headers))
        if not self.scripted.models:
            raise web.HTTPError(404)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": self.scripted.owned_by}
            for name in self.scripted.models
        ]
        self.finish({"object": "list", "data": data})


class _Tags(_Control):
    def get(self) -> None:
        self.scripted.listing_headers.append(dict(self.request.headers))
        if self.scripted.tags is None:
            raise web.HTTPError(404)
        self.finish({"models": [{"name": name, "model": name} for name in self.scripted.tags]})


class _Script(_Control):
    def post(self) -> None:
        entries = json.loads(self.request.body or b"[]")
        self.scripted.script(*(entries if isinstance(entries, list) else [entries]))
        self.finish({"queued": len(self.scripted._entries)})


class _Reset(_Control):
    def post(self) -> None:
        self.scripted.reset()
        self.finish({"ok": True})


class _Requests(_Control):
    def get(self) -> None:
        self.finish({"requests": self.scripted.requests})


class _Health(web.RequestHandler):
    def get(self) -> None:
        self.finish({"ok": True})


def main() -> None:
    """Serve until killed, scripted from a JSON file and/or the control routes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("script", nargs="?", help="JSON file: a list of script entries")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--port-file", help="write the chosen port here")
    args = parser.parse_args()
    entries = []
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            entries = json.load(f)
    model = ScriptedModel(*entries).start(args.port)
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(str(model.port))
    print(model.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
