"""Route handlers: small, authenticated and authorized through jupyter_server.

Each one parses the request, calls the episode manager and turns its errors into
status codes. The WebSocket streams an episode's events (replay from ``since``,
then live).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import __version__
from ..agent import wire
from ..export import episode_from_notebook, episode_to_notebook, hides_code
from . import validation
from .manager import BadRequest, EpisodeError, EpisodeManager, parse_overrides

# The resource name jupyter_server's authorizer sees for our routes.
AUTH_RESOURCE = "codeact"
EPISODE_ID = r"(?P<episode_id>[0-9a-f]{32})"
# A WebSocket client that has this much unsent is dropped (it reconnects and catches up).
MAX_BACKLOG_BYTES = 4 * 1024 * 1024


async def notebook_path(handler: APIHandler, path: str) -> str:
    """An API path inside the server's root that exists."""
    normal = posixpath.normpath(path.replace("\\", "/").lstrip("/"))
    if normal in (".", "..") or normal.startswith("../"):
        raise BadRequest(f"path {path!r} is outside the server's root")
    try:
        exists = await ensure_async(handler.contents_manager.file_exists(normal))
    except web.HTTPError:  # the contents manager refuses paths outside its root
        raise BadRequest(f"path {path!r} is outside the server's root") from None
    if not exists:
        raise web.HTTPError(404, f"no notebook at {normal!r}")
    manager = handler.contents_manager
    hidden = any(part.startswith(".") for part in normal.split("/"))
    if not getattr(manager, "allow_hidden", False) and (
        hidden or await ensure_async(manager.is_hidden(normal))
    ):
        raise BadRequest(f"path {path!r} is hidden; the server does not serve hidden files")
    return normal


async def read_notebook_cells(handler: CodeActHandler, body: dict[str, Any], path: str) -> Any:
    """The notebook as the user sees it: the live cells the client sent (unsaved edits
    count), else the saved file's; None when neither can be read."""
    sent = validation.notebook_snapshot(body)
    if sent is not None:
        return sent
    try:
        model = await ensure_async(
            handler.contents_manager.get(path, content=True, type="notebook")
        )
        cells = (model.get("content") or {}).get("cells")
    except Exception:  # a file that is not a notebook, or gone: no view, still an episode
        handler.log.info("codeact: %s could not be read as a notebook", path)
        return None
    return cells if isinstance(cells, list) else None


class CodeActHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> EpisodeManager:
        manager: EpisodeManager = self.settings["codeact_manager"]
        return manager

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as err:
            raise web.HTTPError(400, f"malformed JSON: {err}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return body

    async def require_kernel_execute(self) -> None:
        """Running an episode runs code in a kernel: the user needs the right to execute
        there (jupyter_server's ``kernels`` resource), not only ``write`` on codeact."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", "kernels")
        )
        if not allowed:
            raise web.HTTPError(403, "running an episode needs permission to execute in kernels")

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EpisodeError):
            self.set_status(exc.status)
            self.finish(json.dumps({"message": str(exc)}))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, EpisodeError):  # an expected refusal, not a server error
            self.log.info("codeact: %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class HealthHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        health: wire.Health = {"status": "ok", "version": __version__}
        self.reply(health)


class ConfigHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(self.manager.config())


class EpisodesHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        request_id = self.get_argument("request_id", None)
        if request_id is not None:  # the episode a %codeact display started, if any
            found = self.manager.store.by_request(request_id)
            summaries = [] if found is None else self.manager.history(None, 500)
            self.reply({"episodes": [s for s in summaries if s["id"] == found]})
            return
        notebook_path = self.get_argument("notebook_path", None)
        try:
            limit = max(1, min(500, int(self.get_argument("limit", "50"))))
        except ValueError:
            raise BadRequest("limit must be a number") from None
        self.reply({"episodes": self.manager.history(notebook_path, limit)})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.require_kernel_execute()
        body = self.json_body()
        kernel_id = validation.required_string(body, "kernel_id", max_length=200)
        path = validation.optional_string(body, "notebook_path", max_length=4096)
        path = await notebook_path(self, path or await self._session_path(kernel_id))
        fix_cell = validation.optional_string(body, "fix_cell_id")
        anchor = fix_cell or validation.optional_string(body, "anchor_cell_id")
        request_id = validation.optional_string(body, "request_id")
        known = request_id is not None and self.manager.store.by_request(request_id)
        overrides = parse_overrides(body.get("settings"))
        cells = None
        if not known and (fix_cell or self.manager.reads_notebook(overrides)):
            cells = await read_notebook_cells(self, body, path)
        if fix_cell and not known:
            task = self.manager.fix_cell_task(cells, fix_cell)
        else:
            task = validation.required_string(body, "task")
        episode = await self.manager.start(
            task,
            path,
            kernel_id,
            anchor_cell_id=anchor,
            overrides=overrides,
            request_id=request_id,
            notebook_cells=cells,
            fix_cell_id=fix_cell,
        )
        self.reply(self.manager.describe(episode.id), 200 if known else 201)

    async def _session_path(self, kernel_id: str) -> str:
        """The notebook whose session runs this kernel (the %codeact display knows only it)."""
        sessions: list[dict[str, Any]] = await ensure_async(self.session_manager.list_sessions())
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel_id:
                return str(session.get("path") or session.get("notebook", {}).get("path"))
        raise BadRequest("notebook_path is required (no notebook session runs this kernel)")


class ImportHandler(CodeActHandler):
    """``POST /codeact/episodes/import {notebook_path}``: the episode an exported notebook holds."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = await notebook_path(
            self, validation.required_string(body, "notebook_path", max_length=4096)
        )
        model = await ensure_async(self.contents_manager.get(path, content=True, type="notebook"))
        try:
            nb = nbformat.from_dict(model["content"])
            episode = episode_from_notebook(nb)
            hidden = hides_code(nb, episode)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            # A hand-made or damaged record: say so, never a 500.
            raise BadRequest(f"the notebook's codeact record is not valid: {err}") from None
        stored, new = self.manager.import_episode(episode, path, hidden)
        self.reply(self.manager.describe(stored.id), 201 if new else 200)


class EpisodeHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self, episode_id: str) -> None:
        self.reply(self.manager.describe(episode_id))


class MessagesHandler(CodeActHandler):
    @web.authenticated
    @authorized
    async def post(self, episode_id: str) -> None:
        await self.require_kernel_execute()
        body = self.json_body()
        overrides = parse_overrides(body.get("settings"))
        path = self.manager.episode(episode_id).metadata.get("notebook_path") or ""
        cells = None
        if path and self.manager.reads_notebook(overrides):
            cells = await read_notebook_cells(self, body, path)
        await self.manager.follow_up(
            episode_id,
            validation.required_string(body, "text"),
            kernel_id=validation.optional_string(body, "kernel_id"),
            overrides=overrides,
            restore=validation.boolean(body, "restore"),
            notebook_cells=cells,
        )
        self.reply(self.manager.describe(episode_id), 202)


class ApproveHandler(CodeActHandler):
    @web.authenticated
    @authorized
    async def post(self, episode_id: str) -> None:
        await self.require_kernel_execute()  # approving runs the action
        body = self.json_body()
        approve_rest = validation.boolean(body, "all")
        self.manager.approve(episode_id, approve_rest=approve_rest, code=body.get("code"))
        self.reply(self.manager.describe(episode_id))


class RejectHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def post(self, episode_id: str) -> None:
        note = validation.optional_string(self.json_body(), "note", max_length=2000)
        self.manager.reject(episode_id, note)
        self.reply(self.manager.describe(episode_id))


class StopHandler(CodeActHandler):
    @web.authenticated
    @authorized
    async def post(self, episode_id: str) -> None:
        await self.manager.stop(episode_id)
        self.reply(self.manager.describe(episode_id))


class NotebookHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self, episode_id: str) -> None:
        episode = self.manager.episode(episode_id)
        code_only = self.get_argument("code_only", "0") in ("1", "true", "yes")
        secrets = [self.manager.settings.resolved_api_key()]
        nb = episode_to_notebook(episode, code_only=code_only, secrets=secrets)
        name = f"codeact-{episode_id[:8]}.ipynb"
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(json.dumps(nb))


class EventsHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``WS /codeact/episodes/{id}/events?since=SEQ``."""

    auth_resource = AUTH_RESOURCE
    _unsubscribe: Any = None
    _backlog = 0  # bytes handed to the socket and not yet written out
    _allowance = MAX_BACKLOG_BYTES
    _dropped = False

    def set_default_headers(self) -> None:
        """JupyterHandler's default headers do not apply to a WebSocket."""

    @ws_authenticated
    async def get(self, episode_id: str) -> None:
        authorized_ = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not authorized_:
            raise web.HTTPError(403)
        manager: EpisodeManager = self.settings["codeact_manager"]
        if not manager.store.exists(episode_id):
            raise web.HTTPError(404, f"no episode {episode_id}")
        try:
            self.since = max(0, int(self.get_argument("since", "0")))
        except ValueError:
            raise web.HTTPError(400, "since must be a number") from None
        await super().get(episode_id)

    def open(self, episode_id: str) -> None:
        super().open()
        manager: EpisodeManager = self.settings["codeact_manager"]
        self._unsubscribe = manager.subscribe(episode_id, self.since, self._send)
        # The replay is the record itself and may be large; it is not "falling behind".
        self._allowance = max(MAX_BACKLOG_BYTES, self._backlog + MAX_BACKLOG_BYTES)

    def _send(self, message: str) -> None:
        if self._dropped:
            return
        if self._backlog > self._allowance:
            # A client this far behind would make the server hold its whole backlog: drop
            # it; it reconnects with since=SEQ and catches up from the record (1013: try
            # again later).
            self._dropped = True
            self.on_close()
            self.close(1013, "too far behind: reconnect to catch up")
            return
        try:
            written = self.write_message(message)
        except WebSocketClosedError:
            self.on_close()
            return
        size = len(message)
        self._backlog += size

        def drained(future: Any) -> None:
            self._backlog -= size
            if self._backlog <= MAX_BACKLOG_BYTES:
                self._allowance = MAX_BACKLOG_BYTES
            if not future.cancelled():
                future.exception()  # a closed socket: nothing to report

        written.add_done_callback(drained)

    def on_message(self, message: str | bytes) -> None:
        """Commands go through the HTTP routes; messages from the client are ignored."""

    def on_close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


def handlers() -> list[tuple[str, type]]:
    prefix = "/codeact"
    episode = f"{prefix}/episodes/{EPISODE_ID}"
    return [
        (f"{prefix}/health", HealthHandler),
        (f"{prefix}/config", ConfigHandler),
        (f"{prefix}/episodes", EpisodesHandler),
        (f"{prefix}/episodes/import", ImportHandler),
        (episode, EpisodeHandler),
        (f"{episode}/messages", MessagesHandler),
        (f"{episode}/approve", ApproveHandler),
        (f"{episode}/reject", RejectHandler),
        (f"{episode}/stop", StopHandler),
        (f"{episode}/notebook", NotebookHandler),
        (f"{episode}/events", EventsHandler),
    ]
