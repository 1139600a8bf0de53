"""Label words per field role, in the languages of the evaluation invoices, and how well a label fits.

A *role* is what a field means on a business document, recognised from the field's name (and
description): ``total`` (``amount``, ``total``, ``grand_total``...), ``untaxed`` (``amount_untaxed``,
``net_amount``, ``subtotal``), ``tax``, ``doc_number`` (``invoice_number``), ``issue_date``
(``date``, ``invoice_date``), ``due_date``. Each role has strong and weak label patterns and
patterns that rule a label out ("Subtotal" is not the total, "Customer no." not the invoice
number). Fields with no known role are labelled by the words of their name and description.

Phrases whose meaning flips a tax word are rewritten first: "Exclusief BTW", "ohne MwSt.", "HT",
"before tax" say *untaxed*; "incl. VAT", "TTC", "brutto" say *taxes included*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extraction._context import word_stems
from pipeline.values import normalize_text

_EXCL = "\u2296excl"  # markers that cannot occur in document text
_INCL = "\u2295incl"
_TAXW = r"(?:tax(?:es)?|vat|btw|mwst\.?|ust\.?|tva|iva|gst|(?:umsatz|mehrwert)?steuer[n]?|taxe?s?)"
_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:excl\w*|exkl\w*|ohne|hors|without|before|vor|zonder|sans|bez|netto\s+ohne)\.?\s*(?:de\s+)?"
                + _TAXW + r"\b"), f" {_EXCL} "),
    (re.compile(r"\b(?:incl\w*|inkl\w*|einschl\w*|including|inclusive\s+of|with|avec|inclus|met|z)\.?\s*"
                + r"(?:de\s+|der\s+|la\s+)?" + _TAXW + r"\b"), f" {_INCL} "),
    (re.compile(r"\b(?:toutes\s+)?" + _TAXW + r"\s+(?:incl\w*|inbegriffen|compris\w*)"), f" {_INCL} "),
    (re.compile(r"\b(?:ht|h\.t\.|untaxed|pre-tax)\b"), f" {_EXCL} "),
    (re.compile(r"\b(?:ttc|t\.t\.c\.|brutto\w*)\b"), f" {_INCL} "),
]

_TAX = r"\b(?:tax(?:es)?|vat|btw|mwst|ust|tva|iva|gst|steuer\w*|umsatzsteuer|podatek|kwota vat)\b"


@dataclass(frozen=True)
class Role:
    """Label patterns of one field role; each pattern is searched in the rewritten, case-folded label."""

    name: str
    strong: tuple[str, ...]
    weak: tuple[str, ...]
    negative: tuple[str, ...]
    kinds: tuple[str, ...]  # the value kinds the role takes ("amount", "date", "id")
    needs_strong: bool = False  # a weak label alone ("Amount") does not make a candidate


ROLES: dict[str, Role] = {
    "total": Role(
        "total",
        strong=(r"\btotal\b", r"\btotaal\b", r"\bgesamt\w*", r"\bsumme\b", r"\brazem\b", r"\bnależność",
                r"\bogółem", r"\bamount due\b", r"\bbalance due\b", r"\b(?:to|à) pay(?:er)?\b", r"\bte betalen\b",
                r"\bzu zahlen\b", r"\bendbetrag\b", r"\brechnungsbetrag\b", r"\btotale\b", r"\bpayable\b",
                r"\bsomme à payer\b", r"\bzahlbetrag\b", r"\bzahlbar\w*", r"\bamount payable\b", _INCL),
        weak=(r"\bamount\b", r"\bmontant\b", r"\bbedrag\b", r"\bbetrag\b", r"\bdue\b", r"\bbalance\b",
              r"\bsum\b", r"\bsomme\b", r"\bimporte\b", r"\bkwota\b", r"\bwartość\b", r"\bcharges?\b"),
        negative=(r"\bsub", r"zwischen", r"sous-total", r"\bnet(?:to)?\b", _EXCL, _TAX, r"\bunit\b", r"\bper\b",
                  r"\bprice\b", r"\bprix\b", r"\bprijs\b", r"\bpreis\b", r"\bcena\b", r"\brate\b", r"\bqty\b",
                  r"\bquantity\b", r"\bdiscount\b", r"\bkorting\b", r"\brabat\w*", r"\bremise\b", r"\bcredits?\b",
                  r"\bpaid\b", r"\breceived\b", r"\bdeposit\b", r"\bshipping\b", r"\bif any\b", r"%",
                  r"\bdisc\w*", r"\bp\.u\b", r"\bzuschl\w*", r"\babschl\w*", r"\banzahlung\w*", r"\bprepaid\b",
                  r"\ballowances?\b", r"\bskonto\b", r"\bposition\w*"),
        kinds=("amount",),
    ),
    "untaxed": Role(
        "untaxed",
        strong=(_EXCL, r"\bsub-?tota\w*", r"\bzwischensumme\b", r"\bsous-total\b", r"\bnet(?:to)?\b",
                r"\bnettobetrag\b", r"\btaxable\b", r"\bgrondslag\b", r"\bbase imponible\b", r"\bimponibile\b",
                r"\bbasis\b"),
        weak=(r"\btotal\b", r"\btotaal\b", r"\bamount\b", r"\bmontant\b", r"\bbedrag\b", r"\bbetrag\b",
              r"\bwartość\b"),
        negative=(_INCL, _TAX, r"\bgrand\b", r"\bdue\b", r"\bpay(?:er|able)?\b", r"\bunit\b", r"\bper\b",
                  r"\bprice\b", r"\bprix\b", r"\bprijs\b", r"\bpreis\b", r"\bcena\b", r"\brate\b", r"\bqty\b",
                  r"\bdisc\w*", r"\bkorting\b", r"\brabat\w*", r"%", r"\bbalance\b", r"\bcredits?\b",
                  r"\bp\.u\b"),
        kinds=("amount",), needs_strong=True,
    ),
    "tax": Role(
        "tax",
        strong=(_TAX, r"\bbtw bedrag\b", r"\bvat amount\b"),
        weak=(r"\bamount\b", r"\bmontant\b", r"\bbedrag\b", r"\bbetrag\b", r"\bkwota\b"),
        negative=(_EXCL, _INCL, r"\bgrondslag\b", r"\bbase\b", r"\bbasis\b", r"\bnet(?:to)?\b", r"\bon\b",
                  r"\bof\b", r"\bsur\b", r"\bauf\b", r"\bvan\b", r"\bnumber\b", r"\bno\b", r"\bnr\b", r"\bnummer\b",
                  r"\bid\b", r"\btin\b", r"\breg\w*", r"\bunit\b", r"\bprice\b", r"\bprijs\b", r"\bgrand\b",
                  r"\bpay(?:er|able)?\b", r"\bsub", r"\bdue\b", r"\bdisc\w*", r"\bp\.u\b"),
        kinds=("amount",), needs_strong=True,
    ),
    "doc_number": Role(
        "doc_number",
        strong=(r"\b(?:invoice|bill|receipt)\s*(?:no|number|num|nr|n°|nº|#|id)\b", r"\b(?:invoice|bill)\s*#",
                r"\brechnungs?[- ]?(?:nr|nummer|no)\b", r"\brechnungsnr", r"\bfactuur\s*(?:nummer|nr|no)\b",
                r"\bfactuurnummer\b", r"\bfacture\s*(?:n|no|nr|num\w*)\b", r"\bn° de facture\b",
                r"\bnuméro de facture\b", r"\bfaktur[ay]\s*(?:nr|no|numer)\b", r"\bnumer faktury\b",
                r"\bfa(?:ttur|ctur)a\s*(?:n|no|nr|num\w*)\b",
                r"^(?:invoice|rechnung|facture|factuur|faktura|factura|fattura|bill|receipt)$"),
        weak=(r"\binvoice\b", r"\w*rechnung\b", r"\bgutschrift\b", r"\bcredit note\b", r"\bfacture\b", r"\bfactuur\b", r"\bfaktura\b", r"\bfactura\b",
              r"\bfattura\b", r"\bno\b", r"\bnr\b", r"\bnumber\b", r"#", r"\bref\w*", r"\bbooking\b",
              r"\bdocument\b", r"\bid\b", r"\breceipt\b"),
        negative=(r"\border\w*", r"\bcustomer\b", r"\bklant\w*", r"\bkunde\w*", r"\bclient\b", r"\bid\.client\b",
                  r"\baccount\b", r"\bkonto\b", r"\bpo\b", r"\bpurchase\b", _TAX, r"\btin\b", r"\biban\b",
                  r"\bbic\b", r"\bswift\b", r"\bphone\b", r"\btel\w*", r"\bfax\b", r"\bcontract\b", r"\bsiret\b",
                  r"\bkvk\b", r"\bcin\b", r"\bifsc\b", r"\bserial\b", r"\bserienummer\b", r"\bartikel\b",
                  r"\barticle\b", r"\bfsn\b", r"\bwid\b", r"\bdossier\b", r"\bligne\b", r"\bpage\b", r"\bseite\b",
                  r"\bnip\b", r"\bgstin\b", r"\bdok\w*", r"\bdelivery\b", r"\blieferschein\b", r"\bpack\w*",
                  r"\bmember\b", r"\bpostcode\b", r"\bzip\b", r"\bcode\b", r"\bdienst\b",
                  # company register numbers printed in a letterhead or footer (DE HRB, FR RCS/SIREN, UK CRN)
                  r"\bhr[ab]\b", r"\bhandelsregister\w*", r"\bregistergericht\b", r"\bamtsgericht\b",
                  r"\bregistration\b", r"\bregistered\b", r"\bsiren\b", r"\brcs\b", r"\bcrn\b"),
        kinds=("id",),
    ),
    "issue_date": Role(
        "issue_date",
        strong=(r"\b(?:invoice|bill)\s*date\b", r"\bdate of (?:the )?invoice\b", r"\brechnungsdatum\b",
                r"\bfactuurdatum\b", r"\bfactuur\s*datum\b", r"\bdate de factur\w*", r"\bdata wystawienia\b",
                r"\bdata faktury\b", r"\bfecha de factura\b", r"\bdata fattura\b", r"\bissue date\b",
                r"\bdate issued\b", r"\b(?:invoice|facture|factuur|\w*rechnung|faktura)\b.*\b(?:du|vom|van|dated|of)$",
                r"\b(?:nr|no|n°|nº|number|nummer)\b.*\b(?:du|vom|van|dated|of)$"),
        weak=(r"\bdate\b", r"\bdatum\b", r"\bdata\b", r"\bfecha\b", r"\bdated\b", r"\bissued\b"),
        negative=(r"\bdue\b", r"\bfällig\w*", r"\béchéance\b", r"\blimite\b", r"\bverval\w*", r"\bpayable\b",
                  r"\bdelivery\b", r"\bliefer\w*", r"\blivraison\b", r"\blevering\b", r"\border\w*", r"\bbestell\w*",
                  r"\bcommande\b", r"\bcheck\b", r"\bperiod\w*", r"\buntil\b", r"\bbis\b", r"\bà partir\b",
                  r"\bservice\b", r"\bshipping\b", r"\bexpir\w*", r"\bvalid\w*", r"\bpayment\b", r"\bpaid\b",
                  r"\bprélèvement\b", r"\bop\b", r"\bz dnia\b", r"\bterms\b", r"\bzahlungsziel\b"),
        kinds=("date",),
    ),
    "due_date": Role(
        "due_date",
        strong=(r"\bdue\b", r"\bfällig\w*", r"\béchéance\b", r"\blimite\b", r"\bverval\w*", r"\bzahlungsziel\b",
                r"\bpayable\b", r"\btermin płatności\b"),
        weak=(r"\bdate\b", r"\bdatum\b", r"\bpayment\b"),
        negative=(r"\binvoice date\b", r"\brechnungsdatum\b", r"\bfactuurdatum\b", r"\bdelivery\b", r"\border\w*"),
        kinds=("date",),
    ),
    # What is still to pay: a separate line on invoices with prepayments, discounts or instalments
    # ("Zahlbetrag", "Fälliger Betrag", "Amount due"); on most invoices the total itself.
    "due_payable": Role(
        "due_payable",
        strong=(r"\bzahlbetrag\b", r"\bfällige?r? betrag\b", r"\bamount due\b", r"\bbalance due\b", r"\bdue\b",
                r"\bpayable\b", r"\bzu zahlen\b", r"\b(?:reste )?à payer\b", r"\bte betalen\b", r"\boutstanding\b",
                r"\bdo zapłaty\b", r"\bnoch offen\b", r"\bbalance\b", r"\bzahlbar\w*"),
        weak=(r"\btotal\b", r"\bgesamt\w*", r"\bsumme\b", r"\bamount\b", r"\bbetrag\b", r"\bmontant\b", _INCL),
        negative=(r"\bsub", r"zwischen", r"\bnet(?:to)?\b", _EXCL, _TAX, r"\bunit\b", r"\bprice\b", r"\bpreis\b",
                  r"\bqty\b", r"\bdiscount\b", r"\brabat\w*", r"\bpaid\b", r"\bbezahlt\b", r"\bprepaid\b",
                  r"\banzahlung\w*", r"\bvorauszahlung\w*", r"\bdeposit\b", r"%", r"\bskonto\b"),
        kinds=("amount",),
    ),
    "vat_id": Role(
        "vat_id",
        strong=(r"\bust\.?-?\s*id\w*", r"\bvat\s*(?:id|no|nr|number|reg\w*)\b", r"\btva\s*intra\w*",
                r"\bbtw[- ]?(?:nr|nummer|id)\b", r"\bgstin\b", r"\btax\s*(?:id|no|number|registration)\b",
                r"\bsteuer[- ]?(?:nr|nummer|id)\b", r"\bnip\b", r"\bnif\b", r"\bcif\b", r"\bpartita iva\b"),
        weak=(r"\bvat\b", r"\bust\b", r"\bmwst\b", r"\btva\b", r"\bbtw\b", r"\biva\b", r"\bid\b"),
        negative=(r"\biban\b", r"\bbic\b", r"\bphone\b", r"\btel\w*", r"\bfax\b", r"\binvoice\b", r"\brechnung\w*"),
        kinds=("id",),
    ),
    "iban": Role(
        "iban", strong=(r"\biban\b",), weak=(r"\baccount\b", r"\bkonto\b", r"\bcompte\b", r"\brekening\b", r"\bbank\b"),
        negative=(r"\bbic\b", r"\bswift\b", r"\bblz\b"), kinds=("id",),
    ),
    "customer_number": Role(
        "customer_number",
        strong=(r"\b(?:customer|client|kunden?|klant|account|debitor)\w*\s*(?:no|nr|number|num\w*|id|#|code)\b",
                r"\bkundennummer\b", r"\bkundennr\b", r"\bn° client\b", r"\bklantnummer\b"),
        weak=(r"\bcustomer\b", r"\bclient\b", r"\bkunde\w*", r"\bklant\w*"),
        negative=(r"\binvoice\b", r"\brechnung\w*", r"\bfacture\b", r"\border\w*", _TAX, r"\biban\b"),
        kinds=("id",),
    ),
}


def page_role(role: str | None, kind: str) -> Role | None:
    """The label patterns of a field's role (:mod:`._meaning`), when the role takes values of ``kind``."""
    found = ROLES.get(role) if role else None
    want = {"amount": "amount", "number": "amount", "date": "date", "datetime": "date", "text": "id"}.get(kind)
    return found if found is not None and want in found.kinds else None


def prepare_label(text: str) -> str:
    """A label case-folded, with phrases that flip tax words rewritten to markers."""
    t = " " + normalize_text(text) + " "
    for rx, repl in _REWRITES:
        t = rx.sub(repl, t)
    return re.sub(r"\s+", " ", t).strip()


@dataclass(frozen=True)
class LabelFit:
    positive: float  # 1 strong, 0.5 weak, 0 none
    negative: float  # 1 when a pattern rules the label out


def fit(role: Role, prepared: str) -> LabelFit:
    """How well a prepared label fits ``role``."""
    if not prepared:
        return LabelFit(0.0, 0.0)
    pos = 1.0 if any(re.search(p, prepared) for p in role.strong) else (
        0.5 if any(re.search(p, prepared) for p in role.weak) else 0.0)
    neg = 1.0 if any(re.search(p, prepared) for p in role.negative) else 0.0
    return LabelFit(pos, neg)


def generic_fit(field: str, description: str, prepared: str) -> LabelFit:
    """A field without a known role: the label shares word stems with the field's name (or description)."""
    stems = word_stems(prepared)
    if stems & word_stems(field.replace("_", " ")):
        return LabelFit(1.0, 0.0)
    if stems & (word_stems(description) - {"the", "of", "a", "an", "and", "or", "in", "to", "is"}):
        return LabelFit(0.5, 0.0)
    return LabelFit(0.0, 0.0)


__all__ = ["ROLES", "LabelFit", "Role", "fit", "generic_fit", "page_role", "prepare_label"]
