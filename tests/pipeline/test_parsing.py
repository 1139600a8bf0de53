"""Bad input gets a clear, typed error with the source; batches record it and go on."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline import exceptions as ex
from pipeline.document import ParseStatus
from pipeline.parsing import ParseOptions, expand_paths, parse_many


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("empty.pdf", ex.EmptyDocumentError, "empty"),
        ("random.pdf", ex.UnsupportedFormatError, "unsupported_format"),
        ("encrypted.pdf", ex.EncryptedDocumentError, "encrypted"),
        ("scanned.pdf", ex.NeedsOCRError, "needs_ocr"),  # with OCR off (tests/extractors/test_ocr.py reads it)
    ],
)
def test_bad_pdf_inputs(bad_inputs: dict[str, Path], name: str, error: type[ex.RaglineError], reason: str) -> None:
    with pytest.raises(error) as info:
        pipeline.parse(bad_inputs[name], ParseOptions(ocr={"mode": "never"}))
    assert info.value.source == str(bad_inputs[name])
    assert info.value.reason == reason
    assert isinstance(info.value, ex.InputError) and isinstance(info.value, ex.RaglineError)


def test_truncated_pdf_is_recovered_or_reported(bad_inputs: dict[str, Path]) -> None:
    # MuPDF repairs many truncated files; either we get the pages it could read or a typed error.
    try:
        doc = pipeline.parse(bad_inputs["truncated.pdf"])
    except ex.InputError as exc:
        assert exc.reason in ("corrupt", "empty")
    else:
        assert doc.pages >= 1 and doc.text


def test_encrypted_with_password(bad_inputs: dict[str, Path]) -> None:
    doc = pipeline.parse(bad_inputs["encrypted.pdf"], ParseOptions(password="secret"))
    assert "Northgate" in doc.text
    with pytest.raises(ex.EncryptedDocumentError, match="wrong password"):
        pipeline.parse(bad_inputs["encrypted.pdf"], ParseOptions(password="nope"))


def test_password_not_in_repr_or_fingerprint() -> None:
    opts = ParseOptions(password="hunter2")
    assert "hunter2" not in repr(opts)
    assert opts.fingerprint() == ParseOptions().fingerprint()


def test_mislabeled_pdf_parsed_as_html(bad_inputs: dict[str, Path]) -> None:
    doc = pipeline.parse(bad_inputs["mislabeled.pdf"])
    assert doc.format == "html"


def test_huge_page_count(bad_inputs: dict[str, Path]) -> None:
    with pytest.raises(ex.DocumentTooLargeError, match="2000 pages"):
        pipeline.parse(bad_inputs["big.pdf"], ParseOptions(max_pages=500))
    # Every page holds only a page number: furniture, so by default there is no content at all ...
    with pytest.raises(ex.EmptyDocumentError):
        pipeline.parse(bad_inputs["big.pdf"])
    # ... and with furniture kept all 2,000 pages are read.
    doc = pipeline.parse(bad_inputs["big.pdf"], ParseOptions(keep_furniture=True))
    assert doc.pages == 2000 and doc.elements[-1].page == 2000


def test_missing_file() -> None:
    with pytest.raises(ex.FileAccessError):
        pipeline.parse("/nonexistent/file.pdf")


def test_parse_many_records_and_continues(bad_inputs: dict[str, Path], sample_docs: Path) -> None:
    paths = [bad_inputs["empty.pdf"], sample_docs / "readme.txt", bad_inputs["random.pdf"], sample_docs / "notes.md"]
    results = list(parse_many(paths))
    assert [r.status for r in results] == [ParseStatus.FAILURE, ParseStatus.SUCCESS, ParseStatus.FAILURE, ParseStatus.SUCCESS]
    assert results[0].errors[0].reason == "empty" and results[0].errors[0].source == str(paths[0])
    assert results[1].document is not None


def test_content_hash_is_document_id(sample_docs: Path) -> None:
    import hashlib

    p = sample_docs / "readme.txt"
    assert pipeline.parse(p).id == hashlib.sha256(p.read_bytes()).hexdigest()


def test_expand_paths_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for name in ("a/x.pdf", "a/y.html", "a/z.gif", "b.md", "drafts.txt"):
        (tmp_path / name).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in expand_paths([tmp_path])]
    assert sorted(found) == ["a/x.pdf", "a/y.html", "b.md", "drafts.txt"]  # z.gif is not a document type
    only_pdf = expand_paths([tmp_path], include=["*.pdf"])
    assert [p.name for p in only_pdf] == ["x.pdf"]
    assert "drafts.txt" not in [p.name for p in expand_paths([tmp_path], exclude=["drafts*"])]


def test_bad_tables_value_through_the_api_is_a_configuration_error_naming_the_choices(sample_docs: Path) -> None:
    from pipeline.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="'auto', 'pymupdf', 'always' or 'never'"):
        pipeline.parse(sample_docs / "report_two_column.pdf", ParseOptions(tables="bogus"))
    with pytest.raises(ConfigurationError, match="tabels"):
        ParseOptions(tabels="never")  # a misspelt option is not ignored in silence


def test_parse_options_group_by_format_and_keep_their_fingerprint() -> None:
    from pipeline.parsing import HtmlOptions, PdfOptions, TableMode

    flat = ParseOptions(tables="never", main_content_only=False, password="secret")
    grouped = ParseOptions(pdf=PdfOptions(tables=TableMode.NEVER, password="secret"), html=HtmlOptions(main_content_only=False))
    assert flat == grouped
    assert flat.pdf.tables is TableMode.NEVER and not flat.html.main_content_only
    # The fingerprint of the default options, as indexes built before the grouping stored it.
    assert ParseOptions().fingerprint() == ParseOptions(password="x").fingerprint() == "303fb48eaaa9e111"
    assert "secret" not in repr(flat)


def test_scan_paths_names_every_skipped_file_and_why(tmp_path: Path) -> None:
    from pipeline.parsing import scan_paths

    for name in ("a.docx", "b.pptx", "c.xlsx", "d.png", "e.pdf", "old.doc", "data.csv", "drafts/x.pdf", ".git/config"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    scan = scan_paths([tmp_path], exclude=["drafts/*"])
    assert sorted(p.name for p in scan.files) == ["a.docx", "b.pptx", "c.xlsx", "d.png", "e.pdf"]
    reasons = {Path(s.path).relative_to(tmp_path).as_posix(): s.reason for s in scan.skipped}
    assert set(reasons) == {"old.doc", "data.csv", "drafts/x.pdf", ".git"}
    assert reasons["old.doc"].startswith("unsupported file type (.doc)")
    assert reasons["drafts/x.pdf"] == "excluded by --exclude 'drafts/*'"
    assert reasons[".git"] == "hidden folder (not walked)"
    only = scan_paths([tmp_path], include=["*.pdf"])
    assert {Path(s.path).name: s.reason for s in only.skipped}["a.docx"] == "not matched by --include '*.pdf'"


def test_repaired_pdf_is_partial_with_structured_issues(bad_inputs: dict[str, Path]) -> None:
    [result] = list(parse_many([bad_inputs["repaired.pdf"]]))
    assert result.status is ParseStatus.PARTIAL
    doc = result.document
    assert doc is not None and doc.repaired and doc.is_partial and doc.unreadable_pages == [3]
    assert "Northgate" in doc.text  # what MuPDF recovered is kept
    assert [(e.reason, e.page) for e in result.errors] == [("repaired", None), ("repaired", 3)]
    assert all(e.source == str(bad_inputs["repaired.pdf"]) and e.stage == "parse" for e in result.errors)


def test_new_option_groups_keep_the_default_fingerprint() -> None:
    from pipeline.parsing import OcrOptions, OfficeOptions

    assert ParseOptions(ocr=OcrOptions(), office=OfficeOptions()).fingerprint() == "303fb48eaaa9e111"
    assert ParseOptions(ocr=OcrOptions(mode="always")).fingerprint() != "303fb48eaaa9e111"
    with pytest.raises(ex.ConfigurationError, match="OcrOptions: mode: .*'auto', 'always' or 'never'"):
        ParseOptions(ocr={"mode": "sometimes"})
