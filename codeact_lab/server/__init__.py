"""The jupyter_server extension: HTTP routes under ``/codeact``.

It knows nothing of prompts or parsing: it hosts ``codeact_lab.agent``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .. import __version__
from .handlers import HealthHandler

API_PREFIX = "codeact"


def load_extension(server_app: Any) -> None:
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    routes = [(url_path_join(base_url, API_PREFIX, "health"), HealthHandler)]
    web_app.add_handlers(".*$", routes)
    server_app.log.info("codeact-lab %s: server extension loaded", __version__)
