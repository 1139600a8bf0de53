"""What a schema field means on a business document, read from the schema itself, not from a list of names.

A field's *meaning* is one of the roles of :mod:`._labels` (``total``, ``untaxed``, ``tax``, ``due_payable``,
``doc_number``, ``issue_date``, ``due_date``, ``vat_id``, ``iban``, ``customer_number``, ``seller``,
``buyer``, ``currency``), one of a company report's facts (``revenue``, ``net_income``, ``total_assets``,
``eps_diluted``, ``eps_basic``, ``employees``, ``registrant``, ``period_end``: :mod:`._statements`), or none. It is found from, in this order of weight:

1. the words of the field's name (``grand_total``, ``montantTTC``, ``rechnungsnummer`` split and folded:
   umlauts transliterated, accents dropped),
2. its ``description``, in any of the languages of the concept lexicon below (English, German, French,
   Dutch, Spanish, Italian, Polish words for the same concepts),
3. its type (a role is only taken by a field of a kind the role has: ``vat`` is the tax amount on a number
   field and the VAT id on a string field),
4. when the lexicon knows none of its words, the bundled embedding model: the field's name and description
   against a short gloss of each role (:class:`RoleGlosses`), taken only when clearly the closest.

Phrases that flip a tax word are rewritten first, as on the page (``prepare_label``): "including VAT",
"TTC", "brutto" say *taxes included* (the total), "before tax", "HT", "ohne Umsatzsteuer" say *untaxed*.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pipeline.exceptions import ConfigurationError
from pipeline.extraction._labels import prepare_label

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_EXCL = "\u2296excl"  # the markers prepare_label writes
_INCL = "\u2295incl"


@dataclass(frozen=True)
class Concept:
    """Field-side words of one role (searched in the folded name and description)."""

    strong: tuple[str, ...]
    weak: tuple[str, ...]
    kinds: tuple[str, ...]  # field kinds that can take the role
    negative: tuple[str, ...] = ()  # words of the name that say it is something else ("order number")
    vetoes: tuple[str, ...] = ()  # a name or description holding one of these says nothing for the role


# Lines of a company's financial statements: "net income", "total assets", "total revenue" are not an
# invoice's net, total or tax (they get no invoice role, and are labelled by their own words).
_STATEMENT_LINES = (r"\bassets?\b", r"\bliabilit\w*", r"\bequity\b", r"\bincome\b", r"\bearnings?\b", r"\bprofit\w*", r"\brevenues?\b", r"\bexpenses?\b", r"\bcash flow\w*", r"\bper share\b", r"\beps\b")

# Order matters on a tie: the more specific role first ("tax_total" is the tax, "net_total" the net).
_CONCEPTS: dict[str, Concept] = {
    "due_payable": Concept(
        strong=(r"\bdue (?:amount|payable)\b", r"\b(?:amount|balance|sum|total) (?:still )?due\b", r"\bpayable\b",
                r"\bstill due\b", r"\bzahlbetrag\b", r"\bfaellige?r? (?:betrag|zahlbetrag)\b", r"\bzu zahlen\b",
                r"\ba payer\b", r"\breste a payer\b", r"\bte betalen\b", r"\boutstanding\b", r"\bdo zaplaty\b",
                r"\bbalance\b", r"\bamount to be paid\b"),
        weak=(r"\bdue\b", r"\bfaellig\w*",), kinds=("amount", "number"),
    ),
    "untaxed": Concept(
        strong=(_EXCL, r"\bnet(?:to)?\b", r"\bnetto\w*", r"\bsub ?total\b", r"\bzwischensumme\b",
                r"\bsous total\b", r"\buntaxed\b", r"\btaxable (?:amount|base)\b", r"\bbase imponible\b",
                r"\bimponibile\b", r"\bgrondslag\b", r"\bsteuerbasis\b", r"\bbemessungsgrundlage\b"),
        weak=(), kinds=("amount", "number"), vetoes=(_INCL,),
        negative=_STATEMENT_LINES,
    ),
    "tax": Concept(
        strong=(r"\b(?:tax|taxes|vat|gst|mwst|ust|tva|iva|btw|hst|pst)\b", r"\b(?:umsatz|mehrwert)?steuer\w*",
                r"\bsales tax\b", r"\bpodatek\b"),
        weak=(), kinds=("amount", "number"),
    ),
    "vat_id": Concept(
        strong=(r"\b(?:vat|tax|tva|btw|ust|mwst|gst|iva)\s*(?:id|no|nr|number|reg\w*|identification|code|ident\w*)\b",
                r"\bust ?id\w*", r"\bsteuer ?(?:nummer|nr|id)\b", r"\bgstin\b", r"\bsiren\b", r"\bsiret\b",
                r"\btva intra\w*", r"\bnif\b", r"\bnip\b", r"\bcif\b", r"\btax registration\b", r"\btin\b"),
        weak=(), kinds=("text",),
    ),
    "iban": Concept(strong=(r"\biban\b", r"\bbank account\b", r"\bbankverbindung\b", r"\bkontonummer\b",
                            r"\baccount number\b", r"\brib\b"),
                    weak=(r"\baccount\b", r"\bkonto\b", r"\bcompte\b"), kinds=("text",)),
    "customer_number": Concept(
        strong=(r"\b(?:customer|client|account|kunden?|klant|debitor)\w* ?(?:no|nr|number|num|id|ref\w*|code|nummer)\b",
                r"\bkundennummer\b", r"\bkundennr\b", r"\bnumero client\b", r"\bklantnummer\b"),
        weak=(), kinds=("text",),
    ),
    "doc_number": Concept(
        strong=(r"\b(?:invoice|bill|receipt|document|doc|credit note|inv|rechnung|facture|factuur|faktura|factura|"
                r"fattura|beleg)\w* ?(?:no|nr|number|num|numero|nummer|id|ref\w*|#|code)\b",
                r"\b(?:no|nr|number|numero|nummer|num|id|ref\w*) (?:\w+ ){0,2}(?:invoice|bill|facture|factuur|"
                r"rechnung|document|faktury|factura|fattura)\b",
                r"\brechnungs?(?:nummer|nr)\b", r"\bfactuurnummer\b", r"\bbelegnummer\b", r"\bnumer faktury\b"),
        weak=(r"\b(?:number|no|nr|nummer|numero|id|reference|ref)\b",), kinds=("text",),
        negative=(r"\border\w*", r"\bpo\b", r"\bpurchase\b", r"\bbestell\w*", r"\bcommande\b", r"\bdelivery\b",
                  r"\bliefer\w*", r"\bship\w*", r"\btracking\b", r"\bphone\b", r"\bfax\b", r"\bcustomer\b",
                  r"\bclient\b", r"\baccount\b", r"\bkunde\w*", r"\bcontract\b", r"\bvertrag\w*", r"\bserial\b",
                  r"\barticle\b", r"\bartikel\w*", r"\bitem\b", r"\bproduct\b", r"\bpostcode\b", r"\bzip\b",
                  r"\biban\b", r"\bvat\b", r"\btax\b", r"\btin\b", r"\bust\b", r"\bpayment\b", r"\bmandate\b",
                  r"\bbank\b", r"\bproject\b", r"\bprojekt\b", r"\bcase\b"),
    ),
    "due_date": Concept(
        strong=(r"\bdue\b", r"\bpay(?:ment)? (?:by|due|deadline|date)\b", r"\bpay by\b", r"\bfaellig\w*",
                r"\bzahlungsziel\b", r"\bzahlbar bis\b", r"\becheance\b", r"\bdate limite\b", r"\bvervaldatum\b",
                r"\bvencimiento\b", r"\bscadenza\b", r"\btermin platnosci\b", r"\bdeadline\b"),
        weak=(), kinds=("date", "datetime"),
    ),
    "issue_date": Concept(
        strong=(r"\b(?:invoice|bill|issue|issued|document|doc|receipt)\w* ?(?:date|on|datum)\b",
                r"\bdate (?:of )?(?:issue|the invoice|invoice)\b", r"\bissued?\b", r"\brechnungsdatum\b",
                r"\bausstellungsdatum\b", r"\bausgestellt\w*", r"\bdate (?:d )?(?:emission|facture|facturation)\b",
                r"\bemis\w*", r"\bfactuurdatum\b", r"\bdata wystawienia\b", r"\bfecha (?:de )?(?:emision|factura)\b",
                r"\bdata (?:di )?(?:emissione|fattura)\b", r"\binvoiced\b"),
        weak=(r"\bdate\b", r"\bdatum\b", r"\bdata\b", r"\bfecha\b", r"\bdated\b", r"\bwhen\b"),
        kinds=("date", "datetime"),
        negative=(r"\bdue\b", r"\bdelivery\b", r"\bliefer\w*", r"\border\w*", r"\bservice\b", r"\bleistung\w*",
                  r"\bperiod\b", r"\bstart\b", r"\bend\b", r"\bship\w*", r"\bbirth\b", r"\bexpir\w*",
                  r"\bpayment\b", r"\bpaid\b", r"\bvalid\w*", r"\bfrom\b", r"\buntil\b", r"\bto\b"),
    ),
    "seller": Concept(
        strong=(r"\bseller\b", r"\bsupplier\b", r"\bvendor\b", r"\bissuer\b", r"\bbiller\b", r"\bmerchant\b",
                r"\bverkaeufer\w*", r"\blieferant\w*", r"\brechnungssteller\w*", r"\baussteller\b",
                r"\bfournisseur\b", r"\bvendeur\b", r"\bemetteur\b", r"\bleverancier\b", r"\bproveedor\b",
                r"\bfornitore\b", r"\bsprzedawca\b", r"\b(?:company|business|party) (?:that|who) issued\b"),
        weak=(r"\bfrom\b", r"\bissued\b", r"\bcompany\b"), kinds=("text",),
    ),
    "buyer": Concept(
        strong=(r"\bbuyer\b", r"\bcustomer\b", r"\bclient\b", r"\bbill(?:ed)? to\b", r"\bpurchaser\b",
                r"\baddressed to\b", r"\brecipient\b", r"\bkaeufer\b", r"\bkunde\b", r"\brechnungsempfaenger\b",
                r"\bempfaenger\b", r"\bacheteur\b", r"\bdestinataire\b", r"\bfacture a\b", r"\bfactur\w* a\b",
                r"\bklant\b", r"\bcomprador\b", r"\bcliente\b", r"\bnabywca\b", r"\bsold to\b", r"\bdebtor\b"),
        weak=(r"\bto\b",), kinds=("text",),
    ),
    "currency": Concept(
        strong=(r"\bcurrency\b", r"\bccy\b", r"\bcur\b", r"\bwaehrung\b", r"\bdevise\b", r"\bvaluta\b",
                r"\bmoneda\b", r"\bdivisa\b", r"\bwaluta\b", r"\biso 4217\b"),
        weak=(), kinds=("currency", "text"),
    ),
    "total": Concept(
        strong=(_INCL, r"\btotal\b", r"\bgrand\b", r"\bgross\b", r"\bbrutto\w*", r"\bgesamt\w*", r"\bendbetrag\b",
                r"\brechnungsbetrag\b", r"\btotaal\b", r"\btotale\b", r"\bimporte total\b", r"\brazem\b",
                r"\bsumme\b", r"\bmontant total\b", r"\bamount to pay\b", r"\bto pay\b"),
        weak=(r"\bamount\b", r"\bmontant\b", r"\bbetrag\b", r"\bbedrag\b", r"\bimporte\b", r"\bkwota\b",
              r"\bsum\b", r"\bsomme\b", r"\bprice\b", r"\bpreis\b", r"\bprix\b", r"\bvalue\b"),
        kinds=("amount", "number"),
        negative=(r"\bship\w*", r"\bversand\w*", r"\bunit\b", r"\bline\b", r"\bitem\b", r"\bdiscount\w*",
                  r"\brabatt\w*", r"\bdeposit\b", r"\bpaid\b", r"\bprepaid\b",
                  r"\bper\b", r"\bquantity\b", r"\bqty\b", *_STATEMENT_LINES),
        vetoes=(_EXCL,),  # "Summe ohne Umsatzsteuer" is no total
    ),
    # Facts of a company's reports (:mod:`._statements`): statement lines, the registrant, the period, headcount.
    "revenue": Concept(
        strong=(r"\brevenues?\b", r"\bnet sales\b", r"\bturnover\b", r"\bumsatz\w*", r"\bumsatzerloese\b",
                r"\bchiffre d affaires\b", r"\bomzet\b", r"\bingresos\b", r"\bricavi\b", r"\bprzychody\b"),
        weak=(r"\bsales\b",), kinds=("amount", "number"),
        negative=(r"\bper share\b", r"\beps\b", r"\bgrowth\b", r"\bmargin\b", r"\bcost\b"),
    ),
    "net_income": Concept(
        strong=(r"\bnet (?:income|earnings|profit|loss|result)\b", r"\bjahresueberschuss\b", r"\bnettogewinn\b",
                r"\bresultat net\b", r"\bbenefice net\b", r"\bnettowinst\b", r"\bbeneficio neto\b",
                r"\butile netto\b", r"\bzysk netto\b", r"\bbottom line\b"),
        weak=(r"\bearnings\b", r"\bprofit\b", r"\bincome\b"), kinds=("amount", "number"),
        negative=(r"\bper share\b", r"\beps\b", r"\bmargin\b", r"\bgross\b", r"\boperating\b", r"\bbefore\b"),
    ),
    "total_assets": Concept(
        strong=(r"\btotal assets\b", r"\bbilanzsumme\b", r"\btotal (?:de l )?actif\b", r"\btotale attivo\b",
                r"\btotaal activa\b", r"\bactivo total\b", r"\bsuma aktywow\b"),
        weak=(r"\bassets\b",), kinds=("amount", "number"),
        negative=(r"\bcurrent\b", r"\bnet assets\b", r"\bintangible\b", r"\bfixed\b"),
    ),
    "eps_diluted": Concept(
        strong=(r"\bdiluted\b", r"\bverwaessert\w*", r"\bdilue\b"),
        weak=(r"\beps\b", r"\bper share\b", r"\bearnings per\b", r"\bje aktie\b", r"\bpar action\b"),
        kinds=("amount", "number"), negative=(r"\bbasic\b", r"\bshares\b", r"\bweighted\b"),
    ),
    "eps_basic": Concept(
        strong=(r"\bbasic\b.*\b(?:eps|per share|earnings)\b", r"\b(?:eps|per share)\b.*\bbasic\b",
                r"\bunverwaessert\w*"),
        weak=(), kinds=("amount", "number"), negative=(r"\bdiluted\b", r"\bshares\b", r"\bweighted\b"),
    ),
    "employees": Concept(
        strong=(r"\bemployees?\b", r"\bheadcount\b", r"\bworkforce\b", r"\bstaff\b", r"\bmitarbeiter\w*",
                r"\bbeschaeftigte\w*", r"\bsalaries\b", r"\beffectif\w*", r"\bwerknemers\b", r"\bempleados\b",
                r"\bdipendenti\b", r"\bpracownik\w*", r"\bfull time equivalents?\b", r"\bfte\b"),
        weak=(r"\bpeople\b",), kinds=("number",), negative=(r"\bcost\w*", r"\bexpense\w*", r"\bcompensation\b"),
    ),
    "registrant": Concept(
        strong=(r"\bregistrant\b", r"\bcompany name\b", r"\bname of the (?:company|registrant|issuer|reporting)\b",
                r"\bentity name\b", r"\breporting (?:company|entity)\b", r"\bfiler\b", r"\bunternehmen\w*",
                r"\braison sociale\b"),
        weak=(r"\bcompany\b", r"\bcorporation\b", r"\bissuer\b"), kinds=("text",),
    ),
    "period_end": Concept(
        strong=(r"\bperiod (?:end|ended|ending)\b", r"\bfiscal (?:year|period|quarter)\b", r"\byear end\w*",
                r"\bbalance sheet date\b", r"\breporting (?:date|period)\b", r"\bstichtag\b",
                r"\bend of the (?:period|year|quarter)\b", r"\bquarter end\w*", r"\bgeschaeftsjahr\w*",
                r"\bexercice\b", r"\bcloture\b"),
        weak=(r"\bperiod\b",), kinds=("date", "datetime"),
    ),
}
_STRONG_NAME, _WEAK_NAME, _STRONG_DESC, _WEAK_DESC = 3.0, 1.0, 2.0, 0.5

# One short gloss per role for the embedding fallback: what a reader would call the field.
GLOSSES: dict[str, str] = {
    "total": "total amount of the invoice including tax, grand total to pay",
    "untaxed": "net amount before tax, subtotal excluding VAT",
    "tax": "tax amount, VAT charged on the invoice",
    "due_payable": "amount due for payment, balance outstanding",
    "doc_number": "invoice number, document reference number",
    "issue_date": "invoice date, date of issue",
    "due_date": "payment due date, pay by date",
    "vat_id": "VAT identification number, tax registration id of a company",
    "iban": "IBAN bank account number for payment",
    "customer_number": "customer number, client account id",
    "seller": "name of the seller, supplier or vendor company issuing the invoice",
    "buyer": "name of the buyer, customer billed, recipient of the invoice",
    "currency": "currency code of the amounts",
    "revenue": "total revenue or net sales of a company for the period",
    "net_income": "net income or net earnings of a company for the period, profit after tax",
    "total_assets": "total assets on the balance sheet",
    "eps_diluted": "diluted earnings per share",
    "eps_basic": "basic earnings per share",
    "employees": "number of employees of the company, headcount",
    "registrant": "legal name of the company filing the report",
    "period_end": "end date of the fiscal period the report covers",
}

# What the model is told a field means when the schema gives no description: the role's meaning written as the
# built-in schema's descriptions are (what it is, and what it is mistaken for), so "doc_id" is asked as
# "invoice_number" is. Roles not listed fall back to their gloss.
ROLE_DESCRIPTIONS: dict[str, str] = {
    "doc_number": "the document's own number (not an order, customer, account, register or tax number)",
    "issue_date": "the date the document was issued",
    "total": "the total amount to pay, taxes included",
    "untaxed": "the total before taxes",
    "tax": "the total tax amount",
    "currency": "the currency the amounts are in",
    "due_payable": "the amount still to pay (after prepayments and credits)",
    "due_date": "the date payment is due",
}


def fold(text: str) -> str:
    """Case-folded, umlauts transliterated (``ä`` -> ``ae``), accents dropped, punctuation to spaces."""
    t = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^\w#\u2295\u2296]+", " ", t.casefold())).strip()


def name_words(name: str) -> str:
    """``grandTotal_EUR2`` -> ``grand total eur 2``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", name)
    return fold(spaced.replace("_", " ").replace("-", " "))


def _prepared(text: str) -> str:
    return fold(prepare_label(text)) if text else ""


@dataclass(frozen=True)
class FieldMeaning:
    """One schema field as the extractor reads it."""

    name: str
    kind: str
    description: str
    words: str  # the name split and folded
    role: str | None
    how: str  # why the role was taken ("name word 'brutto'", "description ...", "embedding 0.71")
    required: bool = False

    @property
    def text(self) -> str:
        """The field as words: name and description, for label matching and the embedding fallback."""
        return f"{self.words}: {self.description}" if self.description else self.words


class TextEmbedder(Protocol):
    """The role of the bundled embedder here: unit vectors for texts."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _score(concept: Concept, name: str, desc: str) -> tuple[float, str]:
    score, why = 0.0, ""
    for text, strong_w, weak_w, where in ((name, _STRONG_NAME, _WEAK_NAME, "name"),
                                          (desc, _STRONG_DESC, _WEAK_DESC, "description")):
        if not text or any(re.search(v, text) for v in concept.vetoes):
            continue
        m = next((m for p in concept.strong if (m := re.search(p, text))), None)
        if m is not None:
            score += strong_w
            why = why or f"{where} says {m.group(0).strip()!r}"
            continue
        m = next((m for p in concept.weak if (m := re.search(p, text))), None)
        if m is not None:
            score += weak_w
            why = why or f"{where} says {m.group(0).strip()!r}"
    return score, why


def lexicon_role(name: str, kind: str, description: str = "") -> tuple[str | None, str]:
    """The role the concept lexicon gives a field, and why (None when no concept word fits its kind)."""
    words, desc = _prepared(name_words(name)), _prepared(description)
    best: tuple[float, str, str] | None = None
    for role, concept in _CONCEPTS.items():
        if kind not in concept.kinds or any(re.search(p, words) for p in concept.negative):
            continue
        score, why = _score(concept, words, desc)
        if score >= 1.0 and (best is None or score > best[0]):  # a weak description word alone is no role
            best = (score, role, why)
    if best is None:
        return None, ""
    return best[1], best[2]


class RoleGlosses:
    """The embedding fallback: the role whose gloss is clearly the closest to the field's words."""

    def __init__(self, embedder: TextEmbedder, *, min_similarity: float = 0.55, margin: float = 0.05) -> None:
        self.embedder = embedder
        self.min_similarity, self.margin = min_similarity, margin
        self._roles = list(GLOSSES)
        self._vectors: np.ndarray | None = None

    def closest(self, text: str, kind: str) -> tuple[str | None, float]:
        if self._vectors is None:
            self._vectors = np.asarray(self.embedder.embed([GLOSSES[r] for r in self._roles]), dtype=np.float32)
        vec = np.asarray(self.embedder.embed([text]), dtype=np.float32)[0]
        sims = self._vectors @ vec
        order = [i for i in np.argsort(-sims) if kind in _CONCEPTS[self._roles[i]].kinds]
        if not order:
            return None, 0.0
        best = order[0]
        runner = float(sims[order[1]]) if len(order) > 1 else -1.0
        if float(sims[best]) >= self.min_similarity and float(sims[best]) - runner >= self.margin:
            return self._roles[best], float(sims[best])
        return None, float(sims[best])


TYPED_KINDS = frozenset({"amount", "number", "date", "datetime", "text", "currency"})


def understand(name: str, kind: str, description: str = "", *, required: bool = False,
               glosses: RoleGlosses | None = None, role: str | None = None) -> FieldMeaning:
    """The meaning of one field (``glosses``: the embedding fallback, asked only when the lexicon has none;
    ``role``: the schema's own word for it, ``"none"`` for no role)."""
    words = name_words(name)
    if role is not None:
        known = None if role == "none" else role
        if known is not None and known not in _CONCEPTS:
            raise ConfigurationError(f"field {name!r}: unknown ragline_role {role!r} "
                                     f"(one of {', '.join(sorted(_CONCEPTS))} or none)", stage="extract")
        return FieldMeaning(name=name, kind=kind, description=description, words=words, role=known,
                            how="named by the schema (ragline_role)", required=required)
    role, how = lexicon_role(name, kind, description)
    if role is None and glosses is not None and kind in TYPED_KINDS:
        text = f"{words}: {description}" if description else words
        role, sim = glosses.closest(text, kind)
        how = f"closest role by the embedding model ({sim:.2f})" if role else ""
    return FieldMeaning(name=name, kind=kind, description=description, words=words, role=role, how=how,
                        required=required)


__all__ = ["GLOSSES", "FieldMeaning", "RoleGlosses", "TextEmbedder", "fold", "lexicon_role", "name_words",
           "understand"]
