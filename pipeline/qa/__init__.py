"""Question answering over an index: retrieve, then answer with citations verified against the retrieved
text. Strategies: ``extractive`` (the default: the answer is a span of the document, chosen by question type
and content) and ``free`` (the model composes an answer from the passages).

    from pipeline.qa import ask
    answer = ask("What is the payback period of LED retrofits?", retriever, client=client)
"""

from __future__ import annotations

from pipeline.qa._qa import (
    ANSWER_SCHEMA,
    DEFAULT_K,
    NOT_FOUND,
    Answer,
    Citation,
    QAOptions,
    QAStrategy,
    QuestionAnswerer,
    ask,
)

__all__ = [
    "ANSWER_SCHEMA",
    "DEFAULT_K",
    "NOT_FOUND",
    "Answer",
    "Citation",
    "QAOptions",
    "QAStrategy",
    "QuestionAnswerer",
    "ask",
]
