"""Genome: DNA strands, transcription to RNA, translation to protein, GC content, motifs."""

from __future__ import annotations

from .base import BuiltinTask, stateless_tools

_BASES = "UCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODONS = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}
_PAIR = {"A": "T", "T": "A", "C": "G", "G": "C"}


def _dna(seq: str) -> str:
    seq = str(seq).strip().upper()
    bad = set(seq) - set(_PAIR)
    if bad:
        raise ValueError(f"not a DNA sequence: unexpected {''.join(sorted(bad))}")
    return seq


def complement(seq: str) -> str:
    """The complementary DNA strand, base by base (A<->T, C<->G), in the same direction."""
    return "".join(_PAIR[b] for b in _dna(seq))


def reverse_strand(seq: str) -> str:
    """The strand read backwards (complement(reverse_strand(s)) is the reverse complement)."""
    return _dna(seq)[::-1]


def transcribe(seq: str) -> str:
    """DNA to messenger RNA: every T becomes U."""
    return _dna(seq).replace("T", "U")


def translate(rna: str) -> str:
    """RNA to protein, one letter per codon from the first base; '*' marks a stop codon."""
    rna = str(rna).strip().upper()
    return "".join(CODONS.get(rna[i : i + 3], "?") for i in range(0, len(rna) - 2, 3))


def gc_content(seq: str) -> float:
    """The share of G and C bases, in percent, rounded to 2 decimals."""
    seq = _dna(seq)
    return round(100 * sum(b in "GC" for b in seq) / len(seq), 2) if seq else 0.0


def find_motif(seq: str, motif: str) -> list[int]:
    """The 0-based positions where motif starts in seq (overlaps counted)."""
    seq, motif = str(seq).upper(), str(motif).upper()
    if not motif:
        raise ValueError("empty motif")
    return [i for i in range(len(seq) - len(motif) + 1) if seq.startswith(motif, i)]


make_tools = stateless_tools(
    complement,
    reverse_strand,
    transcribe,
    translate,
    gc_content,
    find_motif,
)


SAMPLES = {
    "s1": "ATGCGTACGTTAGC",
    "s2": "GGCCGCGTATAGCC",
    "s3": "ATATTTAGCATAAT",
    "s4": "CGCGATCGGCTAGA",
}

TASKS = [
    BuiltinTask(
        "protein_of_reverse_complement",
        "Take the reverse complement of the DNA 'CTAGCCATTTGCCAT' (complement of the strand "
        "read backwards), transcribe it to RNA and translate it. What is the protein?",
        "MANG*",
        "print(translate(transcribe(complement(reverse_strand('CTAGCCATTTGCCAT')))))",
    ),
    BuiltinTask(
        "highest_gc",
        "Which of these DNA samples has the highest GC content: s1 = 'ATGCGTACGTTAGC', "
        "s2 = 'GGCCGCGTATAGCC', s3 = 'ATATTTAGCATAAT', s4 = 'CGCGATCGGCTAGA'? Answer with "
        "its name (s1 to s4).",
        "s2",
        f"samples = {SAMPLES!r}\nprint(max(samples, key=lambda k: gc_content(samples[k])))",
    ),
    BuiltinTask(
        "motif_total",
        "How many times, overlaps included, does the motif 'ATA' occur in the four samples "
        "s1 = 'ATGCGTACGTTAGC', s2 = 'GGCCGCGTATAGCC', s3 = 'ATATTTAGCATAAT' and "
        "s4 = 'CGCGATCGGCTAGA' together?",
        3,
        f"samples = {SAMPLES!r}\nprint(sum(len(find_motif(s, 'ATA')) for s in samples.values()))",
    ),
    BuiltinTask(
        "open_reading_frame",
        "Transcribe the DNA 'CCTATGGCTTGGAAATAGGC' to RNA, find the first start codon AUG, "
        "and translate from there up to, not including, the first stop codon. What is the "
        "protein?",
        "MAWK",
        "rna = transcribe('CCTATGGCTTGGAAATAGGC')\nstart = find_motif(rna, 'AUG')[0]\n"
        "print(translate(rna[start:]).split('*')[0])",
    ),
    BuiltinTask(
        "gc_of_motif_carrier",
        "Among s1 = 'ATGCGTACGTTAGC', s2 = 'GGCCGCGTATAGCC', s3 = 'ATATTTAGCATAAT' and "
        "s4 = 'CGCGATCGGCTAGA', exactly one contains the motif 'GCAT'. What is the GC "
        "content, in percent with two decimals, of its complement?",
        14.29,
        f"samples = {SAMPLES!r}\n"
        "carrier = next(s for s in samples.values() if find_motif(s, 'GCAT'))\n"
        "print(gc_content(complement(carrier)))",
    ),
]
