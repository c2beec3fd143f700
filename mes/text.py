"""Text helpers every brick uses on what people type or files carry."""

import unicodedata


def single_line(value: str | None) -> str:
    """One line of text: control characters removed, runs of blanks (newlines included) folded into one space."""
    return " ".join("".join(ch for ch in (value or "") if ch.isprintable() or ch.isspace()).split())


def fold(text: str) -> str:
    """Case and accents removed, for comparing what people type: « Élodie » and « elodie » match."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
