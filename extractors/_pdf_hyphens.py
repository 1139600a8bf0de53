"""Joining a block's lines, and deciding each line-end hyphen from the document's own vocabulary.

MuPDF's DEHYPHENATE is not used: it also deletes the hyphen of real compounds broken at a line end
("temperature-" / "controlled" -> "temperaturecontrolled"). Lines are joined with a soft-hyphen marker
instead, and :func:`resolve_hyphens` decides once every element of the document is known.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.document import Element

SOFT_HYPHEN = "\u00ad"  # marks a line-end hyphen until the document's vocabulary decides it
_SOFT_RE = re.compile(r"(\w+)\u00ad(\w+)")


def join_lines(lines: list[str]) -> str:
    """One block's text: lines joined by spaces, a word broken at a line end marked with ``SOFT_HYPHEN``."""
    out = ""
    for t in lines:
        t = t.strip()
        if not t:
            continue
        if not out:
            out = t
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            # A word broken at the line end: "docu-" + "mentation" or "temperature-" + "controlled".
            out = out[:-1] + SOFT_HYPHEN + t
        else:
            out += " " + t
    return out


def resolve_hyphens(elements: list[Element]) -> None:
    """Decide each line-end hyphen from the document's own words: keep it when the hyphenated compound
    appears elsewhere unbroken ("temperature-controlled"), or when the first half is a word of the document
    and the joined form is not; otherwise join the halves ("docu-mentation" -> "documentation")."""
    if not any(SOFT_HYPHEN in e.text for e in elements):
        return
    vocab: Counter[str] = Counter()
    for e in elements:
        # Words of the document outside the broken ones themselves.
        for w in re.findall(r"[\w-]+", _SOFT_RE.sub(" ", e.text).lower()):
            vocab[w] += 1

    def fix(m: re.Match[str]) -> str:
        a, b = m.group(1), m.group(2)
        joined, hyphenated = (a + b).lower(), f"{a}-{b}".lower()
        if vocab[hyphenated] and not vocab[joined]:
            return f"{a}-{b}"
        if not vocab[joined] and vocab[a.lower()] and len(a) > 3 and len(b) > 3:
            # The first half is a word of this document and the joined form is not: a compound.
            return f"{a}-{b}"
        return a + b

    for e in elements:
        if SOFT_HYPHEN in e.text:
            e.text = _SOFT_RE.sub(fix, e.text).replace(SOFT_HYPHEN, "")
