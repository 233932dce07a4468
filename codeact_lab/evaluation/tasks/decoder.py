"""Decoder: messages hidden under hex, reversal, letter shifts and pair swaps."""

from __future__ import annotations

from .base import BuiltinTask, stateless_tools


def from_hex(data: str) -> str:
    """Decode a hexadecimal string (two digits per character) into text."""
    return bytes.fromhex(str(data)).decode("utf-8")


def reverse(text: str) -> str:
    """Reverse a string."""
    return str(text)[::-1]


def shift_back(text: str, n: int) -> str:
    """Shift every letter n places back in the alphabet (Caesar decoding); other characters stay."""
    n = int(n) % 26
    out = []
    for ch in str(text):
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 - n) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 - n) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)


def swap_pairs(text: str) -> str:
    """Swap each pair of neighbouring characters: 'abcde' -> 'badce'."""
    chars = list(str(text))
    for i in range(0, len(chars) - 1, 2):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def count_vowels(text: str) -> int:
    """Count the vowels (a, e, i, o, u, either case) in a string."""
    return sum(1 for ch in str(text).lower() if ch in "aeiou")


make_tools = stateless_tools(from_hex, reverse, shift_back, swap_pairs, count_vowels)


TASKS = [
    BuiltinTask(
        "three_steps",
        "A message was encoded in three steps: every letter was shifted 3 places forward, "
        "the text was reversed, and the result was written in hex. The hex is "
        "'717a64672077642077686870'. What is the original message?",
        "meet at dawn",
        "print(shift_back(reverse(from_hex('717a64672077642077686870')), 3))",
    ),
    BuiltinTask(
        "swap_then_shift",
        "A message was encoded by shifting every letter 5 places forward, then swapping each "
        "pair of neighbouring characters, then writing it in hex. The hex is "
        "'74737977206d7767696e6a6c'. What is the original message?",
        "north bridge",
        "print(shift_back(swap_pairs(from_hex('74737977206d7767696e6a6c')), 5))",
    ),
    BuiltinTask(
        "most_vowels",
        "Each of these hex strings holds a reversed word: '656c707061', '616e616e6162', "
        "'797272656863', '6f676e616d'. Decode each (hex, then reverse) and give the word "
        "with the most vowels.",
        "banana",
        "words = [reverse(from_hex(h)) for h in ['656c707061', '616e616e6162', '797272656863', "
        "'6f676e616d']]\nprint(max(words, key=count_vowels))",
    ),
    BuiltinTask(
        "total_vowels",
        "Three hex messages were each encoded with a letter shift, 1, 2 and 3 places forward "
        "respectively: '6d6a6f6870', '7663646e67', '6b647573'. Decode them and give the total "
        "number of vowels in the three decoded words.",
        5,
        "msgs = ['6d6a6f6870', '7663646e67', '6b647573']\n"
        "print(sum(count_vowels(shift_back(from_hex(h), s)) for h, s in zip(msgs, [1, 2, 3])))",
    ),
    BuiltinTask(
        "find_shift",
        "The hex string '7a71646d7a206a6d766c2069706d696c' holds a message whose letters "
        "were shifted forward by an unknown amount between 1 and 25. The decoded message "
        "contains the word 'river'. What was the shift?",
        8,
        "text = from_hex('7a71646d7a206a6d766c2069706d696c')\n"
        "print(next(n for n in range(1, 26) if 'river' in shift_back(text, n)))",
    ),
    BuiltinTask(
        "length_spread",
        "These hex strings each hold a word that was reversed and then had every pair of "
        "neighbouring characters swapped: '72746265', '6965616e656c6d', '65787a'. Decode each "
        "(hex, undo the swap, then reverse) and give the length of the longest decoded word "
        "minus the length of the shortest.",
        4,
        "words = [reverse(swap_pairs(from_hex(h))) for h in ['72746265', '6965616e656c6d', '65787a']]\n"
        "lengths = [len(w) for w in words]\nprint(max(lengths) - min(lengths))",
    ),
]
