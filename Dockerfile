# ragline serve in one image: the pipeline, the bundled embedding model and the embedded LLM (docs/serve.md).
#   docker build -t ragline .
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/data:/data" -e RAGLINE_SERVER_API_KEY=change-me ragline
# The image is built from the project's own files; /data holds the index, the jobs and the model cache.

FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY scripts ./scripts
COPY pipeline ./pipeline
COPY extractors ./extractors
# llama.cpp for any x86-64 CPU with AVX2 (an image runs on machines other than the one that built it);
# scripts/setup.sh uses a given CMAKE_ARGS as is.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF"
# torch from PyTorch's CPU index: the plain PyPI wheel is the multi-GB CUDA build.
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && CMAKE_ARGS="$LLAMA_CMAKE_ARGS" bash scripts/setup.sh cpu,local,serve \
 && rm -rf /root/.cache

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data ragline \
 && mkdir -p /data && chown ragline /data
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH RAGLINE_CACHE_DIR=/data/cache HOME=/data
USER ragline
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
# In a container the server must listen on all interfaces; publish the port on 127.0.0.1 or set an API key.
ENTRYPOINT ["ragline", "serve", "--host", "0.0.0.0", "--port", "8080", "--state-dir", "/data/state"]
CMD ["--index", "/data/index"]
