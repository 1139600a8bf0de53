"""The package version, in a module of its own: pyproject.toml reads it statically, and the CLI and the
index read it without importing the package's ``__init__``.

Bump it when extractor output changes: an index re-parses files parsed by another version."""

__version__ = "0.3.0"
