"""The jupyter_server extension: episodes run server-side, on notebooks' kernels.

It hosts ``codeact_lab.agent`` and knows nothing of prompts: the CodeAct settings
(model, endpoint, limits, prompt) are the ``CodeAct`` traitlets config, read from
the server's config (``c.CodeAct.model = ...``).
"""

from __future__ import annotations

import time

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Unicode, default

from .. import __version__
from ..config import CodeAct
from .handlers import handlers
from .kernel_env import keep_credentials_from_kernels
from .manager import EpisodeManager
from .store import HEARTBEAT_INTERVAL, EpisodeStore, default_db_path, new_owner


class CodeActExtension(ExtensionApp):
    name = "codeact_lab"
    description = "CodeAct agents: code actions run in the notebook's own kernel."
    load_other_extensions = True

    db_path = Unicode(
        help="The SQLite file that keeps every episode (default: in the Jupyter data dir)."
    ).tag(config=True)

    retention_days = Float(
        730.0,
        help="Finished episodes older than this many days are deleted from the store (0: keep).",
    ).tag(config=True)
    retention_mb = Float(
        2048.0,
        help="When the store is larger than this many MB, its oldest finished episodes are "
        "deleted (0: no limit). A year of daily use takes a few hundred MB.",
    ).tag(config=True)

    @default("db_path")
    def _default_db_path(self) -> str:
        return default_db_path()

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        settings = CodeAct(parent=self)
        if not settings.credentials_in_kernels:
            keep_credentials_from_kernels(
                self.serverapp.kernel_manager, settings.credential_variables(), self.log
            )
        # Other servers (a second `jupyter lab`, JupyterHub named servers on one home) may
        # share the store: this one's episodes carry its name, and it says it is alive.
        store = EpisodeStore(self.db_path, owner=new_owner())
        store.register()
        self.manager = EpisodeManager(settings, self.serverapp.kernel_manager, store, log=self.log)
        self._prune()
        recovered = self.manager.recover()
        if recovered:
            self.log.warning(
                "codeact-lab: %d episode(s) left running by the last server marked interrupted",
                len(recovered),
            )
        self.settings["codeact_manager"] = self.manager
        if settings.api_key:
            self.log.warning(
                "codeact-lab: CodeAct.api_key is set in a config file; prefer CodeAct.api_key_env "
                "(a key in config shows in the server's debug log and in files others may read)"
            )
        llm = self.manager.model.config  # the endpoint's, or the local model's
        if self.manager.model.note:  # local: small and slow; no model: how to get one
            self.log.warning("codeact-lab: %s", self.manager.model.note)
        self.log.info(
            "codeact-lab %s: model %s at %s; episodes in %s",
            __version__,
            llm.model,
            self.manager.config()["endpoint"],
            self.db_path,
        )

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        self.manager.model.start_with_server()  # CodeAct.local_model_start = "startup"
        self.manager.scout.look_soon()  # in the background: start-up does not wait for it
        self._heartbeat = PeriodicCallback(self._beat, HEARTBEAT_INTERVAL * 1000)
        self._heartbeat.start()
        self._last_prune = time.monotonic()

    def _beat(self) -> None:
        """Tell other servers on the store that this one is alive; close episodes that a
        server which went away left running; prune once a day."""
        try:
            self.manager.store.heartbeat()
            self.manager.recover()
            if time.monotonic() - self._last_prune > 86400:
                self._last_prune = time.monotonic()
                self._prune()
        except Exception:  # the store is a help here: never crash the server's loop
            self.log.exception("codeact-lab: store housekeeping failed")

    def _prune(self) -> None:
        deleted = self.manager.store.prune(
            older_than_days=self.retention_days or None,
            max_bytes=int(self.retention_mb * 1024 * 1024) or None,
        )
        if deleted:
            self.log.info("codeact-lab: %d old episode(s) deleted from the store", len(deleted))

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        heartbeat = getattr(self, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat.stop()
        await self.manager.shutdown()
