"""How many tokens a prompt takes: a close estimate, on the high side, with no tokenizer.

The loop condenses every prompt to fit the model's context (``condense.py``), so it
counts what it sends before sending it, for any endpoint. A tokenizer per model is
not at hand (and a remote one is not ours to call), so the count is an estimate
calibrated against the Qwen2.5 tokenizer of the embedded model
(``benchmarks/token_estimate.py`` prints the calibration). It errs high on purpose:
a prompt it says fits does fit. Digits are one token each in Qwen's and most code
models' vocabularies, and text outside ASCII takes about a token per UTF-8 byte
beyond the first, so both are counted apart from the rest.

Where the model's own tokenizer is at hand (the local server), its client checks the
exact count as well (``LocalLLMClient.fit_context``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

# A remote endpoint whose context is not configured: most served models have this much.
DEFAULT_CONTEXT_TOKENS = 32_768
# The room kept for a reply whose length is not limited (max_tokens unset).
DEFAULT_REPLY_TOKENS = 1024
# What the chat template adds to each message (Qwen: <|im_start|>role\n ... <|im_end|>\n)
# and to the prompt (<|im_start|>assistant\n, where the reply starts).
TOKENS_PER_MESSAGE = 6
TOKENS_PER_PROMPT = 4
# An image sent to a vision model (OpenAI's high-detail 512-px tile costs 170, a
# 1024-px image about 765): a bound for the plots an action shows.
TOKENS_PER_IMAGE = 1000
# A tokenizer first splits text into pieces (GPT-2 style; this is Qwen2's split, with
# \p{L} as [^\W\d_]): words with the character before them, single digits, runs of
# punctuation, runs of white space. No token spans two pieces, so each piece is
# estimated on its own.
_PIECES = re.compile(
    r"'(?:[sdmtSDMT]|ll|ve|re|LL|VE|RE)|[^\r\n\w]?[^\W\d_]+|\d|\s?(?:[^\s\w]|_)+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Calibrated against Qwen2.5's tokenizer (benchmarks/token_estimate.py): the lowest
# values for which no 4,000-character piece of any kind is estimated low.
WORD_CHARS = 4  # a word this long is one token; each further
WORD_CHARS_PER_TOKEN = 6  # characters of a longer one add a token
PUNCTUATION_PER_TOKEN = 3
NON_ASCII_BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` for a BPE code model, on the high side (see the module's doc)."""
    count = 0
    for piece in _PIECES.findall(text):
        if not piece.isascii():
            count += -(-len(piece.encode("utf-8", "replace")) // NON_ASCII_BYTES_PER_TOKEN)
        elif piece[-1].isalpha():
            count += 1 + math.ceil(max(0, len(piece) - WORD_CHARS) / WORD_CHARS_PER_TOKEN)
        elif piece.isspace() or piece.isdigit():
            count += 1
        else:
            count += max(1, math.ceil(len(piece.strip()) / PUNCTUATION_PER_TOKEN))
    return count


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _images(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")


def message_tokens(message: Mapping[str, Any]) -> int:
    content = message.get("content")
    return (
        estimate_tokens(content_text(content))
        + TOKENS_PER_IMAGE * _images(content)
        + TOKENS_PER_MESSAGE
    )


def prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """The estimated tokens of a whole chat prompt, template included."""
    return sum(message_tokens(m) for m in messages) + TOKENS_PER_PROMPT
