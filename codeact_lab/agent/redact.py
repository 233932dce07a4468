"""Keep secrets (API keys) out of everything we write: notebooks, transcripts, logs."""

from __future__ import annotations

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
