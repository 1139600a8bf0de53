"""The ``ray`` ingest engine: parse, chunk and embed on Ray Data; the index is still written by one writer.

The writer (:class:`pipeline.ingest._ingestor.Ingestor`) decides which files need parsing (it reads and hashes each
one: unchanged files never reach Ray). Those files become a dataset of ``(position, key, hash)`` rows and go
through two ``map_batches`` stages of actors: parse + chunk (one file per batch, on CPUs), then embed
(several documents per batch; on a GPU each when the cluster has GPUs). Results stream back to the
writer in input order (``preserve_order``), which commits them as the local engine's would be: the same
chunk ids, the same vectors within float tolerance, the same index contents.

Ray workers read the files by path, so on a multi-node cluster the paths must be visible to every node
(a shared file system). The embed stage embeds every chunk of a changed file, also the texts the index's
embedding cache holds (the cache lives in the writer's SQLite); the writer keeps cached vectors as they are.
The embed actors build their own model from the writer's :class:`~pipeline.embedding.EmbedderSpec`
(``embedder.spec``, recorded by ``make_embedder``); an embedder without one must pickle.

``ray`` is imported only here, and this module only when the engine is chosen.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from pipeline.embedding import EmbedderSpec
from pipeline.exceptions import ConfigurationError, MissingDependencyError, RaglineError
from pipeline.ingest._prepare import ParseJob, PreparedDocument, portable_parts, prepare_job

if TYPE_CHECKING:
    import numpy as np

    from pipeline.protocols import DocumentChunker, DocumentParser, Embedder

log = logging.getLogger(__name__)


class RayEngine:
    """Engine: :class:`ParseJob` s -> :class:`PreparedDocument` s with vectors, on Ray Data, in input order.

    ``address``: an existing cluster (``ray://host:10001`` or ``host:6379``); None joins the Ray this
    process already started, or starts a local one with ``num_cpus`` (None: all cores).
    ``docs_per_embed_batch``: documents whose chunks are embedded in one call.
    The embed actors build their own embedder: from ``embedder.spec`` when ``make_embedder`` built it, else
    a copy of ``embedder`` itself, which must then pickle (:func:`portable_embedder`).
    """

    def __init__(
        self,
        parser: DocumentParser,
        chunker: DocumentChunker,
        embedder: Embedder,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        docs_per_embed_batch: int = 4,
    ) -> None:
        self.parser = parser
        self.chunker = chunker
        self.embedder = embedder
        self.address = address
        self.num_cpus = num_cpus
        self.docs_per_embed_batch = docs_per_embed_batch
        portable_embedder(embedder)  # an embedder the workers cannot get fails here, before Ray starts
        self._started_ray = False
        self.embed_group_texts = 0  # the documents come embedded: the writer has nothing to group

    def prepare(self, items: Iterable[PreparedDocument | ParseJob]) -> Iterator[PreparedDocument]:
        # The files' bytes are dropped at once: Ray workers read them, the driver keeps one at a time.
        settled = [i.model_copy(update={"data": None}) if isinstance(i, ParseJob) else i for i in items]
        jobs = [(n, item) for n, item in enumerate(settled) if isinstance(item, ParseJob)]
        results = self._stream(jobs) if jobs else iter(())
        for n, item in enumerate(settled):
            if isinstance(item, PreparedDocument):
                yield item
                continue
            position, prepared = next(results)
            if position != n:  # preserve_order guarantees this; a mismatch would commit the wrong file
                raise RaglineError(f"ray engine returned file {position} for file {n}", stage="ingest")
            yield prepared

    def _stream(self, jobs: list[tuple[int, ParseJob]]) -> Iterator[tuple[int, PreparedDocument]]:
        self._connect()
        import ray
        import ray.data

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.print_on_execution_start = False
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        # On GPUs: one embed actor per GPU. On CPUs: a quarter of the cores embed, two threads per actor
        # (ONNX Runtime would otherwise start a thread per core in every actor), the rest parse.
        embed_actors = gpus or max(1, cpus // 4)
        embed_cpus = 0 if gpus else (2 if cpus >= 4 else 1)
        parse_actors = max(1, cpus - embed_actors * embed_cpus)
        log.info("ray ingest: %d parse actor(s), %d embed actor(s) on %s", parse_actors, embed_actors,
                 f"{gpus} GPU(s)" if gpus else "CPU")
        rows = [{"position": n, "job": pickle.dumps(job)} for n, job in jobs]
        source = ray.data.from_items(rows, override_num_blocks=min(len(rows), 8 * parse_actors))
        parsed = source.map_batches(
            _ParseChunkActor, fn_constructor_args=(portable_parts(self.parser, self.chunker),),
            batch_size=1, compute=ray.data.ActorPoolStrategy(size=parse_actors), num_cpus=1,
        )
        shipped = portable_embedder(self.embedder, gpu=bool(gpus), threads=embed_cpus or None)
        embedded = parsed.map_batches(
            _EmbedActor, fn_constructor_args=(pickle.dumps(shipped),), batch_size=self.docs_per_embed_batch,
            compute=ray.data.ActorPoolStrategy(size=embed_actors), num_gpus=1 if gpus else 0, num_cpus=embed_cpus,
        )
        ray_data_log = logging.getLogger("ray.data")
        level = ray_data_log.level
        ray_data_log.setLevel(logging.ERROR)  # its plan and progress lines would interleave with the bar
        try:
            for row in embedded.iter_rows():
                yield int(row["position"]), pickle.loads(row["prepared"])
        except RaglineError:
            raise
        except Exception as exc:  # a Ray task or actor failure: one error, with the cause in it
            raise RaglineError(f"ray engine failed: {type(exc).__name__}: {exc}", stage="ingest") from exc
        finally:
            ray_data_log.setLevel(level)

    def _connect(self) -> None:
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError(
                "the ray ingest engine needs Ray Data: pip install 'ragline[ray]'", stage="ingest"
            ) from exc
        if ray.is_initialized():
            return
        # Local use: no token authentication (a fresh local Ray otherwise warns about it on every start).
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
        except Exception as exc:
            where = self.address or "a local Ray"
            raise ConfigurationError(f"cannot start or join {where}: {exc}", stage="ingest") from exc
        self._started_ray = True

    def close(self) -> None:
        """Shut down the Ray this engine started (a cluster it joined, or a Ray the caller runs, stay up)."""
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the two stages, run inside Ray actors ---------------------------------------------------------
class _ParseChunkActor:
    def __init__(self, parts: bytes) -> None:
        self.parser, self.chunker = pickle.loads(parts)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        prepared = [
            pickle.dumps(prepare_job(pickle.loads(job), self.parser, self.chunker)) for job in batch["job"]
        ]
        return {"position": np.asarray(batch["position"]), "prepared": np.array(prepared, dtype=object)}


class _EmbedActor:
    def __init__(self, shipped: bytes) -> None:
        self.embedder = build_embedder(pickle.loads(shipped))
        self.embedder.warm_up()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        docs: list[PreparedDocument] = [pickle.loads(p) for p in batch["prepared"]]
        texts: dict[str, str] = {}
        for doc in docs:
            texts.update((h, c.embedding_text) for h, c in zip(doc.text_hashes, doc.chunks))
        vectors = self._embed(list(texts.values()))
        by_hash = {h: vectors[i].tobytes() for i, h in enumerate(texts)}
        out = [
            pickle.dumps(doc.model_copy(update={"vectors": {h: by_hash[h] for h in doc.text_hashes}}))
            for doc in docs
        ]
        return {"position": np.asarray(batch["position"]), "prepared": np.array(out, dtype=object)}

    def _embed(self, texts: list[str]) -> np.ndarray:
        from pipeline.index import embed_checked

        return embed_checked(self.embedder, texts)


# -- the writer's embedder, rebuilt on Ray workers ---------------------------------------------------
def portable_embedder(
    embedder: Embedder, *, gpu: bool = False, threads: int | None = None
) -> EmbedderSpec | Embedder:
    """What the embed actors build their embedder from: the :class:`~pipeline.embedding.EmbedderSpec` of an
    embedder ``make_embedder`` built (``embedder.spec``; see :meth:`EmbedderSpec.for_worker` for ``gpu``
    and ``threads``), else the embedder itself when it pickles (a light test double, a user's own object).
    Anything else is a :class:`ConfigurationError`: the workers have no way to build it."""
    spec = getattr(embedder, "spec", None)
    if isinstance(spec, EmbedderSpec):
        return spec.for_worker(embedder, gpu=gpu, threads=threads)
    try:
        pickle.dumps(embedder)
    except Exception as exc:  # a loaded model, a lock, a local function: whatever pickle refuses
        raise ConfigurationError(
            f"the ray engine cannot ship the embedder {type(embedder).__name__} to its workers: it has no "
            f"spec and does not pickle ({type(exc).__name__}: {exc}); build it with "
            "pipeline.embedding.make_embedder, or make it picklable",
            stage="embed",
        ) from exc
    return embedder


def build_embedder(shipped: EmbedderSpec | Embedder) -> Embedder:
    """A worker's embedder from what :func:`portable_embedder` shipped."""
    return shipped.build() if isinstance(shipped, EmbedderSpec) else shipped


__all__ = ["RayEngine", "build_embedder", "portable_embedder"]
