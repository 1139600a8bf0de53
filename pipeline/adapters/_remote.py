"""A ``ragline serve`` index as a retriever's ``index``: ``search`` over httpx, and ``asearch`` that is really
asynchronous (httpx's async client), so LangChain's ``ainvoke`` and LlamaIndex's ``aretrieve`` wait on the
network without a thread.

    from pipeline.adapters import RemoteIndex
    retriever = RaglineRetriever(index=RemoteIndex("http://127.0.0.1:8080", "filings", api_key="..."))
    docs = await retriever.ainvoke("net sales")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.protocols import SearchHit


class RemoteIndex:
    """Index ``name`` of the ragline server at ``url`` (``api_key``: its bearer token, if it has one)."""

    def __init__(self, url: str, name: str, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _body(self, query: str, k: int, mode: str, source_glob: str | None, pages: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.name, "query": query, "k": k, "mode": mode}
        if source_glob:
            body["source"] = source_glob
        if pages:
            body["pages"] = sorted(pages) if not isinstance(pages, int) else [pages]
        return body

    @staticmethod
    def _hits(response: Any) -> list[SearchHit]:
        from pipeline.exceptions import RaglineError
        from pipeline.protocols import SearchHit

        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except Exception:  # noqa: BLE001 - not ragline's JSON: the status says it
                message = response.text[:200]
            raise RaglineError(f"ragline server answered {response.status_code}: {message}", stage="search")
        return [SearchHit.model_validate({k: v for k, v in h.items() if k != "rank"})
                for h in response.json()["hits"]]

    def search(self, query: str, k: int = 5, mode: str = "hybrid", source_glob: str | None = None,
               pages: Any = None) -> list[SearchHit]:
        import httpx

        r = httpx.post(f"{self.url}/v1/search", json=self._body(query, k, mode, source_glob, pages),
                       headers=self._headers, timeout=self.timeout)
        return self._hits(r)

    async def asearch(self, query: str, k: int = 5, mode: str = "hybrid", source_glob: str | None = None,
                      pages: Any = None) -> list[SearchHit]:
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers) as client:
            r = await client.post(f"{self.url}/v1/search", json=self._body(query, k, mode, source_glob, pages))
        return self._hits(r)

    def __repr__(self) -> str:
        return f"RemoteIndex({self.url!r}, {self.name!r})"


async def asearch(index: Any, query: str, **kwargs: Any) -> list[SearchHit]:
    """``index.asearch`` when it has one (a remote index); else its ``search`` on a worker thread, so the
    event loop is never blocked by local ranking."""
    import asyncio

    if hasattr(index, "asearch"):
        return list(await index.asearch(query, **kwargs))
    return list(await asyncio.to_thread(index.search, query, **kwargs))


__all__ = ["RemoteIndex", "asearch"]
