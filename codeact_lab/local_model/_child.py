"""Launcher of the local model server: ``python -m codeact_lab.local_model._child PID TARGET ARGS``.

It runs ``TARGET`` (a module such as ``llama_cpp.server``, or a ``.py`` script) with
``ARGS`` as its command line, and exits as soon as the process ``PID`` (its parent,
the Jupyter server or ``codeact-lab run``) is gone: a parent killed with SIGKILL has no
chance to stop its children, and a 2 GB model server must not outlive it.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    parent, target, *args = sys.argv[1:]
    threading.Thread(target=_watch_parent, args=(int(parent),), daemon=True).start()
    sys.argv = [target, *args]
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
