"""Keep the model's credentials out of the kernels the Jupyter server starts.

Kernels inherit the server's environment, and the documented set-up is
``export OPENAI_API_KEY=...`` before ``jupyter lab``. Code the model writes runs in
those kernels and could print the key reversed, base64-encoded or sliced: no
redaction catches every encoding, so the key must not be there at all. The server's
own process keeps its environment (other extensions and terminals may use it); only
what reaches a kernel is filtered, at the two places jupyter_server hands a kernel
its environment: ``start_kernel`` (also remembered for restarts) and ``update_env``
(a renamed session).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any


def without(env: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    drop = set(names)
    return {key: value for key, value in env.items() if key not in drop}


def keep_credentials_from_kernels(
    kernel_manager: Any, names: Iterable[str], log: logging.Logger | None = None
) -> None:
    """Wrap ``kernel_manager`` (jupyter_server's MappingKernelManager, local or gateway) so
    no kernel it starts gets the variables ``names``."""
    names = frozenset(names)
    if getattr(kernel_manager, "_codeact_filtered", None) == names:
        return
    start = kernel_manager.start_kernel

    @functools.wraps(start)
    async def start_kernel(*args: Any, **kwargs: Any) -> Any:
        base = kwargs.get("env", os.environ)
        kwargs["env"] = without(base, names)
        return await start(*args, **kwargs)

    kernel_manager.start_kernel = start_kernel
    update = getattr(kernel_manager, "update_env", None)
    if update is not None:

        @functools.wraps(update)
        def update_env(*args: Any, **kwargs: Any) -> Any:
            if "env" in kwargs:
                kwargs["env"] = without(kwargs["env"], names)
            return update(*args, **kwargs)

        kernel_manager.update_env = update_env
    kernel_manager._codeact_filtered = names
    if log is not None:
        present = sorted(n for n in names if n in os.environ)
        if present:
            log.info("codeact-lab: kernels will not inherit %s", ", ".join(present))
