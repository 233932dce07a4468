"""The local model server: ``python -m llama_cpp.server`` as a managed child process.

:class:`LocalModelServer` owns one OpenAI-compatible llama.cpp server on
127.0.0.1, on a free port chosen up front (so ``base_url`` is known before the
process runs and stays the same across a restart):

* started on demand (:meth:`ensure_started`, awaited by the first model call) or
  ahead of time (:meth:`start_soon`), after resolving the weights in a thread (the
  first start may join 1 GB of parts);
* protected by a random API key, new for every start, that the server requires on
  every route and our client sends. It reaches the child in its environment (``API_KEY``,
  read by llama_cpp.server's settings), never on its command line, which ``ps`` shows to
  every user;
* ready when the process answering on the port is our child (on Linux: the listening
  socket is one of its open files) and it answers ``GET /v1/models`` with our key, and
  refuses it without the key or with another: anything else on the port (another user's
  process that took it first) is an impostor, and the start fails saying so, before our
  key is sent to it;
* watched: if the process dies, it is started again once, on the same port, so
  a model call that is retrying reaches it again; a second death is final and
  every later call gets the reason with the tail of the server's log;
* stopped by :meth:`stop` (the Jupyter server's shutdown, the end of
  ``codeact-lab run``), at interpreter exit as a fallback, and by itself when its
  parent is gone (see ``_child``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Sequence

# The embedded model's context: 8,192 tokens cost 112 MiB more than 4,096 (its KV cache is
# 28 KiB a token) and no speed at the same prompt; 16,384 would let one prompt take about
# 10 minutes to evaluate cold on 2 cores (benchmarks/local_context.py, benchmarks/README.md).
N_CTX = 8192
LOG_TAIL_CHARS = 1500
# llama_cpp.server's settings are pydantic-settings: its API key is read from API_KEY (in any
# case) when no --api_key is given. uvicorn is then started on $HOST:$PORT when those are set,
# and $CONFIG_FILE replaces the command line: none of the user's may reach our child.
KEY_VARIABLE = "API_KEY"
SERVER_VARIABLES = frozenset({KEY_VARIABLE, "HOST", "PORT", "CONFIG_FILE"})


class LocalModelError(RuntimeError):
    """The local model server could not start, or died and could not be restarted."""


class ImpostorError(LocalModelError):
    """Something other than our child answers on the local model's port."""


# Listening sockets in /proc/net/tcp{,6} that a connection to 127.0.0.1 can reach: 127.0.0.1,
# the IPv4 and IPv6 wildcards and ::ffff:127.0.0.1 (each 32-bit word in either byte order).
_LOOPBACK = {
    "tcp": {"0100007F", "7F000001", "00000000"},
    "tcp6": {"0" * 32, "0000000000000000FFFF00000100007F", "00000000000000000000FFFF7F000001"},
}
LISTEN = "0A"


def listening_sockets(port: int) -> set[str] | None:
    """Inodes of the sockets listening on 127.0.0.1:``port``; ``None`` without /proc."""
    found: set[str] = set()
    readable = False
    for table, addresses in _LOOPBACK.items():
        try:
            with open(f"/proc/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for row in rows:
            fields = row.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port and address in addresses:
                found.add(fields[9])
    return found if readable else None


def socket_owner(port: int, pid: int) -> str:
    """Who listens on 127.0.0.1:``port``: ``ours`` (only process ``pid``), ``theirs``
    (another process, maybe as well), ``none`` yet, or ``unknown`` (no /proc: not Linux)."""
    listening = listening_sockets(port)
    if listening is None:
        return "unknown"
    if not listening:
        return "none"
    fd_dir = f"/proc/{pid}/fd"
    held = set()
    try:
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                link = os.readlink(os.path.join(fd_dir, fd))
                if link.startswith("socket:["):
                    held.add(link[len("socket:[") : -1])
    except OSError:  # our child is gone (or /proc hides it): then it is not ours
        return "theirs"
    return "ours" if listening <= held else "theirs"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def default_threads() -> int:
    """One thread per available core, at most 8 (llama.cpp gains little beyond that)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _stop_at_exit(ref: weakref.ReferenceType[LocalModelServer]) -> None:
    server = ref()
    if server is not None:
        server.stop_sync()


class LocalModelServer:
    """One llama.cpp server process serving one GGUF file under one alias."""

    def __init__(
        self,
        weights: Callable[[], str],
        alias: str,
        *,
        n_ctx: int = N_CTX,
        n_threads: int | None = None,
        port: int | None = None,
        target: str = "llama_cpp.server",
        extra_args: Sequence[str] = (),
        startup_timeout: float = 300.0,
        max_restarts: int = 1,
        python: str = sys.executable,
        log: logging.Logger | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.weights = weights  # returns the GGUF path; may take long the first time
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.target = target  # a module run with -m, or a .py script (tests)
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self.python = python
        self.log = log or logging.getLogger("codeact_lab.local_model")
        self.log_dir = log_dir  # the server's own log (default: the temp folder)
        self.model_path: str | None = None
        self.restarts = 0
        self.load_seconds: float | None = None  # spawn to first healthy answer, last start
        self.error: str | None = None  # set when the server is given up on
        self.api_key = ""  # the running child's key: new for every start; never logged
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: str | None = None
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._stopped = False
        self._background: asyncio.Task[None] | None = None
        atexit.register(_stop_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"LocalModelServer(alias={self.alias!r}, base_url={self.base_url!r}, state={self.state!r})"

    # ---- state ----
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def state(self) -> str:
        """``stopped``, ``starting``, ``ready`` or ``failed``."""
        if self.error:
            return "failed"
        if self.running:
            return "ready" if self.load_seconds is not None else "starting"
        return "stopped"

    # ---- starting ----
    async def ensure_started(self) -> str:
        """Start the server if it is not running (or restart it once); its base URL."""
        if self.running and self.load_seconds is not None:
            return self.base_url
        async with self._lock:
            if self.error:
                raise LocalModelError(self.error)
            if self._proc is not None and self._proc.poll() is not None:
                await self._handle_death(self._proc)  # died before the watcher saw it
                if self.error:
                    raise LocalModelError(self.error)
            if not self.running:
                self._stopped = False
                await self._start()
        return self.base_url

    def start_soon(self) -> asyncio.Task[None]:
        """Start in the background (at server start-up); failures are logged, not raised."""

        async def start() -> None:
            try:
                await self.ensure_started()
            except Exception as err:
                self.log.error("codeact-lab: the local model did not start: %s", err)

        if self._background is None or self._background.done():
            self._background = asyncio.ensure_future(start())
        return self._background

    def _argv(self, model_path: str) -> list[str]:
        # llama_cpp.server's own flags; a test server script accepts the same.
        args = ["--model", model_path, "--model_alias", self.alias]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx)]
        args += ["--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads)]
        child = [self.python, "-m", "codeact_lab.local_model._child", str(os.getpid())]
        return [*child, self.target, *args, *self.extra_args]

    async def _start(self) -> None:
        if self.model_path is None:
            # The first start may join the weights (about 10 s for 1 GB): off the event loop.
            self.model_path = await asyncio.to_thread(self.weights)
        if self._log_path is None:
            fd, self._log_path = tempfile.mkstemp(
                prefix="codeact-local-model-", suffix=".log", dir=self.log_dir
            )
            os.close(fd)
        started = time.monotonic()
        # A new key for every start: one sent to whatever took the port while a previous
        # child was dying opens nothing now.
        self.api_key = secrets.token_urlsafe(32)
        self._proc = proc = self._spawn(self.model_path, self._log_path)
        self.log.info(
            "codeact-lab: starting the local model %s (pid %d, %s, log %s)",
            self.alias,
            proc.pid,
            self.base_url,
            self._log_path,
        )
        self.load_seconds = None
        deadline = started + self.startup_timeout
        while True:
            if proc.poll() is not None:
                raise LocalModelError(
                    f"the local model server ({self.alias}) exited while starting "
                    f"({_describe_exit(proc.returncode)}){self._log_tail()}"
                )
            try:
                if await asyncio.to_thread(self._answers, proc):
                    break
            except ImpostorError:
                self._terminate(proc)
                self._proc = None
                raise
            if time.monotonic() > deadline:
                self._terminate(proc)
                raise LocalModelError(
                    f"the local model server ({self.alias}) did not answer within "
                    f"{self.startup_timeout:g} s{self._log_tail()}"
                )
            await asyncio.sleep(0.2)
        self.load_seconds = time.monotonic() - started
        self.log.info(
            "codeact-lab: local model %s ready in %.1f s at %s",
            self.alias,
            self.load_seconds,
            self.base_url,
        )
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.ensure_future(self._watch())

    def _spawn(self, model_path: str, log_path: str) -> subprocess.Popen[bytes]:
        """Start the process (a fork and exec: no need to leave the event loop)."""
        # llama.cpp's OpenMP threads spin while they wait by default: with the kernel,
        # JupyterLab and a browser on the same cores, that collapses generation speed
        # (measured on 2 loaded cores: 1.5 tok/s spinning, 4.6 tok/s passive).
        env = {"OMP_WAIT_POLICY": "PASSIVE"}
        env.update((k, v) for k, v in os.environ.items() if k.upper() not in SERVER_VARIABLES)
        env[KEY_VARIABLE] = self.api_key  # in its environment: only this user can read it
        with open(log_path, "ab") as log_file:
            return subprocess.Popen(
                self._argv(model_path),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal stops the episode, not the model
            )

    def _status(self, key: str | None) -> tuple[int, bytes] | None:
        """``GET /v1/models`` with ``key`` as the bearer token: status and body, or ``None``."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        request = urllib.request.Request(f"{self.base_url}/models", headers=headers)
        try:
            with direct.open(request, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, b""
        except (OSError, urllib.error.URLError):
            return None

    def _answers(self, proc: subprocess.Popen[bytes]) -> bool:
        """Whether our child ``proc`` serves the model now (blocking; run in a thread).

        ``False`` while nothing listens yet; :class:`ImpostorError` when another process
        answers: one that listens on the port (Linux), or that answers without our key or
        to a wrong one (anywhere). The key is sent last, once the rest says it is ours.
        """
        where = f"127.0.0.1:{self.port}"
        if proc.poll() is not None:
            return False
        owner = socket_owner(self.port, proc.pid)
        if owner == "none":
            return False
        if owner == "theirs":
            raise ImpostorError(
                f"another process listens on {where}, the port of the local model server "
                f"({self.alias}): it is not the server codeact-lab started (pid {proc.pid}), "
                "so nothing was sent to it"
            )
        for what, key in (("without a key", None), ("to a wrong key", secrets.token_urlsafe(32))):
            answer = self._status(key)
            if answer is None:
                return False  # not listening yet (where /proc cannot tell)
            if answer[0] not in (401, 403):
                raise ImpostorError(
                    f"the process on {where} answers {what} (HTTP {answer[0]}): it is not the "
                    f"local model server codeact-lab started ({self.alias}, pid {proc.pid}), "
                    "which requires its key"
                )
        answer = self._status(self.api_key)
        if answer is None or answer[0] != 200:
            return False
        try:
            listed = "data" in json.loads(answer[1])
        except ValueError:
            return False
        return listed and proc.poll() is None

    async def healthy(self) -> bool:
        """Our child is running and answers ``GET /v1/models`` with our key (and only then)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        try:
            return await asyncio.to_thread(self._answers, proc)
        except ImpostorError:
            return False

    async def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` for the served model (``None`` when the server cannot say)."""
        root = self.base_url.removesuffix("/v1")
        body = json.dumps({"input": text}).encode()

        def count() -> int | None:
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            request = urllib.request.Request(
                f"{root}/extras/tokenize/count",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.api_key}",
                },
            )
            try:
                with direct.open(request, timeout=30) as response:
                    return int(json.loads(response.read())["count"])
            except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
                return None

        return await asyncio.to_thread(count)

    # ---- watching ----
    async def _watch(self) -> None:
        while not self._stopped:
            proc = self._proc
            if proc is not None and proc.poll() is not None and self.load_seconds is not None:
                async with self._lock:
                    if self._proc is proc and not self._stopped:
                        await self._handle_death(proc)
                if self.error:
                    return
            await asyncio.sleep(0.5)

    async def _handle_death(self, proc: subprocess.Popen[bytes]) -> None:
        """The process ended without being stopped: restart it once, then give up."""
        how = _describe_exit(proc.returncode)
        self._proc = None
        self.load_seconds = None
        if self.restarts >= self.max_restarts:
            hint = ""
            if proc.returncode == -signal.SIGSEGV:
                hint = (
                    " (a llama-cpp-python built with native CPU flags crashes on some CPUs: "
                    "reinstall it with scripts/install-local-model.sh)"
                )
            self.error = (
                f"the local model server ({self.alias}) died ({how}) after being restarted "
                f"{self.restarts} time(s){hint}{self._log_tail()}"
            )
            self.log.error("codeact-lab: %s", self.error)
            return
        self.restarts += 1
        self.log.warning("codeact-lab: the local model server died (%s); restarting it", how)
        try:
            await self._start()
        except LocalModelError as err:
            self.error = str(err)
            self.log.error("codeact-lab: %s", self.error)

    def _log_tail(self) -> str:
        if not self._log_path:
            return ""
        try:
            with open(self._log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self._log_path) - LOG_TAIL_CHARS))
                tail = f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f"; last lines of its log ({self._log_path}):\n{tail}" if tail else ""

    # ---- stopping ----
    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    async def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s) and the watcher."""
        self._stopped = True
        for task in (self._watcher, self._background):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        proc, self._proc = self._proc, None
        self.load_seconds = None
        if proc is not None:
            await asyncio.to_thread(self._terminate, proc)
        self._remove_log()

    def stop_sync(self) -> None:
        """For interpreter exit: no event loop needed."""
        self._stopped = True
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc, grace=2.0)
        self._remove_log()

    def _remove_log(self) -> None:
        if self._log_path and not self.error:
            with contextlib.suppress(OSError):
                os.unlink(self._log_path)
            self._log_path = None
