"""Shared structural post-processing for every backend."""

from __future__ import annotations

from pipeline.document import HEADING_KINDS, Element


def assign_heading_paths(elements: list[Element]) -> None:
    """Set ``heading_path`` on every element from the headings before it (a stack by level)."""
    stack: list[tuple[int, str]] = []
    for el in elements:
        if el.kind in HEADING_KINDS:
            level = el.level or 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            el.heading_path = [t for _, t in stack]
            stack.append((level, el.text))
        else:
            el.heading_path = [t for _, t in stack]
