"""Text normalisation shared by value parsing and evidence matching."""

from __future__ import annotations

import re
import unicodedata

QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u00ad": "",
    }
)
_WS_RE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Case-fold, unify quotes/dashes/odd spaces (NFKC) and collapse whitespace, for matching."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTE_MAP)
    return _WS_RE.sub(" ", text).strip().casefold()


__all__ = ["QUOTE_MAP", "normalize_text"]
