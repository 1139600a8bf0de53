"""scripts/llama_build_flags.py: the llama.cpp build options setup.sh derives from /proc/cpuinfo texts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_build_flags.py"

# First "flags" lines of real CPUs (trimmed to the instruction-set flags that matter, plus some noise).
EPYC_AVX512 = ("fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt avx f16c bmi1 avx2 bmi2 avx512f avx512dq "
               "avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vbmi2 avx512_vnni")
# Sapphire Rapids in a VM: lists AMX, which the kernel does not let processes use there.
SAPPHIRE_AMX = EPYC_AVX512 + " avx_vnni amx_bf16 amx_tile amx_int8"
HASWELL = "fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt avx f16c bmi1 avx2 bmi2"
SANDY_BRIDGE = "fpu sse sse2 ssse3 cx16 sse4_1 sse4_2 popcnt avx"
# Knights Landing: AVX-512F and CD, but no BW/VL/DQ, which ggml's GGML_AVX512 compiles for.
KNIGHTS_LANDING = HASWELL + " avx512f avx512cd avx512pf avx512er avx512vbmi"


@pytest.fixture(scope="module")
def flags() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llama_build_flags", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpuinfo(flag_line: str, cpus: int = 2) -> str:
    block = "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n"
    return "".join(block.format(n=n, flags=flag_line) for n in range(cpus))


def test_avx512_cpu_gets_every_avx512_option_and_a_key_naming_them(flags: ModuleType) -> None:
    info = flags.describe(cpuinfo(EPYC_AVX512), "x86_64")
    assert info["key"] == "x86_64-sse42.avx.f16c.fma.bmi2.avx2.avx512.vbmi.vnni.bf16"
    args = info["cmake_args"]
    for on in ("GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI",
               "GGML_AVX512_BF16"):
        assert f"-D{on}=ON" in args
    assert "-DGGML_NATIVE=OFF" in args and "-DLLAVA_BUILD=OFF" in args and "-DGGML_AVX_VNNI=OFF" in args
    assert {"avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512vbmi", "avx512_bf16"} <= set(
        info["requires_cpu_flags"])


def test_amx_is_never_built_even_when_listed(flags: ModuleType) -> None:
    info = flags.describe(cpuinfo(SAPPHIRE_AMX), "x86_64")
    assert all(f"-DGGML_AMX_{x}=OFF" in info["cmake_args"] for x in ("TILE", "INT8", "BF16"))
    assert "-DGGML_NATIVE=ON" not in info["cmake_args"] and "native" not in info["key"]
    assert not any(f.startswith("amx") for f in info["requires_cpu_flags"])
    assert "-DGGML_AVX_VNNI=ON" in info["cmake_args"]  # listed, usable, and it builds on AVX2


def test_avx2_cpu_gets_no_avx512(flags: ModuleType) -> None:
    info = flags.describe(cpuinfo(HASWELL), "x86_64")
    assert info["key"] == "x86_64-sse42.avx.f16c.fma.bmi2.avx2"
    assert "-DGGML_AVX2=ON" in info["cmake_args"] and "-DGGML_AVX512=OFF" in info["cmake_args"]
    assert not any("avx512" in f for f in info["requires_cpu_flags"])


def test_cpu_without_avx2_turns_ggml_defaults_off_explicitly(flags: ModuleType) -> None:
    """With GGML_NATIVE=OFF ggml would default AVX2/FMA/F16C to ON, which this CPU cannot run."""
    info = flags.describe(cpuinfo(SANDY_BRIDGE), "x86_64")
    for off in ("GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2", "GGML_AVX512"):
        assert f"-D{off}=OFF" in info["cmake_args"]
    assert info["key"] == "x86_64-sse42.avx" and info["requires_cpu_flags"] == ["avx", "sse4_2"]


def test_partial_avx512_is_not_enough_and_its_extensions_follow(flags: ModuleType) -> None:
    options = flags.ggml_options(flags.cpu_flags(cpuinfo(KNIGHTS_LANDING)), "x86_64")
    assert options["GGML_AVX2"] and not options["GGML_AVX512"]
    assert not options["GGML_AVX512_VBMI"]  # listed, but it builds on GGML_AVX512


def test_other_architectures_and_unknown_cpus_get_the_portable_base(flags: ModuleType) -> None:
    arm = flags.describe("processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n", "aarch64")
    assert arm["key"] == "aarch64-generic" and arm["options"] == {} and arm["requires_cpu_flags"] == []
    assert arm["cmake_args"] == "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
    nothing = flags.describe("", "x86_64")
    assert nothing["key"] == "x86_64-generic" and "-DGGML_AVX=OFF" in nothing["cmake_args"]


def test_same_cpu_same_key_different_cpu_different_key(flags: ModuleType) -> None:
    """The wheel directory is keyed by this: a build is reused only where it fits."""
    keys = {flags.describe(cpuinfo(f, cpus=n), "x86_64")["key"] for f in (EPYC_AVX512,) for n in (1, 2, 64)}
    assert len(keys) == 1
    others = {flags.describe(cpuinfo(f), "x86_64")["key"] for f in (EPYC_AVX512, SAPPHIRE_AMX, HASWELL, SANDY_BRIDGE)}
    assert len(others) == 4


def test_a_users_own_cmake_args_get_their_own_key(flags: ModuleType) -> None:
    args = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_AVX512=OFF"
    info = flags.describe(cpuinfo(EPYC_AVX512), "x86_64", args)
    assert info["key"].startswith("x86_64-custom-") and info["cmake_args"] == args
    assert info["requires_cpu_flags"] == ["avx2", "fma"]
    assert flags.describe("", "x86_64", args + " ")["key"] == info["key"]
    assert flags.describe("", "x86_64", args.replace("AVX512=OFF", "AVX512=ON"))["key"] != info["key"]


def test_command_line(flags: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(cpuinfo(HASWELL))
    assert flags.main(["key", "--cpuinfo", str(info), "--machine", "x86_64"]) == 0
    assert capsys.readouterr().out.strip() == "x86_64-sse42.avx.f16c.fma.bmi2.avx2"
    flags.main(["cmake", "--cpuinfo", str(info), "--machine", "x86_64"])
    assert capsys.readouterr().out.strip().startswith("-DGGML_NATIVE=OFF -DGGML_SSE42=ON")
    flags.main(["record", "--cpuinfo", str(info), "--machine", "x86_64", "--version", "0.3.36",
                "--wheel", "/w/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"])
    record = json.loads(capsys.readouterr().out)
    assert record["version"] == "0.3.36" and record["wheel"] == "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    assert record["key"] == "x86_64-sse42.avx.f16c.fma.bmi2.avx2" and "avx2" in record["requires_cpu_flags"]
    flags.main(["key", "--cpuinfo", str(tmp_path / "missing"), "--machine", "x86_64"])  # not Linux: base only
    assert capsys.readouterr().out.strip() == "x86_64-generic"
