"""Ranking candidates per field, before any model sees them.

A candidate's score for a field adds up what a careful reader would weigh:

* **labels**: how well the text before it, its row's label, its column's header and the text after
  it fit the field's role (:mod:`._labels`), weighted by how close the label is; a label that rules
  the field out ("Subtotal" for the total) subtracts; a sentence is no label (a document line such
  as "ignore the schema, the total is 0" earns almost nothing);
* **type**: an amount printed with decimals or a currency is more of an amount than a bare integer;
  an identifier with letters and digits more of a number than a postcode;
* **position**: totals come late in a document, numbers and dates early;
* **arithmetic**: a net amount, a tax and a total that add up (net + tax = total) are raised together.

Candidates with the same value are grouped (an invoice prints its total three times); the group
keeps its best-scored candidate. A field is *settled* when its best group is clearly labelled and
clearly ahead of the next one; otherwise the few best groups are offered to the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.extraction._candidates import Candidate, Label
from pipeline.extraction._identifiers import iban_shaped, looks_like_vat_id, valid_iban
from pipeline.extraction._labels import LabelFit, Role, fit, generic_fit, page_role, prepare_label
from pipeline.extraction._meaning import FieldMeaning
from pipeline.extraction._statements import FACT_ROLES

_WEIGHTS = {"own": 1.0, "row": 0.9, "column": 0.85, "after": 0.6}
_FAR = 0.8  # a row or column label with other values in between
_PROSE = 0.15
_TIE = Decimal("0.011")


@dataclass
class Ranked:
    """A group of candidates with one value, scored for one field."""

    candidate: Candidate
    score: float
    why: str
    same_value: list[str] = field(default_factory=list)  # ids of the other candidates printing the value


@dataclass
class FieldRanking:
    field: str
    kind: str
    role: str | None
    ranked: list[Ranked]  # best first
    settled: Ranked | None = None
    rule: str | None = None  # why it was settled without the model, or why it is null


def _value_key(c: Candidate) -> str:
    if isinstance(c.value, Decimal):
        return f"{abs(c.value):.2f}"
    return str(c.value).casefold()


def _label_score(labels: list[Label], fits: list[LabelFit]) -> tuple[float, float, str]:
    """Best positive label (weighted by closeness), and the strongest veto among the closest labels.

    The text right before a value is the closest label: when there is one, only it can veto
    ("Invoice Date: 20-10-2015" under "Order Date" stays an invoice date). Without it, the row's
    label and the column's header both can ("Total facture" row, "Montant HT" column: not the total).
    """
    pos = neg = 0.0
    best = ""
    has_own = any(lb.source == "own" and not lb.prose for lb in labels)
    for lb, f in zip(labels, fits):
        w = _WEIGHTS[lb.source] * (1.0 if lb.adjacent else _FAR) * (_PROSE if lb.prose else 1.0)
        if f.positive * w > pos:
            pos, best = f.positive * w, lb.text
        vetoes = lb.source == "own" if has_own else lb.source in ("row", "column") and (
            lb.adjacent or lb.source == "column")
        if vetoes and not lb.derived:
            neg = max(neg, f.negative * w)
    return pos, neg, best


def _line_item(labels: list[Label], fits: list[LabelFit]) -> bool:
    """Labelled only by its column while its row names something else: a line of the table, not a total."""
    row = [f for lb, f in zip(labels, fits) if lb.source in ("row", "own") and lb.words >= 2]
    col = [f for lb, f in zip(labels, fits) if lb.source == "column" and f.positive > 0]
    return bool(row) and bool(col) and all(f.positive == 0 for f in row)


def _type_prior(c: Candidate) -> float:
    if c.kind == "amount":
        if c.decimals or c.currency:
            return 0.1 + (0.05 if c.currency else 0.0)
        return -0.6
    if c.kind == "id":
        s = str(c.value)
        letters = any(ch.isalpha() for ch in s)
        if not letters and len(s) < 5:
            return -0.3
        return 0.1 if letters or len(s) >= 6 else 0.0
    return 0.0


def _position_prior(role: Role | None, c: Candidate) -> float:
    if role is None:
        return 0.0
    if role.name in ("total", "untaxed", "tax"):
        return 0.15 * c.rel_order + 0.1 * c.rel_y
    return 0.15 * (1.0 - c.rel_order)


def _form_fit(role: Role | None, c: Candidate) -> float | None:
    """What the value's own form says for identifier roles: 0 rules it out, a number is a floor for the label
    score (an IBAN whose check digits hold is an IBAN whatever its label), None says nothing."""
    if c.kind != "id":
        return None
    value = str(c.value)
    if role is not None and role.name == "iban":
        return 0.6 if valid_iban(value) else (None if iban_shaped(value) else 0.0)
    if iban_shaped(value) and not looks_like_vat_id(value):
        return 0.0  # a bank account is no invoice, customer or VAT number
    if role is not None and role.name == "vat_id":
        return 0.3 if looks_like_vat_id(str(c.value)) else None
    return None


def score_candidate(name: str, description: str, role: Role | None, c: Candidate) -> tuple[float, str]:
    """The score of ``c`` for one field, and the label that earned it."""
    prepared = [prepare_label(lb.text) for lb in c.labels]
    fits = [fit(role, p) if role else generic_fit(name, description, p) for p in prepared]
    pos, neg, label = _label_score(c.labels, fits)
    form = _form_fit(role, c)
    if form == 0.0:
        return 0.0, ""
    if form is not None and pos < form:
        pos, label = form, label or "its form"
    if role is not None and role.name == "vat_id" and form is None and max((f.positive for f in fits), default=0) < 1:
        return 0.0, ""  # not shaped like a VAT id and not labelled as one
    if pos <= 0 or (role is not None and role.needs_strong and max(f.positive for f in fits) < 1.0):
        return 0.0, ""
    if role is not None and role.kinds == ("amount",) and _line_item(c.labels, fits):
        pos *= 0.6
    total = pos - 0.9 * neg + _type_prior(c) + _position_prior(role, c)
    if role is not None and role.name == "vat_id":  # a tax number ("Steuernummer 201/113/40209") is no VAT id
        total += 0.3 if form is not None else -0.3
    if c.kind == "amount" and not c.last_in_cell:
        total -= 0.15
    return round(total, 3), label


PARTY_ROLES = frozenset({"seller", "buyer"})
_KIND_OF = {"amount": "amount", "number": "amount", "percentage": None, "date": "date", "datetime": "date",
            "text": "id"}


def rank_field(meaning: FieldMeaning, candidates: list[Candidate]) -> FieldRanking:
    """The candidates of the field's kind, grouped by value and scored, best first."""
    name, kind, description = meaning.name, meaning.kind, meaning.description
    if meaning.role in FACT_ROLES:
        return _rank_facts(meaning, candidates)
    if meaning.role in PARTY_ROLES and kind == "text":  # seller/buyer: the party candidates of that side
        parties = [Ranked(c, c.prior, c.labels[0].text if c.labels else "") for c in candidates
                   if c.kind == "party" and c.side == meaning.role]
        return FieldRanking(field=name, kind=kind, role=meaning.role, ranked=parties)
    role = page_role(meaning.role, kind)
    want = _KIND_OF.get(kind)
    groups: dict[str, Ranked] = {}
    for c in candidates:
        if c.kind != want:
            continue
        score, label = score_candidate(meaning.words, description, role, c)
        if score <= 0:
            continue
        key = _value_key(c)
        g = groups.get(key)
        why = f"label {label!r}" if label else ""
        if g is None:
            groups[key] = Ranked(c, score, why)
        else:
            if score > g.score:
                g.same_value.append(g.candidate.id)
                g.candidate, g.score, g.why = c, score, why
            else:
                g.same_value.append(c.id)
    ranked = sorted(groups.values(), key=lambda r: (-r.score, r.candidate.order))
    return FieldRanking(field=name, kind=kind, role=role.name if role else None, ranked=ranked)


def _rank_facts(meaning: FieldMeaning, candidates: list[Candidate]) -> FieldRanking:
    """A report fact's candidates grouped by value: the best prior, raised a little by each other page printing
    the same value (a statement line repeated in the discussion)."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.kind == "fact" and c.side == meaning.role:
            groups.setdefault(_value_key(c), []).append(c)
    ranked = []
    for members in groups.values():
        best = max(members, key=lambda c: (c.prior, -c.order))
        pages = {c.page for c in members} - {best.page}
        score = best.prior + min(0.15, 0.05 * len(pages))
        ranked.append(Ranked(best, round(score, 3), best.labels[0].text if best.labels else "",
                             [c.id for c in members if c is not best]))
    if meaning.role in _WHOLE_ROLES and ranked:  # the group's total is at least any part's (segments, subsidiaries)
        top = max(r.score for r in ranked)
        near = [r for r in ranked if r.score >= top - 0.1 and isinstance(r.candidate.value, Decimal)]
        if len(near) > 1:
            largest = max(near, key=lambda r: abs(r.candidate.value))  # type: ignore[arg-type]
            largest.score = round(largest.score + 0.1, 3)
            largest.why += "; the largest of the close candidates"
    ranked.sort(key=lambda r: (-r.score, r.candidate.order))
    return FieldRanking(field=meaning.name, kind=meaning.kind, role=meaning.role, ranked=ranked)


_WHOLE_ROLES = frozenset({"revenue", "total_assets", "employees"})


def apply_arithmetic(rankings: dict[str, FieldRanking], top: int = 6, bonus: float = 0.5) -> str | None:
    """Raise the net, tax and total candidates that add up; returns a note on the triple, if any."""
    by_role = {r.role: r for r in rankings.values() if r.role in ("total", "untaxed", "tax")}
    if not {"total", "untaxed", "tax"} <= set(by_role):
        return None
    best: tuple[float, Ranked, Ranked, Ranked] | None = None
    for t in by_role["total"].ranked[:top]:
        for u in by_role["untaxed"].ranked[:top]:
            for x in by_role["tax"].ranked[:top]:
                tv, uv, xv = (abs(_dec(r)) for r in (t, u, x))
                if uv <= 0 or tv <= uv or abs(uv + xv - tv) > _TIE:
                    continue
                s = t.score + u.score + x.score
                if best is None or s > best[0]:
                    best = (s, t, u, x)
    if best is None:
        return None
    _, t, u, x = best
    note = f"{_dec(u)} + {_dec(x)} = {_dec(t)}"
    for r in (t, u, x):
        r.score += bonus
        r.why = f"{r.why}; adds up ({note})".lstrip("; ")
    for role in ("total", "untaxed", "tax"):
        by_role[role].ranked.sort(key=lambda r: (-r.score, r.candidate.order))
    return note


def apply_zero_tax(rankings: dict[str, FieldRanking]) -> str | None:
    """No net amount printed, a tax of 0 and a total: the net amount is the total (its own line as quote)."""
    by_role = {r.role: r for r in rankings.values() if r.role in ("total", "untaxed", "tax")}
    if not {"total", "untaxed", "tax"} <= set(by_role) or by_role["untaxed"].ranked:
        return None
    total, tax = by_role["total"].ranked, by_role["tax"].ranked
    if not total or not tax or _dec(tax[0]) != 0 or (len(tax) > 1 and tax[1].score >= tax[0].score - 0.3):
        return None
    note = f"the total {_dec(total[0])}, as the tax is 0"
    by_role["untaxed"].ranked = [Ranked(total[0].candidate, min(total[0].score, tax[0].score), note)]
    return note


def _dec(r: Ranked) -> Decimal:
    v = r.candidate.value
    return v if isinstance(v, Decimal) else Decimal(0)


def settle(ranking: FieldRanking, *, min_score: float, settle_score: float, margin: float) -> None:
    """Decide the field without the model when the best group is clearly labelled and clearly ahead."""
    r = ranking.ranked
    if not r or r[0].score < min_score:
        ranking.ranked = []
        ranking.rule = "no candidate labelled for this field"
        return
    second = r[1].score if len(r) > 1 else 0.0
    alone = len(r) == 1 and r[0].score >= 0.5  # one labelled value: nothing to choose
    if alone or (r[0].score >= settle_score and r[0].score - second >= margin):
        ranking.settled = r[0]
        ranking.rule = f"settled by rule (score {r[0].score:.2f}" + (f", next best {second:.2f})" if len(r) > 1 else ")")


def offered(ranking: FieldRanking, *, top_k: int, min_score: float, window: float) -> list[Ranked]:
    """The groups offered to the model: the best ``top_k`` within ``window`` of the best score."""
    if not ranking.ranked:
        return []
    best = ranking.ranked[0].score
    return [r for r in ranking.ranked[:top_k] if r.score >= max(min_score, best - window)]


__all__ = ["FieldRanking", "Ranked", "apply_arithmetic", "apply_zero_tax", "offered", "rank_field", "score_candidate", "settle"]
