"""Party names (seller, buyer) as candidates, from the layout conventions business documents use for them.

Three conventions, each a class of documents, not a file:

* **Labelled party sections** (e-invoice visualisations, ERP print-outs, most German and French invoices): a
  heading that names the party ("Verkäufer", "Seller", "Lieferant", "Bill to", "Käufer/Leistungsempfänger",
  "Client") and, within the next rows, a "Name:"/"Firma:"/"Company:" row whose value is the name; or, when no
  such row follows, the first line under the heading that is neither a label nor a number.
* **Inline party labels**: "Bill to: ACME Inc", "Rechnungsempfänger: Kunden AG".
* **Letterhead** (the seller only): a line near the top of the first page that holds a legal form ("GmbH",
  "Ltd", "Inc.", "S.A.", "B.V.") and lies in no buyer section; the segment with the legal form when the line
  also carries the address ("Lieferant GmbH - Lieferantenstraße 20 - 80333 München"). Weaker than a label.

Each candidate's quote is found in the document's text (or it is not a candidate), like every other candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.evidence import SourceText
from pipeline.extraction._layout import Cell, Layout

Side = str  # "seller" | "buyer"

_SELLER_HEAD = re.compile(
    r"(?i)^(?:seller|supplier|vendor|from|issued by|biller|verkäufer(?:in)?|lieferant(?:in)?|rechnungssteller|"
    r"leistungserbringer|absender|fournisseur|vendeur|émetteur|leverancier|verkoper|proveedor|vendedor|"
    r"fornitore|sprzedawca)\b")
_BUYER_HEAD = re.compile(
    r"(?i)^(?:buyer|customer|client|bill(?:ed)? to|invoice to|sold to|purchaser|recipient|käufer(?:in)?|kunde|"
    r"rechnungsempfänger|leistungsempfänger|empfänger|auftraggeber|acheteur|destinataire|facturé à|factureren aan|"
    r"klant|koper|comprador|cliente|nabywca)\b")
_NAME_LABEL = re.compile(r"(?i)^(?:name|firma|company|company name|firmenname|nom|raison sociale|naam|nombre|"
                         r"ragione sociale|nazwa)\s*:?$")
_LEGAL_FORM = re.compile(
    r"(?<![\w.])(?:GmbH(?: & Co\.? KG)?|AG|KG|OHG|UG|e\.\s?K\.|e\.\s?V\.|a\.\s?G\.|Ltd\.?|Limited|Inc\.?|LLC|LLP|PLC|"
    r"Corp\.?|Corporation|S\.A\.S?\.?|SAS|SARL|S\.à r\.l\.|S\.r\.l\.|S\.p\.A\.|B\.V\.|BV|N\.V\.|NV|Sp\. z o\.o\.|"
    r"a\.s\.|s\.r\.o\.|Oy|AB|ApS|A/S|AS)(?![\w])")
_SALUTATION = re.compile(r"(?i)^(?:herrn?|frau|mr\.?|mrs\.?|ms\.?|m\.|mme\.?|dhr\.?|mevr\.?|sr\.?|sra\.?)$")
# An address line, not a name: "Lieferantenstraße 20", "4557 De Silva St", "12 rue de la Paix".
_STREET = re.compile(r"(?i)(?:stra(?:ss|ß)e|str\.|weg|allee|platz|gasse|street|road|avenue|ave\.?|lane|blvd|"
                     r"\brue\b|\bst\.?$|straat|laan)\s*\d*\w?$|^\d+\s+\w+|\s\d+[a-z]?$")
_ATTENTION = re.compile(r"(?i)^(?:attn\.?|attention|z\.\s?hd\.?|à l'attention de)\s*:?\s*")
_SECTION_ROWS = 8  # a party section's name is within this many cells of its heading
_LETTERHEAD_TOP = 0.3  # the part of the first page a letterhead is in


@dataclass(frozen=True)
class PartyCandidate:
    side: Side
    name: str
    quote: str
    cell: Cell
    score: float
    how: str


def _is_label(text: str) -> bool:
    return text.rstrip().endswith(":")


def _plain_line(text: str) -> bool:
    """A line that can be a name: letters, not a label, not mostly digits, not a sentence."""
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return (letters >= 3 and digits <= letters / 3 and not _is_label(text) and len(text.split()) <= 8
            and not _STREET.search(text))


def _heading_side(text: str) -> Side | None:
    t = text.strip().rstrip(":").strip()
    # A heading is the party word alone ("Bill to", "Käufer/Leistungsempfänger"), not a run of labels.
    if len(t.split()) > 4 or ":" in t or any(ch.isdigit() for ch in t) or _LEGAL_FORM.search(t):
        return None
    if _BUYER_HEAD.match(t):  # first: "Käufer/Leistungsempfänger" names the buyer
        return "buyer"
    if _SELLER_HEAD.match(t):
        return "seller"
    return None


def _inline(text: str) -> tuple[Side, str] | None:
    m = re.match(r"^\s*([^:]{2,40}):\s*(\S.{1,80})$", text)
    if m is None:
        return None
    side = _heading_side(m.group(1))
    return (side, m.group(2).strip()) if side and _plain_line(m.group(2)) else None


def _letterhead_name(text: str) -> str | None:
    """The segment of a letterhead line that holds the legal form."""
    for part in re.split(r"\s+[-–·|•]\s+|\s*\|\s*|,\s+(?=\d)", text):
        if _LEGAL_FORM.search(part) and _plain_line(part):
            return part.strip()
    return None


class _Finder:
    def __init__(self, layout: Layout, source: SourceText) -> None:
        self.layout, self.source = layout, source
        self.out: list[PartyCandidate] = []

    def add(self, side: Side, name: str, cell: Cell, score: float, how: str) -> None:
        name = _ATTENTION.sub("", name.strip(" ,;:"))
        if not name or any(c.side == side and c.name.casefold() == name.casefold() and c.score >= score
                           for c in self.out):
            return
        for quote in (cell.text.strip(), name):
            if self.source.find(quote, min_score=1.0) is not None:
                self.out.append(PartyCandidate(side, name, quote, cell, score, how))
                return

    def run(self) -> list[PartyCandidate]:
        section: Side | None = None
        since = 0
        heading = ""
        buyer_cells: set[int] = set()
        for i, cell in enumerate(self.layout.cells):
            text = cell.text.strip()
            inline = _inline(text)
            if inline is not None:
                self.add(inline[0], inline[1], cell, 0.9, f"after the label {text.split(':')[0]!r}")
                continue
            row, _ = self.layout.row_label(cell)
            named = row is not None and _NAME_LABEL.match(row.text.strip()) is not None
            side = None if named or _LEGAL_FORM.search(text) else _heading_side(text)
            if side is not None:
                section, since, heading = side, 0, text
                continue
            if section is None:
                self._under_heading(cell, text)
                continue
            since += 1
            if since > _SECTION_ROWS:
                section = None
                continue
            if section == "buyer":
                buyer_cells.add(i)
            if named and row is not None:
                self.add(section, text, cell, 1.0, f"the {row.text.strip()!r} row under {heading!r}")
                section = None
            else:
                self._under_heading(cell, text)
        self._letterhead(buyer_cells)
        return self.out

    def _under_heading(self, cell: Cell, text: str) -> None:
        """The first line of a column headed by a party heading ("From" | "Bill to" side by side)."""
        col, adjacent = self.layout.column_label(cell)
        side = _heading_side(col.text) if col is not None and adjacent else None
        if side is None or col is None or not _plain_line(text) or _NAME_LABEL.match(text) or _SALUTATION.match(text):
            return
        if col.page == cell.page and col.y0 < cell.y0:  # (a stacked header is a cell of its own, not listed)
            self.add(side, text, cell, 0.8, f"the first line under {col.text.strip()!r}")

    def _letterhead(self, buyer_cells: set[int]) -> None:
        for i, cell in enumerate(self.layout.cells):
            if cell.page != self.layout.cells[0].page or i in buyer_cells:
                continue
            if cell.y0 > _LETTERHEAD_TOP * self.layout.page_heights.get(cell.page, 1e9):
                break
            name = _letterhead_name(cell.text.strip())
            if name is not None:
                self.add("seller", name, cell, 0.45, "a company name at the top of the first page")
                return


def party_candidates(layout: Layout, source: SourceText) -> list[PartyCandidate]:
    """Seller and buyer names printed in the document, best-supported first per side."""
    found = _Finder(layout, source).run()
    return sorted(found, key=lambda c: -c.score)


__all__ = ["PartyCandidate", "party_candidates"]
