"""Structure-aware chunking: sections never mix, tables stay whole, budgets are real tokens.

A chunk is built from consecutive elements of one section (same heading path). Elements larger
than the budget are split at sentence boundaries (then at token boundaries); tables larger than the
budget are split by rows with the header row repeated. Every chunk's id is the hash of its text,
its provenance and the options that made it, so re-chunking with the same options is stable and a
change of options yields new ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from pipeline.chunking._models import Chunk, ChunkingOptions
from pipeline.chunking._table_rows import row_chunks
from pipeline.document import FURNITURE_KINDS, HEADING_KINDS, Document, Element, ElementKind, TableData
from pipeline.embedding import TokenCounter, get_token_counter

_SENTENCE_RE = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[]?[A-Z0-9])")


_NAME_SEP_RE = re.compile(r"[_\s]+")


def _descriptive(value: Any) -> str:
    """A metadata title/subject worth embedding: words, not an accession number or a tool's default."""
    if not isinstance(value, str):
        return ""
    v = " ".join(value.split())
    if not 4 <= len(v) <= 200 or len(re.findall(r"[^\W\d_]{2,}", v)) < 2:
        return ""
    if v.lower() in {"untitled", "microsoft word document"} or v.lower().endswith((".doc", ".docx", ".pdf")):
        return ""
    return v


def document_context(document: Document, mode: str = "name+metadata") -> str:
    """One line naming ``document`` for embedding: ``"2023 Q3 AAPL | Form 10-Q filed on ... "``.

    File names are how people label their documents (company, period, customer), and a chunk of a
    filing rarely repeats them; metadata titles are kept only when they are made of words.
    """
    if mode == "none":
        return ""
    parts = [_NAME_SEP_RE.sub(" ", PurePath(document.source).stem).strip()]
    if mode == "name+metadata":
        for key in ("title", "subject"):
            v = _descriptive(document.metadata.get(key))
            if v and all(v.lower() not in p.lower() for p in parts):
                parts.append(v)
    return " | ".join(p for p in parts if p)


def _split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_RE.split(text)]
    return [p for p in parts if p]


class Chunker:
    """Pipeline stage: ``Document -> list[Chunk]``."""

    def __init__(self, options: ChunkingOptions | None = None) -> None:
        self.options = options or ChunkingOptions()
        self._counter: TokenCounter | None = None
        self._cache: dict[str, int] = {}

    def warm_up(self) -> None:
        if self._counter is None:
            self._counter = get_token_counter(self.options.tokenizer)

    def _count(self, text: str) -> int:
        n = self._cache.get(text)
        if n is None:
            self.warm_up()
            assert self._counter is not None
            n = self._cache[text] = self._counter.count(text)
        return n

    def _prime(self, texts: list[str]) -> None:
        """Count many texts in one batched call (the tokenizer parallelises it natively)."""
        self.warm_up()
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        batch = getattr(self._counter, "count_batch", None)
        if todo and batch is not None:
            self._cache.update(zip(todo, batch(todo)))

    # -- splitting oversize units -------------------------------------------------------------
    # Token counts of whitespace-joined pieces add up for BERT-style tokenizers (whitespace pre-splitting),
    # so pieces are counted once each instead of re-tokenising growing prefixes (quadratic on big tables).
    def _split_text(self, text: str, budget: int) -> list[str]:
        """Split prose into pieces of at most ``budget`` tokens, at sentences, else at words."""
        pieces: list[str] = []
        for sent in _split_sentences(text) or [text]:
            if self._count(sent) <= budget:
                pieces.append(sent)
                continue
            cur: list[str] = []
            cur_n = 0
            for w in sent.split():
                n = self._count(w)
                if cur and cur_n + n > budget:
                    pieces.append(" ".join(cur))
                    cur, cur_n = [], 0
                cur.append(w)
                cur_n += n
            if cur:
                pieces.append(" ".join(cur))
        return pieces

    def _split_table(self, table: TableData, budget: int) -> list[str]:
        header = table.rows[: table.header_rows]
        body = table.rows[table.header_rows :]
        fixed = self._count(table.to_markdown(header))
        out: list[str] = []
        cur: list[list[str | None]] = []
        cur_n = fixed
        for row in body:
            n = self._count(table.to_markdown([row])) - 2 * len(row)  # minus the "|---|" line of a 1-row table
            if cur and cur_n + n > budget:
                out.append(table.to_markdown(header + cur))
                cur, cur_n = [], fixed
            cur.append(row)
            cur_n += n
        if cur or not out:
            out.append(table.to_markdown(header + cur))
        return out

    # -- main ---------------------------------------------------------------------------------
    def _units(self, el: Element, budget: int) -> list[str]:
        text = el.to_markdown()
        if self._count(text) <= budget:
            return [text]
        if el.kind is ElementKind.TABLE and el.table and el.table.n_rows > 1:
            return self._split_table(el.table, budget)
        prefix = "- " if el.kind is ElementKind.LIST_ITEM else ""
        return [prefix + p for p in self._split_text(el.text, budget - 2)]

    def run(self, document: Document) -> list[Chunk]:
        opts = self.options
        fp = opts.fingerprint()
        chunks: list[Chunk] = []
        self._cache.clear()
        doc_context = document_context(document, opts.document_context)
        sections = list(_sections(document))
        self._prime([el.to_markdown() for _, els in sections for el in els] + [" > ".join(p) for p, _ in sections])
        # The embedder sees context + text: the budget covers both, so nothing is cut off at embedding time.
        doc_ctx_tokens = self._count(doc_context) + 1 if doc_context else 0
        for si, (path, elements) in enumerate(sections):
            has_child = si + 1 < len(sections) and sections[si + 1][0][: len(path)] == path
            context = " > ".join(path)
            ctx_tokens = self._count(context) + 1 if (context and opts.include_heading_context) else 0
            budget = max(16, opts.max_tokens - ctx_tokens - doc_ctx_tokens)
            # (text, page, kind) units, each within budget
            units: list[tuple[str, int, int, str]] = []
            for el in elements:
                if el.kind in HEADING_KINDS and opts.include_heading_context and path and el.text == path[-1]:
                    continue  # the heading path prefix already carries this heading
                for u in self._units(el, budget):
                    units.append((u, el.page, self._count(u), el.kind.value))
            cur: list[tuple[str, int, int, str]] = []
            cur_tokens = 0
            for unit in units:
                if cur and cur_tokens + unit[2] > budget and not all(u[3] in ("heading", "title") for u in cur):
                    chunks.append(self._make(document, doc_context, path, cur, fp, len(chunks)))
                    cur, cur_tokens = self._overlap(cur, unit[2], budget), 0
                    cur_tokens = sum(u[2] for u in cur)
                cur.append(unit)
                cur_tokens += unit[2]
            if cur:
                chunks.append(self._make(document, doc_context, path, cur, fp, len(chunks)))
            elif path and not has_child:
                # A heading with no content and no sub-section: keep it searchable.
                chunks.append(self._make(
                    document, doc_context, path[:-1], [(path[-1], elements[0].page, 0, "heading")], fp, len(chunks)
                ))
        if opts.table_rows:
            chunks += row_chunks(document, chunks, doc_context, fp)
        self._prime([c.text for c in chunks])
        for c in chunks:
            c.n_tokens = self._count(c.text)
        self._cache.clear()
        return chunks

    def _overlap(
        self, prev: list[tuple[str, int, int, str]], next_tokens: int, budget: int
    ) -> list[tuple[str, int, int, str]]:
        if not self.options.overlap_tokens:
            return []
        out: list[tuple[str, int, int, str]] = []
        total = 0
        for u in reversed(prev):
            if u[3] == "table" or total + u[2] > self.options.overlap_tokens:
                break
            if total + u[2] + next_tokens > budget:
                break
            out.insert(0, u)
            total += u[2]
        return out

    def _make(
        self,
        doc: Document,
        context: str,
        path: list[str],
        units: list[tuple[str, int, int, str]],
        fp: str,
        index: int,
    ) -> Chunk:
        body = "\n\n".join(u[0] for u in units)
        text = (" > ".join(path) + "\n" + body) if (path and self.options.include_heading_context) else body
        kinds = list(dict.fromkeys(u[3] for u in units))
        pages = [u[1] for u in units]
        key = json.dumps([doc.content_hash, context, text, path, min(pages), max(pages), fp], ensure_ascii=False)
        return Chunk(
            id=hashlib.sha256(key.encode()).hexdigest(),
            doc_id=doc.content_hash,
            source=doc.source,
            text=text,
            page_start=min(pages),
            page_end=max(pages),
            heading_path=list(path),
            element_kinds=kinds,
            n_tokens=0,  # measured for all chunks at once in run()
            index=index,
            options_fingerprint=fp,
            context=context,
        )


def _sections(document: Document) -> Iterator[tuple[list[str], list[Element]]]:
    """Group body elements into sections: a heading opens a new section that it belongs to."""
    path: list[str] = []
    cur: list[Element] = []
    for el in document.elements:
        if el.kind in FURNITURE_KINDS or not el.text.strip():
            continue
        if el.kind in HEADING_KINDS:
            if cur:
                yield path, cur
            path = list(el.heading_path) + [el.text]
            cur = [el]
            continue
        if not cur:
            path = list(el.heading_path)
        cur.append(el)
    if cur:
        yield path, cur


def chunk(document: Document, options: ChunkingOptions | None = None) -> list[Chunk]:
    """Split ``document`` into chunks within ``options.max_tokens`` tokens."""
    return Chunker(options).run(document)
