"""A stand-in for ``python -m llama_cpp.server`` in process-manager tests.

It takes llama_cpp.server's flags (``--model``, ``--model_alias``, ``--host``,
``--port``; the rest are ignored), answers ``GET /v1/models``, counts one token a word
on ``POST /extras/tokenize/count`` and streams one fixed chat reply on
``POST /v1/chat/completions``. Like llama_cpp.server, it requires ``Authorization: Bearer
$API_KEY`` on every route when ``API_KEY`` is set (401 otherwise), and listens on
``$HOST:$PORT`` over its flags when those are set (as its ``uvicorn.run`` call does).
Environment knobs:

* ``FAKE_LLAMA_EXIT``: print it and exit with status 3 instead of serving;
* ``FAKE_LLAMA_LOAD``: seconds to "load the model" before listening;
* ``FAKE_LLAMA_REPLY``: the reply text (default ``<solution>42</solution>``);
* ``FAKE_LLAMA_ECHO``: a field of the request whose JSON value is the reply's
  ``<solution>`` instead, to show what reached the server;
* ``FAKE_LLAMA_IGNORE_KEY``: answer without checking the key (a server not protected).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--model_alias", default="fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args, _ = parser.parse_known_args()
    if os.environ.get("FAKE_LLAMA_EXIT"):
        print(os.environ["FAKE_LLAMA_EXIT"], file=sys.stderr, flush=True)
        sys.exit(3)
    with open(args.model, "rb") as f:  # a real server reads its weights
        f.read(16)
    time.sleep(float(os.environ.get("FAKE_LLAMA_LOAD", "0")))
    reply = os.environ.get("FAKE_LLAMA_REPLY", "<solution>42</solution>")
    echo = os.environ.get("FAKE_LLAMA_ECHO")
    key = None if os.environ.get("FAKE_LLAMA_IGNORE_KEY") else os.environ.get("API_KEY")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *a: object) -> None:
            print(format % a, flush=True)

        def authorized(self) -> bool:
            if key is None or self.headers.get("Authorization") == f"Bearer {key}":
                return True
            self.send_error(401, "Invalid API key")
            return False

        def do_GET(self) -> None:
            if not self.authorized():
                return
            if self.path != "/v1/models":
                self.send_error(404)
                return
            body = json.dumps({"object": "list", "data": [{"id": args.model_alias}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            if not self.authorized():
                return
            if self.path == "/extras/tokenize/count":  # one token a word, for tests
                body = json.dumps({"count": len(request["input"].split())}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            text = f"<solution>{json.dumps(request.get(echo))}</solution>" if echo else reply
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            base = {"id": "c1", "object": "chat.completion.chunk", "created": 0}
            base["model"] = request.get("model", args.model_alias)
            for i in range(0, len(text), 5):
                delta = {"content": text[i : i + 5]}
                chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            end["usage"] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.close_connection = True

    host, port = os.getenv("HOST", args.host), int(os.getenv("PORT", args.port))
    server = ThreadingHTTPServer((host, port), Handler)
    print(f"fake llama server on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
