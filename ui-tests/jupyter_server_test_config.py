"""Server configuration for integration tests.

!! Never use this configuration in production because it
opens the server to the world and provide access to JupyterLab
JavaScript objects through the global window variable.
"""

import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.FileContentsManager.delete_to_trash = False  # noqa: F821

# The agent talks to the scripted model server that playwright.config.js starts.
# The key is a canary: the browser tests check it never reaches the page.
c.CodeAct.base_url = "http://127.0.0.1:8765/v1"  # noqa: F821
c.CodeAct.model = "scripted"  # noqa: F821
c.CodeAct.api_key = "sk-ui-test-NEVER-IN-BROWSER-1234"  # noqa: F821
c.CodeAct.action_timeout = 30  # noqa: F821
# Episodes of a test run stay out of the user's Jupyter data dir.
c.CodeActExtension.db_path = os.path.join(  # noqa: F821
    tempfile.mkdtemp(prefix="codeact-ui-tests-"), "episodes.sqlite"
)

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
