"""Question answering over a retriever, with citations checked against the chunks the model saw.

Two strategies (``QAOptions.strategy``):

* ``extractive`` (default): candidate spans of the retrieved chunks (table cells with their row and
  column labels, sentences) are ranked by rules; the best one (or, with ``ask_model=True``, the one the
  model picks by id from a JSON-schema enum) is the answer, whose own text is the citation
  (:mod:`pipeline.qa._extractive_qa`); "not found" when nothing fits;
* ``free``: the model writes the answer and its quotes, checked as below.

In the free strategy the retrieved chunks are packed, best first, into a token budget and shown as numbered
``<source>`` blocks. The model answers in JSON with ``{source, quote}`` citations; each citation
is kept only if its quote occurs (normalised / fuzzy) in a chunk that was actually given, and is
re-attributed when the quote sits in another given chunk than the one named. A reply that claims
an answer but cites nothing verifiable is reported with ``grounded = False``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import BaseModel, Field

from pipeline.document import BBox
from pipeline.evidence import SourceText
from pipeline.exceptions import ConfigurationError
from pipeline.llm import (
    AskSettings,
    ChatCompletion,
    LLMClient,
    LLMUser,
    Rejection,
    Usage,
    ask_until_valid,
    parse_json_reply,
)
from pipeline.llm.prompts import QA_SYSTEM, source_block
from pipeline.protocols import Retriever, SearchHit, SearchMode
from pipeline.qa._answer_fit import answer_type, counts_what_is_asked
from pipeline.qa._extractive_qa import PickOutcome, compose_text, pick_span, verify_span
from pipeline.qa._options import DEFAULT_K, QAOptions, QAStrategy
from pipeline.qa._span_rank import RankOptions
from pipeline.retrieval import cell_box, cited_row

NOT_FOUND = "not found"

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "answer": {"type": "string"},
        "citations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"source": {"type": "integer"}, "quote": {"type": "string"}},
                "required": ["source", "quote"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["found", "answer", "citations"],
    "additionalProperties": False,
}


class Citation(BaseModel):
    source: str
    page: int | None = Field(default=None, description="page of the cited chunk (first page if it spans several)")
    page_end: int | None = None
    chunk_id: str
    quote: str
    score: float = Field(default=0.0, description="match of the quote in the chunk (1.0 = verbatim)")
    valid: bool = False
    note: str | None = None
    row: int | None = Field(default=None, description="the table row the quote lies in (index into the table's "
                            "rows), when the passage was reached through that row's unit")
    bbox: BBox | None = Field(default=None, description="that row's box on ``page``, PDF points; the cited cell's "
                              "when the answer is one cell and the parse measured cell boxes")


def at_row(citation: Citation, hit: SearchHit, column: int | None = None) -> Citation:
    """``citation`` pointing at the table row it quotes, when ``hit`` is a table reached through row units
    (``metadata["rows"]``, see :mod:`pipeline.chunking._table_rows`): the row's index, page and box. With
    ``column`` (the cited cell's index in the row: an extractive cell answer), the box is that cell's where the
    row carries cell boxes, so the citation shows the figure rather than its whole row."""
    mark = cited_row(hit, citation.quote)
    if mark is None:
        return citation
    box = (cell_box(mark, column) if column is not None else None) or mark.get("bbox")
    return citation.model_copy(update={
        "row": mark.get("row"), "page": mark.get("page") or citation.page,
        "bbox": BBox.model_validate(box) if box else None,
    })


def typed_evidence(pick: PickOutcome, question: str) -> bool:
    """The chosen span holds what the question asks for in a form few other spans share: a date for "when", a
    person's name for "who", a quantity with its unit for "how long"; for "how many", a number *of the counted
    thing* ("thirteen entry types"). Any number is too common to count as evidence by itself."""
    if pick.chosen is None or not pick.type_fits:
        return False
    kind = answer_type(question)
    if kind == "number":
        return counts_what_is_asked(pick.chosen.quote, question)
    return kind != "any"


class Answer(BaseModel):
    question: str
    text: str
    found: bool
    grounded: bool = Field(default=False, description="found, with at least one verified citation")
    citations: list[Citation] = Field(default_factory=list)
    rejected_citations: list[Citation] = Field(default_factory=list, description="quotes not in the given chunks")
    context_chunk_ids: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)
    fit: float | None = Field(default=None, description="extractive: how much of the question the answering span "
                              "covers (0-1)")
    similarity: float | None = Field(default=None, description="extractive: the best cosine of the question to a "
                                     "retrieved chunk (None: the retriever gave none)")
    see_also: list[Citation] = Field(default_factory=list, description="not found: the closest passages retrieved")
    unprinted: list[str] = Field(default_factory=list, description="extractive: the question's nouns that no "
                                 "retrieved passage prints ('cars'); with refuse_unprinted, why it is not found")
    computation: str | None = Field(default=None, description="extractive: how a computed figure was derived "
                                    "from the cited cells ('21,213 / 81,797 = 25.9%'); None when printed as is")


def _similarity(hits: list[SearchHit]) -> float | None:
    """The best question-chunk cosine the retriever measured (its ``cosine`` metadata), None without one."""
    values = [float(h.metadata["cosine"]) for h in hits if isinstance(h.metadata.get("cosine"), (int, float))]
    return round(max(values), 4) if values else None


def _see_also(hits: list[SearchHit], n: int = 3) -> list[Citation]:
    """The best ``n`` retrieved passages of different pages, as pointers for a "not found"."""
    out: list[Citation] = []
    seen: set[tuple[str, int]] = set()
    for h in hits:
        key = (h.source, h.page_start)
        if key in seen:
            continue
        seen.add(key)
        text = " ".join(h.text.split())
        out.append(Citation(source=h.source, page=h.page_start, page_end=h.page_end, chunk_id=h.chunk_id,
                            quote=text[:200] + ("..." if len(text) > 200 else ""), note="see also"))
        if len(out) >= n:
            break
    return out


def pack_context(hits: list[SearchHit], budget_chars: int) -> list[SearchHit]:
    """Best-scoring hits first, each whole, while they fit; the first is truncated if it alone does not."""
    out: list[SearchHit] = []
    used = 0
    seen: set[str] = set()
    for h in sorted(hits, key=lambda h: -h.score):
        if h.chunk_id in seen:
            continue
        n = len(h.text) + 80  # tag overhead
        if used + n <= budget_chars:
            out.append(h)
            used += n
            seen.add(h.chunk_id)
        elif not out:
            out.append(h.model_copy(update={"text": h.text[: max(0, budget_chars - 80)]}))
            used = budget_chars
            seen.add(h.chunk_id)
    return out


def _unique(hits: list[SearchHit]) -> list[SearchHit]:
    """Hits best-scoring first, each chunk once."""
    seen: set[str] = set()
    out = []
    for h in sorted(hits, key=lambda h: -h.score):
        if h.chunk_id not in seen:
            seen.add(h.chunk_id)
            out.append(h)
    return out


def _parse_reply(completion: ChatCompletion) -> dict[str, Any] | Rejection:
    try:
        reply = parse_json_reply(completion.content)
    except ValueError as exc:
        problem = str(exc)
    else:
        if isinstance(reply, dict):
            return reply
        problem = "reply is not a JSON object"
    return Rejection(for_model=f"{problem}. Reply with the JSON object only.", for_log=problem)


class QuestionAnswerer(LLMUser):
    """Pipeline stage: ``question -> Answer`` over a :class:`~pipeline.protocols.Retriever`."""

    def __init__(
        self, retriever: Retriever, client: LLMClient | None = None, options: QAOptions | None = None
    ) -> None:
        if not hasattr(retriever, "search"):
            raise ConfigurationError("retriever must have a search(query, k, mode) method", stage="qa")
        self.retriever = retriever
        self.client = client
        self.options = options or QAOptions()

    def build_messages(self, question: str, hits: list[SearchHit]) -> list[dict[str, Any]]:
        blocks = []
        for i, h in enumerate(hits, start=1):
            pages = str(h.page_start) if h.page_start == h.page_end else f"{h.page_start}-{h.page_end}"
            about = h.metadata.get("context") if isinstance(h.metadata.get("context"), str) else None
            blocks.append(source_block(i, h.text, os.path.basename(h.source) or h.source, pages, about))
        user = "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question.strip()}"
        return [{"role": "system", "content": QA_SYSTEM}, {"role": "user", "content": user}]

    def run(self, question: str, *, source_glob: str | None = None) -> Answer:
        """Answer ``question``; ``source_glob`` restricts retrieval to matching documents (the retriever
        must then accept a ``source_glob`` keyword, as :class:`~pipeline.index._index.Index` does)."""
        t0 = time.perf_counter()
        o = self.options
        k = o.retrieval_k
        if source_glob is None:
            # Not passed when unset: a retriever with a plain search(query, k, mode) serves too.
            hits = self.retriever.search(question, k=k, mode=o.mode)
        else:
            hits = self.retriever.search(question, k=k, mode=o.mode, source_glob=source_glob)
        if o.strategy == "extractive":
            answer = self._run_extractive(question, list(hits))
        else:
            answer = self._run_free(question, list(hits))
        answer.seconds = time.perf_counter() - t0
        return answer

    def _run_free(self, question: str, hits: list[SearchHit]) -> Answer:
        o = self.options
        given = pack_context(hits, int(o.max_context_tokens * o.chars_per_token))
        if not given:
            return Answer(question=question, text=NOT_FOUND, found=False)
        self.warm_up()
        assert self.client is not None
        outcome = ask_until_valid(self.client, self.build_messages(question, given), _parse_reply, self._ask_settings())
        if outcome.value is None:
            assert outcome.error is not None
            raise outcome.error
        answer = self._verify(question, outcome.value, given)
        answer.usage, answer.model = outcome.usage, outcome.model
        answer.errors = [e.message for e in outcome.errors]
        return answer

    def _run_extractive(self, question: str, hits: list[SearchHit]) -> Answer:
        o = self.options
        given = _unique(hits)
        if not given:
            return Answer(question=question, text=NOT_FOUND, found=False)
        if o.ask_model:
            self.warm_up()
        rank = RankOptions(top=o.spans)
        pick = pick_span(question, given, self.client, rank, ask_model=o.ask_model, allow_none=o.allow_none,
                         max_attempts=o.max_attempts, temperature=o.temperature, min_fit=o.min_fit)
        return self._extractive_answer(question, pick, given)

    def _extractive_answer(self, question: str, pick: PickOutcome, given: list[SearchHit]) -> Answer:
        base = Answer(question=question, text=NOT_FOUND, found=False, usage=pick.usage,
                      model=pick.model or (self.client.model if self.client and self.options.ask_model else ""),
                      errors=pick.errors, context_chunk_ids=[h.chunk_id for h in given], unprinted=pick.unprinted)
        if pick.chosen is None:
            return base.model_copy(update={"see_also": _see_also(given)})
        similarity = _similarity(given)
        o = self.options
        weak = pick.fit is not None and (
            pick.fit < o.min_fit_alone if similarity is None else pick.fit < o.min_fit and similarity < o.min_similarity)
        if similarity is not None and similarity < o.min_similarity_floor:
            weak = True  # nothing retrieved is about the question: "capital of France" over a set of filings
        elif weak and similarity is not None and pick.fit is not None and pick.fit >= o.min_fit_alone:
            # The asked type itself is evidence: a date for "when", a person's name for "who".
            weak = not (typed_evidence(pick, question) and pick.fit + similarity >= o.min_typed_evidence)
        if pick.unprinted and o.refuse_unprinted:
            weak = True  # the documents do not speak of what is asked about ("revenue from selling cars")
        if weak or not pick.type_fits:
            # A span that shares words with the question but does not answer it, in documents whose text is
            # not close to the question either: not found, by construction.
            return base.model_copy(update={"fit": pick.fit, "similarity": similarity, "see_also": _see_also(given)})
        spans = pick.composed.spans if pick.composed else [pick.chosen]
        good: list[Citation] = []
        bad: list[Citation] = []
        for n, span in enumerate(spans):
            hit = given[span.hit]
            checked = verify_span(span, given, self.options.min_quote_score)
            role = f", {n + 1} of {len(spans)}" if len(spans) > 1 else ""
            citation = at_row(Citation(
                source=hit.source, page=hit.page_start, page_end=hit.page_end, chunk_id=hit.chunk_id, quote=span.quote,
                score=checked.score if checked else 0.0, valid=checked is not None, note=f"{span.kind} span{role}",
            ), hit, span.column_index if span.kind == "cell" else None)
            (good if citation.valid else bad).append(citation)
        # A composed answer stands only on all of its cells.
        grounded = len(good) == len(spans)
        text = pick.composed.text if pick.composed else compose_text(pick.chosen, question)
        return base.model_copy(update={
            "text": text, "found": True, "grounded": grounded, "citations": good, "rejected_citations": bad,
            "computation": pick.composed.computation if pick.composed else None, "fit": pick.fit,
            "similarity": similarity,
        })

    def _ask_settings(self) -> AskSettings:
        o = self.options
        return AskSettings(
            reply_schema=ANSWER_SCHEMA, schema_name="answer", max_attempts=o.max_attempts,
            max_output_tokens=o.max_output_tokens, temperature=o.temperature,
            failure="no parseable answer", stage="qa",
        )

    def _verify(self, question: str, reply: dict[str, Any], given: list[SearchHit]) -> Answer:
        texts = [SourceText.of_text(h.text, page=h.page_start) for h in given]
        found = bool(reply.get("found"))
        text = str(reply.get("answer") or "").strip()
        good: list[Citation] = []
        bad: list[Citation] = []
        raw_cits = reply.get("citations") if isinstance(reply.get("citations"), list) else []
        for c in raw_cits or []:
            if not isinstance(c, dict):
                continue
            quote = str(c.get("quote") or "").strip()
            try:
                sid = int(str(c.get("source", "")).strip().lstrip("#S").strip() or 0)
            except ValueError:
                sid = 0
            named = given[sid - 1] if 1 <= sid <= len(given) else None
            if not quote:
                continue
            match = texts[sid - 1].find(quote, min_score=self.options.min_quote_score) if named else None
            hit, note = named, None
            if match is None:
                # The quote may come from another chunk that was given: credit that one.
                for j, st in enumerate(texts):
                    m = st.find(quote, min_score=self.options.min_quote_score)
                    if m is not None:
                        hit, match = given[j], m
                        note = f"re-attributed from source {sid} to {j + 1}"
                        break
            if hit is None or match is None:
                bad.append(Citation(
                    source=named.source if named else "", chunk_id=named.chunk_id if named else "",
                    page=named.page_start if named else None, page_end=named.page_end if named else None,
                    quote=quote, valid=False,
                    note="quote not found in the cited source" if named else f"unknown source id {c.get('source')!r}",
                ))
                continue
            if any(g.chunk_id == hit.chunk_id and g.quote == quote for g in good):
                continue
            good.append(at_row(Citation(
                source=hit.source, page=hit.page_start, page_end=hit.page_end, chunk_id=hit.chunk_id,
                quote=quote, score=match.score, valid=True, note=note,
            ), hit))
        if not found or not text or text.lower().strip(" .") == NOT_FOUND:
            return Answer(question=question, text=NOT_FOUND, found=False, rejected_citations=bad,
                          context_chunk_ids=[h.chunk_id for h in given])
        return Answer(
            question=question, text=text, found=True, grounded=bool(good), citations=good,
            rejected_citations=bad, context_chunk_ids=[h.chunk_id for h in given],
        )


def ask(
    question: str,
    retriever: Retriever,
    k: int | None = None,
    client: LLMClient | None = None,
    options: QAOptions | None = None,
    *,
    mode: SearchMode | None = None,
    source_glob: str | None = None,
) -> Answer:
    """Answer ``question`` from the top ``k`` chunks of ``retriever``, with verified citations.

    ``k`` and ``mode``, when given, override ``options`` (default ``QAOptions()``: extractive, hybrid,
    60 chunks; 5 for the free strategy).
    With ``client=None`` the embedded local model is started (once per process). ``source_glob``
    restricts retrieval to documents whose path or file name matches (``"*2023 Q3 AAPL*"``).
    """
    update: dict[str, Any] = {}
    if k is not None:
        update["k"] = k
    if mode is not None:
        update["mode"] = mode
    opts = (options or QAOptions()).model_copy(update=update)
    with QuestionAnswerer(retriever, client, opts) as answerer:  # a server it starts stops here
        return answerer.run(question, source_glob=source_glob)


__all__ = [
    "ANSWER_SCHEMA", "DEFAULT_K", "NOT_FOUND", "Answer", "Citation", "QAOptions", "QAStrategy", "QuestionAnswerer",
    "ask", "pack_context",
]
