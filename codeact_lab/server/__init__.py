"""The jupyter_server extension: episodes run server-side, on notebooks' kernels.

It hosts ``codeact_lab.agent`` and knows nothing of prompts: the CodeAct settings
(model, endpoint, limits, prompt) are the ``CodeAct`` traitlets config, read from
the server's config (``c.CodeAct.model = ...``).
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from .. import __version__
from ..config import CodeAct
from .handlers import handlers
from .manager import EpisodeManager
from .store import EpisodeStore, default_db_path


class CodeActExtension(ExtensionApp):
    name = "codeact_lab"
    description = "CodeAct agents: code actions run in the notebook's own kernel."
    load_other_extensions = True

    db_path = Unicode(
        help="The SQLite file that keeps every episode (default: in the Jupyter data dir)."
    ).tag(config=True)

    @default("db_path")
    def _default_db_path(self) -> str:
        return default_db_path()

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        settings = CodeAct(parent=self)
        store = EpisodeStore(self.db_path)
        self.manager = EpisodeManager(settings, self.serverapp.kernel_manager, store, log=self.log)
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

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        await self.manager.shutdown()
