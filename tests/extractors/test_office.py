"""DOCX, PPTX and XLSX: structure from documents the project generates, detection by content, and the checks
on hostile archives (zip bombs, XML entities)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import make_samples
import pytest

import pipeline
from extractors import detect_format
from pipeline import exceptions as ex
from pipeline.document import ElementKind, ParseStatus
from pipeline.parsing import OfficeOptions, ParseOptions, parse_many

FACTS = make_samples.OFFICE_FACTS


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("office")
    files = {"a.docx": make_samples.docx_bytes(), "a.pptx": make_samples.pptx_bytes(), "a.xlsx": make_samples.xlsx_bytes()}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return {name: out / name for name in files}


def test_docx_structure(office: dict[str, Path]) -> None:
    doc = pipeline.parse(office["a.docx"])
    assert doc.format == "docx" and doc.pages == 1 and not doc.is_partial
    kinds = [(e.kind, e.level) for e in doc.elements if e.is_heading]
    assert kinds == [(ElementKind.TITLE, 1), (ElementKind.HEADING, 1), (ElementKind.HEADING, 2)]
    para = next(e for e in doc.elements if e.kind is ElementKind.PARAGRAPH)
    assert str(FACTS["paragraph"]) in para.text
    assert f"[{FACTS['link_text']}]({FACTS['link_url']})" in para.text  # links kept as Markdown links
    items = [(e.text, e.metadata["marker"]) for e in doc.elements if e.kind is ElementKind.LIST_ITEM]
    assert items == [(FACTS["bullets"][0], "-"), (FACTS["bullets"][1], "-"),
                     (FACTS["numbered"][0], "1."), (FACTS["numbered"][1], "2.")]
    assert items and all(e.heading_path[-1] == "Recommendations" for e in doc.elements if e.kind is ElementKind.LIST_ITEM)
    table = next(e.table for e in doc.elements if e.kind is ElementKind.TABLE)
    assert table is not None and table.rows[:3] == FACTS["table"]
    assert table.rows[3] == ["Total", None, "224,300"]  # the merged cell once


def test_pptx_slides_titles_tables_notes(office: dict[str, Path]) -> None:
    doc = pipeline.parse(office["a.pptx"])
    assert doc.format == "pptx" and doc.pages == 3
    headings = [(e.text, e.page) for e in doc.elements if e.is_heading]
    assert headings == [(FACTS["slide_titles"][0], 1), (FACTS["slide_titles"][1], 2)]
    bullets = [(e.text, e.metadata["list_level"]) for e in doc.elements if e.kind is ElementKind.LIST_ITEM]
    assert bullets == [(FACTS["bullets"][0], 0), (FACTS["bullets"][1], 1)]
    table = next(e for e in doc.elements if e.kind is ElementKind.TABLE)
    assert table.page == 2 and table.table is not None and table.table.rows == FACTS["table"]
    notes = [e for e in doc.elements if e.metadata.get("role") == "notes"]
    assert [n.text for n in notes] == [FACTS["notes"]] and notes[0].page == 2
    # Slide 3 is a picture and nothing else: reported, never dropped in silence.
    assert doc.unreadable_pages == [3] and doc.issues[0].reason == "needs_ocr" and doc.issues[0].page == 3


def test_xlsx_sheets_as_tables(office: dict[str, Path]) -> None:
    doc = pipeline.parse(office["a.xlsx"])
    assert doc.format == "xlsx" and doc.pages == 3
    assert [(e.text, e.page) for e in doc.elements if e.is_heading] == [("Sites", 1), ("Tariffs", 2)]
    sites = next(e.table for e in doc.elements if e.kind is ElementKind.TABLE)
    assert sites is not None
    assert sites.rows == [["Site", "Type", "kWh", "Metered since"],  # the empty column is dropped
                          ["Dock 4", "cold-chain", "182400", "2025-03-01"],
                          ["Hall B", "ambient", "41900.5", "2025-04-15"]]
    assert doc.metadata["empty_sheets"] == ["Empty"]


def test_office_detected_by_content_not_name(office: dict[str, Path], tmp_path: Path) -> None:
    for name, fmt in (("a.docx", "docx"), ("a.pptx", "pptx"), ("a.xlsx", "xlsx")):
        data = office[name].read_bytes()
        assert detect_format(data, "renamed.bin") == fmt
        mislabeled = tmp_path / f"{fmt}.pdf"
        mislabeled.write_bytes(data)
        assert pipeline.parse(mislabeled).format == fmt


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_plain_zip_and_damaged_zip_are_typed_errors(tmp_path: Path) -> None:
    plain = tmp_path / "x.docx"
    plain.write_bytes(_zip({"readme.txt": b"hello"}))
    with pytest.raises(ex.UnsupportedFormatError, match="not a DOCX, PPTX or XLSX"):
        pipeline.parse(plain)
    damaged = tmp_path / "y.docx"
    damaged.write_bytes(make_samples.docx_bytes()[:3000])
    with pytest.raises(ex.CorruptDocumentError) as info:
        pipeline.parse(damaged)
    assert info.value.source == str(damaged)


def test_zip_bomb_is_refused_by_expanded_size(tmp_path: Path) -> None:
    # 200 MB of zeros compress to ~200 KB: refused from the central directory, before anything is inflated.
    members = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>", "word/bomb.bin": bytes(200 * 1024 * 1024)}
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(_zip(members))
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(ex.DocumentTooLargeError, match="expands to .* over the limit") as info:
        pipeline.parse(bomb, ParseOptions(office=OfficeOptions(max_uncompressed_bytes=50 * 1024 * 1024)))
    assert info.value.source == str(bomb) and info.value.stage == "parse"


def test_zip_with_too_many_members_is_refused(tmp_path: Path) -> None:
    members = {f"xl/m{i}.xml": b"<x/>" for i in range(300)}
    many = tmp_path / "many.xlsx"
    many.write_bytes(_zip(members))
    with pytest.raises(ex.DocumentTooLargeError, match="300 members"):
        pipeline.parse(many, ParseOptions(office=OfficeOptions(max_members=100)))


def _with_entity(fmt: str, secret: Path) -> bytes:
    """The sample with an external entity pointing at ``secret`` declared in the part holding "Dock 4"."""
    data = make_samples.docx_bytes() if fmt == "docx" else make_samples.xlsx_bytes()
    part = "word/document.xml" if fmt == "docx" else "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    xml = members[part]
    at = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    doctype = f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
    members[part] = xml[:at] + doctype + xml[at:].replace(b"Dock 4", b"&xxe;", 1)
    return _zip(members)


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_external_entities_are_refused(fmt: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = tmp_path / f"xxe.{fmt}"
    hostile.write_bytes(_with_entity(fmt, secret))
    with pytest.raises(ex.CorruptDocumentError, match="declares a DTD or entities") as info:
        pipeline.parse(hostile)
    assert "TOP-SECRET" not in str(info.value)
    # A batch records it and goes on.
    [result] = list(parse_many([hostile]))
    assert result.status is ParseStatus.FAILURE and result.errors[0].reason == "corrupt"


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_parsers_never_resolve_entities_even_past_the_check(fmt: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: with the DTD check switched off, the XML parsers still never read the entity's file."""
    import re

    from extractors import _office_zip

    monkeypatch.setattr(_office_zip, "_DTD_RE", re.compile(rb"(?!x)x"))
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = tmp_path / f"xxe.{fmt}"
    hostile.write_bytes(_with_entity(fmt, secret))
    try:
        doc = pipeline.parse(hostile)
    except ex.InputError as exc:  # openpyxl's defusedxml refuses the DTD outright
        assert "TOP-SECRET" not in str(exc)
    else:
        assert "TOP-SECRET" not in doc.text


def test_legacy_office_named(tmp_path: Path) -> None:
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(ex.UnsupportedFormatError, match="legacy MS Office"):
        pipeline.parse(legacy)
