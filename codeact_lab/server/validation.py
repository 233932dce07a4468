"""Reading what clients send: every field type-checked, every refusal a clear 400.

JSON gives strings, numbers (``Infinity`` and ``NaN`` included: Python's parser
accepts them), booleans, null, lists and objects. Nothing here coerces: ``"false"``
is not a boolean, ``true`` is not a number, ``1e309`` is not a turn limit.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from ..agent.llm import _http
from ..settings_table import Setting
from .errors import BadRequest

EPISODE_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def optional_string(body: dict[str, Any], name: str, *, max_length: int = 200) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise BadRequest(f"{name} must be a string of at most {max_length} characters")
    return value


def required_string(body: dict[str, Any], name: str, *, max_length: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} is required (a string)")
    if max_length is not None and len(value) > max_length:
        raise BadRequest(f"{name} must be at most {max_length} characters")
    return value


def boolean(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, not {type(value).__name__}")
    return value


def integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}")
    return int(value)


def number(value: Any, name: str, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise BadRequest(f"{name} must be in {bracket}{low:g}, {high:g}]")
    return value


def setting(spec: Setting[Any], value: Any) -> Any:
    """A per-episode setting's value, checked against its row of the settings table."""
    name = spec.name
    if spec.type is bool:
        return boolean({name: value}, name, bool(spec.default))
    if spec.type is int:
        assert spec.low is not None and spec.high is not None
        return integer(value, name, int(spec.low), int(spec.high))
    if spec.type is float:
        assert spec.low is not None and spec.high is not None
        return number(value, name, spec.low, spec.high, low_open=spec.low_open)
    if spec.url:
        return http_url(value, name)
    if spec.choices:
        if value not in spec.choices:
            raise BadRequest(f"{name} must be {' or '.join(spec.choices)}")
        return str(value)
    if not isinstance(value, str) or (spec.max_length and len(value) > spec.max_length):
        raise BadRequest(f"{name} must be a string of at most {spec.max_length} characters")
    return value


def http_url(value: Any, name: str = "base_url") -> str:
    """An http(s) URL that the HTTP client the model client is built on accepts."""
    if not isinstance(value, str) or len(value) > 2000:
        raise BadRequest(f"{name} must be a string")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"{name} must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
        _http.URL(value.strip())
    except (ValueError, TypeError, _http.InvalidURL) as err:
        raise BadRequest(f"{name} is not a valid URL: {err}") from None
    if _is_malformed_ipv4(parts.hostname or ""):
        raise BadRequest(f"{name} is not a valid URL: bad IPv4 address {parts.hostname!r}")
    return value.strip()


def _is_malformed_ipv4(host: str) -> bool:
    """Four dot-separated numbers is an IPv4 address, and each must be 0..255."""
    pieces = host.split(".")
    if len(pieces) != 4 or not all(p.isdigit() for p in pieces):
        return False
    return any(int(p) > 255 for p in pieces)


def episode_id(value: Any, name: str = "episode id") -> str:
    if not isinstance(value, str) or not EPISODE_ID_PATTERN.fullmatch(value):
        raise BadRequest(f"{name} must be 32 lowercase hexadecimal characters")
    return value


MAX_SNAPSHOT_CELLS = 5000


def notebook_snapshot(body: dict[str, Any]) -> list[Any] | None:
    """The live notebook a client sent (``{"cells": [...]}``, nbformat cells), if any.
    Only its shape is checked here: the view reads each cell defensively."""
    value = body.get("notebook")
    if value is None:
        return None
    cells = value.get("cells") if isinstance(value, dict) else None
    if not isinstance(cells, list):
        raise BadRequest("notebook must be an object with a list of cells")
    if len(cells) > MAX_SNAPSHOT_CELLS:
        raise BadRequest(f"notebook has {len(cells)} cells; the limit is {MAX_SNAPSHOT_CELLS}")
    return cells
