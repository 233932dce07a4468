"""What the model is told about the kernel before an episode: its variables and tools.

The probe below runs inside the kernel, silently (no history, no output, no
execution count), in a namespace of its own, so it leaves no trace. It never calls
``repr`` or ``str`` on user objects; it reads types, ``shape``, ``len`` of builtin
containers and DataFrame columns, each under a per-object time limit (an interval
timer in the kernel's main thread), so a 10 GB array or an object whose attribute
access hangs or raises costs at most that limit. It returns one JSON string.

Tools: functions decorated with ``codeact_lab.tool`` (or named in config) are
described by name, signature and the first paragraph of their docstring.
"""

from __future__ import annotations

import json
from typing import Any

MAX_VARIABLES = 40
MAX_TOOLS = 30

# Runs in the kernel with ``_names`` (tool names from config) in its namespace; sets ``result``.
PROBE_SOURCE = r"""
import inspect, json, signal, sys, types

def _probe(names, per_object=0.05, budget=1.0, max_vars=%(max_vars)d, max_tools=%(max_tools)d):
    ip = get_ipython()
    ns, hidden = ip.user_ns, getattr(ip, "user_ns_hidden", {})
    spent = [0.0]

    class _Slow(Exception):
        pass

    def _alarm(signum, frame):
        raise _Slow()

    def guarded(fn, default=None):
        if spent[0] >= budget:
            return default
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, per_object)
        try:
            return fn()
        except BaseException:
            return default
        finally:
            left = signal.setitimer(signal.ITIMER_REAL, 0)[0]
            signal.signal(signal.SIGALRM, old)
            spent[0] += per_object - left

    # type() and issubclass() only: isinstance() may call a hostile __class__.
    def describe(name, value):
        kind = type(value)
        entry = {"name": name, "type": getattr(kind, "__qualname__", "?")}
        module = getattr(kind, "__module__", None) or "builtins"
        if module not in ("builtins", "__main__"):
            entry["type"] = module.split(".")[0] + "." + entry["type"]
        shape = guarded(lambda: value.shape)
        if type(shape) is tuple and all(type(n) is int for n in shape):
            entry["shape"] = list(shape)
        elif issubclass(kind, (list, tuple, dict, set, frozenset, str, bytes)):
            entry["len"] = guarded(lambda: len(value))
        if module.startswith("pandas"):
            columns = guarded(lambda: [str(c) for c in list(value.columns)[:20]])
            if columns is not None:
                entry["columns"] = columns
        if kind in (int, float, bool, complex) or value is None:
            entry["value"] = str(value)[:60]
        return entry

    variables, tools = [], []
    registry = sys.modules.get("codeact_lab.tools")
    marked = set(getattr(registry, "REGISTERED", {}) or {}) | set(names)
    for name, value in list(ns.items()):
        kind = type(value)
        if name.startswith("_") or (name in hidden and hidden[name] is value):
            continue
        if issubclass(kind, types.ModuleType) or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        if name in marked and callable(value):
            if len(tools) < max_tools:
                signature = guarded(lambda: str(inspect.signature(value)), "(...)")
                doc = guarded(lambda: (inspect.getdoc(value) or "").split("\n\n")[0], "")
                tools.append({"name": name, "signature": signature, "doc": doc[:500]})
            continue
        if issubclass(kind, (types.FunctionType, type)) or len(variables) >= max_vars:
            continue
        try:
            variables.append(describe(name, value))
        except Exception:
            variables.append({"name": name, "type": "?"})
    return json.dumps({"variables": variables, "tools": tools})

result = _probe(_names)
""" % {"max_vars": MAX_VARIABLES, "max_tools": MAX_TOOLS}  # noqa: UP031 (the source has braces)


def probe_expression(tool_names: list[str]) -> str:
    """One expression (for ``user_expressions``) that runs the probe in a throwaway namespace."""
    namespace = "{'__builtins__': __builtins__, 'get_ipython': get_ipython, '_names': %r}" % (  # noqa: UP031
        list(tool_names),
    )
    return f"(lambda ns: (exec({PROBE_SOURCE!r}, ns), ns['result'])[1])({namespace})"


def parse_probe(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "")
    except ValueError:
        return {"variables": [], "tools": []}
    return data if isinstance(data, dict) else {"variables": [], "tools": []}


def describe_variables(variables: list[dict[str, Any]]) -> str:
    lines = []
    for v in variables:
        detail = []
        if "shape" in v:
            detail.append(f"shape {tuple(v['shape'])}")
        if "len" in v:
            detail.append(f"len {v['len']}")
        if v.get("columns"):
            detail.append("columns " + ", ".join(v["columns"]))
        if "value" in v:
            detail.append(f"= {v['value']}")
        lines.append(f"- {v['name']}: {v['type']}" + (f" ({'; '.join(detail)})" if detail else ""))
    return "\n".join(lines)


def describe_tools(tools: list[dict[str, Any]]) -> str:
    lines = []
    for t in tools:
        line = f"- {t['name']}{t['signature']}"
        if t.get("doc"):
            line += f": {t['doc']}"
        lines.append(line)
    return "\n".join(lines)


async def describe_kernel(executor: Any, tool_names: list[str]) -> tuple[str, str]:
    """(tools, context) texts for the system prompt, from one silent probe of the kernel."""
    found = parse_probe(await executor.evaluate(probe_expression(tool_names), timeout=5.0))
    return describe_tools(found.get("tools") or []), describe_variables(
        found.get("variables") or []
    )
