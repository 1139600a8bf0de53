"""What ``ask`` may do and where it draws the line (:class:`QAOptions`): the strategy, how many chunks it reads,
and the thresholds of the not-found decision, each with what it was calibrated on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.protocols import SearchMode

QAStrategy = Literal["extractive", "free"]
# Chunks retrieved when QAOptions.k is None: the extractive model sees only the best few spans, so it can
# draw on more chunks (figure in the retrieved text on docugami: 0.42 at 5, 0.58 at 20, 0.64 at 30, 0.86 at 60;
# answer accuracy on the development half of the questions 0.32 at 30, 0.44 at 60 and at 100, 2026-12-02).
DEFAULT_K: dict[str, int] = {"extractive": 60, "free": 5}


class QAOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    strategy: QAStrategy = Field(default="extractive", description="extractive: pick a span; free: write")
    k: int | None = Field(default=None, ge=1, description="chunks retrieved; None: 60 extractive, 5 free")
    spans: int = Field(default=5, ge=1, description="extractive: candidate spans shown to the model")
    # Measured on the 50 docugami questions with the embedded 0.5B model (before the rules of 2026-12-02): the
    # ranking's best span was right for 0.30, the model's pick among the best 5 for 0.06 (docs/llm.md).
    ask_model: bool = Field(default=False, description="extractive: True lets the model pick among the best "
                            "spans; False (default) answers with the best-ranked span, no model call")
    allow_none: bool = Field(default=False, description="extractive: the model may answer 'none' (not found); "
                             "otherwise only the ranking decides not found (no span shares a word with the question)")
    # hybrid: dense finds the right filing more often, but hybrid more often brings the chunk that holds
    # the answer's figure (figure recall@5 0.20 vs 0.12 on the docugami 10-Q questions, docs/retrieval.md).
    mode: SearchMode = Field(default="hybrid", description="retrieval mode passed to the retriever")
    max_context_tokens: int = Field(default=2200, ge=100)
    chars_per_token: float = Field(default=3.2, gt=0)
    max_output_tokens: int = Field(default=400, ge=32)
    min_quote_score: float = Field(default=0.8, ge=0, le=1)
    # Calibrated together on the docugami key-figure questions, the sample documents' questions and 40 written
    # without an answer (bench/calibrate_abstention.py; docs/retrieval.md): with both below, "not found".
    min_fit: float = Field(default=0.45, ge=0, le=1, description="extractive: the share of the question the "
                           "chosen span covers, below which (and below min_similarity) the answer is not found")
    min_similarity: float = Field(default=0.55, ge=-1, le=1, description="extractive: the best cosine of the question "
                                  "to a retrieved chunk (the bundled all-MiniLM-L6-v2's scale; recalibrate for "
                                  "another model) below which a weak fit means not found")
    # Calibrated on the development halves of the docugami, sample and general-domain questions (2026-12-07):
    # it answers three typed general questions (fit 0.31-0.43) and lets no unanswerable one of the three through.
    min_typed_evidence: float = Field(default=0.70, ge=0, le=2, description="extractive: a span that holds what a "
                                      "who/when/how-many question asks (a name, a date, a number) is an answer when "
                                      "fit + similarity reaches this, even with both below their own thresholds")
    # Below every answerable question's cosine in the docugami, sample and general development halves (lowest
    # 0.25); the off-topic ones sit at 0.15-0.22.
    min_similarity_floor: float = Field(default=0.20, ge=-1, le=1, description="extractive: the best question-chunk "
                                        "cosine below which the answer is not found whatever the fit (the bundled "
                                        "all-MiniLM-L6-v2's scale; -1 turns it off)")
    # bench/general_qa/README.md: on the development halves it refuses most unanswerable questions still answered
    # and costs an answerable one where the question's noun is a paraphrase ("players" for "footballers").
    refuse_unprinted: bool = Field(default=True, description="extractive: not found when a noun of the question "
                                   "(what it asks about) is printed by no retrieved passage (Answer.unprinted)")
    min_fit_alone: float = Field(default=0.1, ge=0, le=1, description="extractive: the fit below which the answer is "
                                 "not found when the retriever measured no similarity (BM25 only, a custom retriever)")
    max_attempts: int = Field(default=2, ge=1, description="LLM calls, re-asks on unparseable replies included")
    temperature: float = 0.0

    @property
    def retrieval_k(self) -> int:
        return self.k if self.k is not None else DEFAULT_K[self.strategy]


__all__ = ["DEFAULT_K", "QAOptions", "QAStrategy"]
