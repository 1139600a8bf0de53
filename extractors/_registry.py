"""The one table of backends: format -> how its bytes are recognised, which class reads them, which options it
takes, which file names a folder walk picks up. Built-in formats are listed here; a third-party package adds
one through the ``ragline.extractors`` entry-point group, whose entry point is a :class:`BackendSpec` (or a
function returning one), with no edit to this package::

    # pyproject.toml of the plug-in
    [project.entry-points."ragline.extractors"]
    rtf = "ragline_rtf:BACKEND"          # BACKEND = BackendSpec(format="rtf", factory=..., detect=..., include=("*.rtf",))
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.protocols import Extractor

ENTRY_POINT_GROUP = "ragline.extractors"
log = logging.getLogger(__name__)

OptionsOf = Callable[[Any], Mapping[str, Any]]
"""``options(parse_options) -> keyword arguments`` of the backend's constructor (``ParseOptions`` in, duck-typed:
this package sits below the parsing stage)."""


@dataclass(frozen=True)
class BackendSpec:
    """A format's entry in the table.

    ``factory``: the backend class (or ``"module:Class"``, imported on first use, so heavy libraries load only
    when a file of the format is read). ``detect(head, source)``: True when content is of this format (plug-ins
    are asked before the built-in detection; built-ins are detected by :func:`extractors.detect_format`).
    ``options``: the constructor's keywords from the parse options. ``include``: default globs of a folder walk.
    """

    format: str
    factory: str | Callable[..., Extractor]
    include: tuple[str, ...] = ()
    options: OptionsOf = field(default=lambda parse_options: {})
    detect: Callable[[bytes, str], bool] | None = None

    def build(self, parse_options: Any) -> Extractor:
        factory = self.factory
        if isinstance(factory, str):
            module, _, name = factory.partition(":")
            factory = getattr(importlib.import_module(module), name)
        opts = self.options(parse_options) if parse_options is not None else {}
        return factory(**opts)


def _pdf_options(o: Any) -> dict[str, Any]:
    pdf = o.pdf
    return {"password": pdf.password, "max_pages": pdf.max_pages, "tables": pdf.tables.value,
            "keep_furniture": pdf.keep_furniture, "ocr": o.ocr.mode.value, "ocr_dpi": o.ocr.dpi}


def _office(kind: str) -> Callable[..., Extractor]:
    def build(**limits: Any) -> Extractor:
        from extractors._office_zip import ZipLimits

        cls = getattr(importlib.import_module(f"extractors.{kind}"), f"{kind.capitalize()}Extractor")
        return cls(limits=ZipLimits(**{k: v for k, v in limits.items() if v is not None}))
    return build


def _text(markdown: bool) -> Callable[..., Extractor]:
    def build() -> Extractor:
        from extractors.text import TextExtractor

        return TextExtractor(markdown=markdown)
    return build


BUILTIN: tuple[BackendSpec, ...] = (
    BackendSpec("pdf", "extractors.pdf:PdfExtractor", ("*.pdf",), _pdf_options),
    BackendSpec("html", "extractors.html:HtmlExtractor", ("*.html", "*.htm", "*.xhtml", "*.html.gz", "*.htm.gz"),
                lambda o: {"main_content_only": o.html.main_content_only}),
    BackendSpec("markdown", _text(True), ("*.md", "*.markdown")),
    BackendSpec("text", _text(False), ("*.txt",)),
    BackendSpec("docx", _office("docx"), ("*.docx", "*.docm"), lambda o: o.office.model_dump()),
    BackendSpec("pptx", _office("pptx"), ("*.pptx", "*.pptm"), lambda o: o.office.model_dump()),
    BackendSpec("xlsx", _office("xlsx"), ("*.xlsx", "*.xlsm"), lambda o: o.office.model_dump()),
    BackendSpec("image", "extractors.image:ImageExtractor", ("*.png", "*.jpg", "*.jpeg", "*.tif", "*.tiff"),
                lambda o: {"ocr": o.ocr.mode.value}),
)


@functools.lru_cache(maxsize=1)
def backends() -> dict[str, BackendSpec]:
    """Every backend by format: the built-ins, then the plug-ins of the entry-point group (a plug-in cannot
    replace a built-in format; one that fails to load is logged and left out)."""
    table = {spec.format: spec for spec in BUILTIN}
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
            spec = spec() if callable(spec) and not isinstance(spec, BackendSpec) else spec
        except Exception as exc:  # a broken plug-in must not take parsing down
            log.warning("extractor plug-in %s could not be loaded: %s: %s", ep.name, type(exc).__name__, exc)
            continue
        if not isinstance(spec, BackendSpec):
            log.warning("extractor plug-in %s is not a BackendSpec (got %s)", ep.name, type(spec).__name__)
        elif spec.format in table:
            log.warning("extractor plug-in %s: format %r is already registered", ep.name, spec.format)
        else:
            table[spec.format] = spec
    return table


def refresh_backends() -> None:
    """Read the entry points again (after installing a plug-in in a running process)."""
    backends.cache_clear()


def plugin_format(head: bytes, source: str) -> str | None:
    """The format a plug-in claims for this content, if any."""
    for spec in backends().values():
        if spec.detect is not None and spec.detect(head, source):
            return spec.format
    return None


def default_include() -> tuple[str, ...]:
    """The file-name globs a folder walk picks up: every registered format's."""
    return tuple(g for spec in backends().values() for g in spec.include)


def get_extractor(fmt: str, parse_options: Any = None) -> Extractor:
    """Backend instance for ``fmt``, configured from ``parse_options`` (None: the backend's defaults)."""
    spec = backends().get(fmt)
    if spec is None:
        raise ValueError(f"no extractor for format {fmt!r}")
    return spec.build(parse_options)


__all__ = ["ENTRY_POINT_GROUP", "BackendSpec", "backends", "default_include", "get_extractor", "plugin_format",
           "refresh_backends"]
