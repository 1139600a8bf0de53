"""Reproducible quality figures on the real documents in ../shared/eval, as a library.

Each module evaluates one stage and returns a pydantic report, with a text formatter next to it:
:mod:`.parse_eval`, :mod:`.retrieval_eval`, :mod:`.extract_eval` and :mod:`.qa_eval` (the LLM ones
take a :class:`~pipeline.llm.LLMSettings`, or an open client). :mod:`.corpus` says where the sets
are, :mod:`.docugami` loads the 10-Q questions. ``ragline eval KIND`` (``pipeline/cli/_eval_*.py``)
is a thin command line over them; nothing here imports the CLI.
"""
