"""Route handlers. Every one is authenticated and authorized through jupyter_server."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .. import __version__

# The resource name jupyter_server's authorizer sees for our routes.
AUTH_RESOURCE = "codeact"


class CodeActHandler(APIHandler):
    auth_resource = AUTH_RESOURCE


class HealthHandler(CodeActHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps({"status": "ok", "version": __version__}))
