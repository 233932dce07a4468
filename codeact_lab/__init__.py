"""codeact-lab: CodeAct agents in JupyterLab.

The model's every action is Python code, run in the notebook's own kernel; its
output goes back to the model, turn after turn, until it answers.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "codeact-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server import CodeActExtension

    return [{"module": "codeact_lab", "app": CodeActExtension}]


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext codeact_lab``: the %codeact and %%codeact magics."""
    from .magic import register

    register(shell)


from .tools import tool  # noqa: E402  (light: the kernel imports it for @tool)

__all__ = ["__version__", "tool"]
