"""What the machine offers the embedders: a CUDA device, the CPU's instruction sets, the runtimes installed.

Detected once per process (:func:`detect_devices`), or given: ``make_embedder(..., devices=Devices(...))``,
``Pipeline(..., devices=...)``; tests and a service pinned to the CPU pass their own instead of patching probes.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path

BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "asimddp"})


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo is absent, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):  # x86 / ARM
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def gpu_present() -> bool:
    """Cheap hint that a CUDA device exists, so CPU-only machines never pay for ``import torch``."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def torch_cuda_available() -> bool:
    if not gpu_present() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


@dataclass(frozen=True)
class Devices:
    """The hardware and runtimes ``make_embedder("auto")`` chooses among."""

    cuda: bool = False
    cpu_flags: frozenset[str] = field(default_factory=frozenset)
    onnxruntime: bool = True
    openvino: bool = False
    torch: bool = True

    @property
    def bf16(self) -> bool:
        """bf16 dot-product instructions (AVX512-BF16 or AMX-BF16): OpenVINO runs bf16 ~2x fp32 there."""
        return bool(self.cpu_flags & BF16_FLAGS)

    @property
    def int8_dot(self) -> bool:
        """int8 dot-product instructions (VNNI on x86, dotprod on ARM): dynamic int8 is fast there."""
        return bool(self.cpu_flags & INT8_DOT_FLAGS)


@functools.lru_cache(maxsize=1)
def detect_devices() -> Devices:
    """This machine's :class:`Devices` (probed once per process)."""
    return Devices(
        cuda=torch_cuda_available(), cpu_flags=cpu_flags(),
        onnxruntime=importlib.util.find_spec("onnxruntime") is not None,
        openvino=importlib.util.find_spec("openvino") is not None,
        torch=importlib.util.find_spec("torch") is not None,
    )


__all__ = ["Devices", "cpu_flags", "detect_devices", "gpu_present", "torch_cuda_available"]
