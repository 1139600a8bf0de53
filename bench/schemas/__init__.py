"""User-style extraction schemas for the schema-invariance benchmark (``bench/eval_schemas.py``).

Written on 2026-12-06 before any rule was tuned to them, and not to be edited to suit the pipeline:
each differs from the built-in ``pipeline.extraction:Invoice`` in field names, descriptions (or none),
the language of the descriptions, optional vs required, and extra fields. ``CONCEPTS`` maps each
schema's fields to what the evaluator compares them with (the invoice2data JSON or the e-invoice XML).
"""
