"""Keep secrets (API keys) out of everything we write: notebooks, transcripts, logs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter strings are too likely to be ordinary text


def usable_secrets(secrets: Iterable[str | None]) -> list[str]:
    return [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH and s != "not-needed"]


def redact(value: Any, secrets: list[str]) -> Any:
    """Replace every secret in every string of a JSON-like value."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


# Absolute home folders say who ran an episode and where; exports show them as "~".
_HOME = re.compile(r"(?<![\w.-])(?:/home/[^/\s'\"]+|/Users/[^/\s'\"]+|/root)(?=[/\s'\"]|$)")


def redact_home(text: str, home: str | None = None) -> str:
    home = home if home is not None else os.path.expanduser("~")
    if home and home not in ("/", "~"):
        text = text.replace(home, "~")
    return _HOME.sub("~", text)


def redact_all(value: Any, secrets: Iterable[str | None] = (), *, homes: bool = True) -> Any:
    """Secrets out, and (for exports) absolute home paths shortened to ``~``."""
    keys = usable_secrets(secrets)
    if isinstance(value, str):
        value = redact(value, keys)
        return redact_home(value) if homes else value
    if isinstance(value, dict):
        return {k: redact_all(v, keys, homes=homes) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_all(v, keys, homes=homes) for v in value]
    return value
