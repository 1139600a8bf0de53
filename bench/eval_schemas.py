"""Schema invariance: the same invoices extracted with the built-in ``Invoice`` and with six user-style
schemas (``bench/schemas/invoice_schemas.py``, written before tuning), scored on the concepts each schema
holds.

Sets (``../shared/eval``): ``i2d`` = invoice2data/compare (12, gold: its JSON), ``fx`` = zugferd/FX (19, gold:
the CII XML each PDF embeds, read here independently of the pipeline), ``fx-noxml`` = the same 19 PDFs with
their attachments removed (printed page only). Every set is split by sorted position: even = dev, odd =
held-out.
A schema's *core* accuracy is over the concepts it shares with the built-in schema (number, date, total,
untaxed, tax, currency), compared with the built-in's accuracy on the same concepts and documents; extra
concepts (seller, buyer, due payable, due date, VAT id, IBAN) are scored apart.

    .venv/bin/python bench/eval_schemas.py                       # all sets, all schemas, embedded model
    .venv/bin/python bench/eval_schemas.py --sets fx-noxml --schemas Invoice,SupplierInvoice --half dev
    .venv/bin/python bench/eval_schemas.py --json out/schemas.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.schemas.invoice_schemas import BUILTIN_CONCEPTS, CONCEPTS, SCHEMAS  # noqa: E402

CORE = ("number", "date", "total", "untaxed", "tax", "currency")
EVAL = REPO.parent / "shared" / "eval"
_CII_NS = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"


# -- gold ------------------------------------------------------------------------------------------------
def _i2d_gold(path: Path) -> dict[str, Any]:
    g = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))[0]
    return {"number": g.get("invoice_number"), "date": g.get("date"), "total": g.get("amount"),
            "untaxed": g.get("amount_untaxed"), "tax": g.get("amount_tax"), "currency": g.get("currency"),
            "iban": g.get("iban"), "due_date": g.get("date_due")}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first(root: Any, *path: str) -> Any:
    node = root
    for name in path:
        node = next((c for c in node.iter() if _local(c.tag) == name), None)
        if node is None:
            return None
    return node


def _fx_gold(path: Path) -> dict[str, Any]:
    import defusedxml.ElementTree as ET  # noqa: N817
    import pymupdf

    with pymupdf.open(path) as pdf:
        xml = next(n for n in pdf.embfile_names() if n.casefold().endswith(".xml"))
        root = ET.fromstring(pdf.embfile_get(xml))

    def text(*p: str) -> str | None:
        n = _first(root, *p)
        return n.text.strip() if n is not None and n.text else None

    def date(*p: str) -> str | None:
        t = text(*p)
        return f"{t[:4]}-{t[4:6]}-{t[6:8]}" if t else None

    currency = text("InvoiceCurrencyCode")
    summ = _first(root, "SpecifiedTradeSettlementHeaderMonetarySummation")
    taxes = [c for c in summ.iter() if _local(c.tag) == "TaxTotalAmount"] if summ is not None else []
    tax = next((t.text for t in taxes if t.get("currencyID") in (None, currency)), None)
    seller = _first(root, "SellerTradeParty")
    vat = None
    if seller is not None:
        vat = next((c.text for c in seller.iter()
                    if _local(c.tag) == "ID" and c.get("schemeID") == "VA"), None)
    buyer = _first(root, "BuyerTradeParty")
    return {
        "number": text("ExchangedDocument", "ID"), "date": date("ExchangedDocument", "DateTimeString"),
        "total": text("GrandTotalAmount"), "untaxed": text("TaxBasisTotalAmount"), "tax": tax,
        "currency": currency, "due_payable": text("DuePayableAmount"),
        "seller": _name(seller), "buyer": _name(buyer),
        "seller_vat_id": vat, "iban": text("IBANID"), "due_date": date("DueDateDateTime", "DateTimeString"),
    }


def _name(party: Any) -> str | None:
    node = _first(party, "Name") if party is not None else None
    return node.text if node is not None else None


# -- comparing -------------------------------------------------------------------------------------------
def _norm(concept: str, v: Any) -> Any:
    if v is None or v == "" or v == []:
        return None
    if concept in ("total", "untaxed", "tax", "due_payable"):
        try:
            return round(float(v), 2)
        except (TypeError, ValueError):
            return None
    if concept in ("date", "due_date"):
        return str(v)[:10]
    if concept in ("number", "seller_vat_id", "iban"):
        return re.sub(r"[\s#:]+", "", str(v)).casefold() or None
    if concept == "currency":
        return str(v).strip().upper()
    return re.sub(r"\s+", " ", str(v)).strip().casefold()


def same(concept: str, gold: Any, pred: Any) -> bool:
    g, p = _norm(concept, gold), _norm(concept, pred)
    if g is None or p is None:
        return g is None and p is None
    if isinstance(g, float):
        return abs(g - p) < 0.011
    if concept in ("seller", "buyer"):  # a name: the legal form or a trailing line may differ
        return g in p or p in g or SequenceMatcher(None, g, p).ratio() >= 0.8
    return bool(g == p)


# -- documents -------------------------------------------------------------------------------------------
@dataclass
class Doc:
    set: str
    name: str
    path: Path
    gold: dict[str, Any]
    half: str


def _half(i: int) -> str:
    return "dev" if i % 2 == 0 else "held-out"


def documents(sets: list[str], tmp: Path) -> list[Doc]:
    import pymupdf

    out: list[Doc] = []
    if "i2d" in sets:
        folder = EVAL / "invoice2data" / "compare"
        files = sorted(p for p in folder.iterdir() if p.suffix in (".pdf", ".txt"))
        out += [Doc("i2d", p.name, p, _i2d_gold(p), _half(i)) for i, p in enumerate(files)]
    fx = sorted((EVAL / "zugferd" / "FX").glob("*.pdf"))
    if "fx" in sets:
        out += [Doc("fx", p.name, p, _fx_gold(p), _half(i)) for i, p in enumerate(fx)]
    if "fx-noxml" in sets:
        (tmp / "fx-noxml").mkdir(exist_ok=True)
        for i, p in enumerate(fx):
            target = tmp / "fx-noxml" / p.name
            with pymupdf.open(p) as pdf:
                for name in pdf.embfile_names():
                    pdf.embfile_del(name)
                pdf.save(target)
            out.append(Doc("fx-noxml", p.name, target, _fx_gold(p), _half(i)))
    return out


@dataclass
class Tally:
    right: int = 0
    n: int = 0
    wrong: int = 0  # a value returned that is not the gold one

    def add(self, ok: bool, returned: bool) -> None:
        self.n += 1
        self.right += ok
        self.wrong += (not ok) and returned

    @property
    def accuracy(self) -> float:
        return self.right / self.n if self.n else float("nan")


@dataclass
class Row:
    schema: str
    set: str
    half: str
    core: Tally = field(default_factory=Tally)
    extra: Tally = field(default_factory=Tally)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    docs: int = 0
    misses: list[str] = field(default_factory=list)
    outcomes: dict[tuple[str, str], bool] = field(default_factory=dict)  # (document, concept) -> right


def _score(row: Row, doc: Doc, concepts: dict[str, str], data: dict[str, Any]) -> None:
    for name, concept in concepts.items():
        gold = doc.gold.get(concept)
        if _norm(concept, gold) is None:
            continue
        pred = data.get(name)
        ok = same(concept, gold, pred)
        (row.core if concept in CORE else row.extra).add(ok, _norm(concept, pred) is not None)
        row.outcomes[(doc.name, concept)] = ok
        if not ok:
            row.misses.append(f"{doc.set}/{doc.name} {name}: {pred!r} (gold {gold!r})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="i2d,fx,fx-noxml")
    ap.add_argument("--schemas", default="Invoice," + ",".join(SCHEMAS))
    ap.add_argument("--half", choices=("dev", "held-out", "all"), default="all")
    ap.add_argument("--json", help="write every row (with its misses) to this file")
    ap.add_argument("--misses", action="store_true", help="print each wrong or missing value")
    args = ap.parse_args()

    from pipeline.extraction import ExtractionOptions, Invoice, StructuredExtractor
    from pipeline.llm import LLMSettings, open_llm
    from pipeline.parsing import parse

    schemas = {"Invoice": (Invoice, BUILTIN_CONCEPTS)}
    schemas.update({n: (s, CONCEPTS[n]) for n, s in SCHEMAS.items()})
    chosen = [s.strip() for s in args.schemas.split(",") if s.strip()]
    rows: dict[tuple[str, str, str], Row] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, open_llm(LLMSettings.from_env()) as client:
        docs = [d for d in documents(args.sets.split(","), Path(tmp)) if args.half in ("all", d.half)]
        extractors = {n: StructuredExtractor(schemas[n][0], client, ExtractionOptions()) for n in chosen}
        for doc in docs:
            parsed = parse(doc.path)
            for name in chosen:
                row = rows.setdefault((name, doc.set, doc.half), Row(name, doc.set, doc.half))
                t0 = time.perf_counter()
                res = extractors[name].run(parsed, raise_on_failure=False)
                row.seconds += time.perf_counter() - t0
                row.docs += 1
                row.statuses[res.status.value] = row.statuses.get(res.status.value, 0) + 1
                data = res.values()  # a partial record keeps its found fields in partial_data
                _score(row, doc, schemas[name][1], data)
            print(f"  {doc.set}/{doc.name} done ({time.perf_counter() - t_all:.0f}s)",
                  file=sys.stderr, flush=True)
    report(list(rows.values()), chosen, args.misses)
    if args.json:
        dumped = [{**r.__dict__, "core": r.core.__dict__, "extra": r.extra.__dict__, "outcomes": None}
                  for r in rows.values()]
        Path(args.json).write_text(json.dumps(dumped, indent=1, default=str), encoding="utf-8")


def report(rows: list[Row], chosen: list[str], show_misses: bool) -> None:
    print("| schema | set | half | docs | core acc. | built-in on same | wrong | extra acc. (n) | statuses "
          "| s/doc |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|---:|")
    for r in sorted(rows, key=lambda r: (r.set, r.half, chosen.index(r.schema))):
        base = next((b for b in rows if b.schema == "Invoice" and b.set == r.set and b.half == r.half), None)
        ref = ""
        if base is not None and r.schema != "Invoice":
            ref = f"{_base_same(base, r):.3f}"
        extra = f"{r.extra.accuracy:.2f} ({r.extra.n})" if r.extra.n else "-"
        st = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items()))
        print(f"| {r.schema} | {r.set} | {r.half} | {r.docs} | {r.core.accuracy:.3f} | {ref} | "
              f"{r.core.wrong + r.extra.wrong} | {extra} | {st} | {r.seconds / max(1, r.docs):.1f} |")
    if show_misses:
        for r in rows:
            for m in r.misses:
                print(f"{r.schema}: {m}")


def _base_same(base: Row, r: Row) -> float:
    """The built-in's core accuracy on exactly the (document, concept) pairs ``r`` was scored on."""
    pairs = [k for k in r.outcomes if k[1] in CORE and k in base.outcomes]
    return sum(base.outcomes[k] for k in pairs) / len(pairs) if pairs else float("nan")


if __name__ == "__main__":
    main()
