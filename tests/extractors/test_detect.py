from __future__ import annotations

import pytest

from extractors import detect_format
from pipeline.exceptions import EmptyDocumentError, UnsupportedFormatError


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"%PDF-1.7\n...", "x.txt", "pdf"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html></html>", "x.pdf", "html"),
        (b"  <html><body><p>x</p></body></html>", "page", "html"),
        (b"# Title\n\ntext", "notes.md", "markdown"),
        (b"just some text\nmore", "notes", "text"),
        ("<html><body>é</body></html>".encode("utf-16"), "u16.html", "html"),
    ],
)
def test_detect_by_content(data: bytes, name: str, fmt: str) -> None:
    assert detect_format(data, name) == fmt


def test_binary_rejected() -> None:
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        detect_format(b"GIF89a\x00\x00" + bytes(range(256)), "x.pdf")
    with pytest.raises(UnsupportedFormatError, match="legacy MS Office"):
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)), "x.docx")


@pytest.mark.parametrize(
    "head", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0\x00\x10JFIF", b"II*\x00\x08\x00", b"MM\x00*\x00\x00"]
)
def test_images_detected_for_ocr(head: bytes) -> None:
    assert detect_format(head + bytes(range(256)), "scan.pdf") == "image"


def test_empty_rejected() -> None:
    with pytest.raises(EmptyDocumentError):
        detect_format(b"  \n ", "x.txt")
