"""The llama.cpp build options for the CPU that installs ragline, read from ``/proc/cpuinfo``.

``scripts/setup.sh`` runs this with the system Python (standard library only, before the venv exists):

    python3 scripts/llama_build_flags.py key       # x86_64-sse42.avx.f16c.fma.bmi2.avx2.avx512.vbmi.vnni.bf16
    python3 scripts/llama_build_flags.py cmake     # -DGGML_NATIVE=OFF -DGGML_AVX2=ON ... -DLLAVA_BUILD=OFF
    python3 scripts/llama_build_flags.py json      # both, and the CPU flags the build needs
    python3 scripts/llama_build_flags.py record --version 0.3.36 --wheel FILE   # json + what was installed

With ``--cmake-args ARGS`` (a user's own ``$CMAKE_ARGS``) the key is ``custom-<hash of ARGS>`` and the CPU
flags are read from the ``-DGGML_*=ON`` options in ARGS.

Why not ``-DGGML_NATIVE=ON`` (``-march=native``): on the VMs ragline was measured on, the CPU lists AMX,
which the kernel does not let processes use, and a native build died with "Illegal instruction". Each
instruction set is switched on here only when the CPU lists every flag it needs, AMX never. Every option
is passed explicitly, ON or OFF: with ``GGML_NATIVE=OFF`` ggml otherwise turns AVX2/FMA/F16C/BMI2 on by
default, which a CPU without them cannot run.

Why a key: pip caches a wheel built from an sdist by the sdist alone, not by ``CMAKE_ARGS``, so it would
hand a wheel built for one CPU to another. setup.sh keeps each build in a directory named by this key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
from pathlib import Path

# (ggml option, the /proc/cpuinfo flags it compiles for, the option it builds on), in dependency order.
X86_OPTIONS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("GGML_SSE42", ("sse4_2",), None),
    ("GGML_AVX", ("avx",), None),
    ("GGML_F16C", ("f16c",), "GGML_AVX"),
    ("GGML_FMA", ("fma",), "GGML_AVX"),
    ("GGML_BMI2", ("bmi2",), None),
    ("GGML_AVX2", ("avx2",), "GGML_AVX"),
    ("GGML_AVX_VNNI", ("avx_vnni",), "GGML_AVX2"),
    # ggml's GGML_AVX512 compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw.
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"), "GGML_AVX2"),
    ("GGML_AVX512_VBMI", ("avx512vbmi",), "GGML_AVX512"),
    ("GGML_AVX512_VNNI", ("avx512_vnni",), "GGML_AVX512"),
    ("GGML_AVX512_BF16", ("avx512_bf16",), "GGML_AVX512"),
)
# Listed by some CPUs that cannot use them (no XTILEDATA permission in the VM): never compiled for.
NEVER_ON = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
# Not about the CPU: the portable base every build shares (no -march=native, no multimodal library).
BASE_ARGS = ("-DGGML_NATIVE=OFF", "-DLLAVA_BUILD=OFF")


def cpu_flags(cpuinfo_text: str) -> set[str]:
    """The instruction-set flags of the first CPU in a /proc/cpuinfo text (x86 ``flags``, ARM ``Features``)."""
    for line in cpuinfo_text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def ggml_options(flags: set[str], machine: str) -> dict[str, bool]:
    """Each x86 ggml instruction-set option, ON when the CPU has its flags and its prerequisite is ON.

    Not x86: empty (ggml's own defaults for that architecture, still without -march=native)."""
    if machine not in ("x86_64", "amd64", "AMD64"):
        return {}
    options: dict[str, bool] = {}
    for option, needs, builds_on in X86_OPTIONS:
        options[option] = all(f in flags for f in needs) and (builds_on is None or options[builds_on])
    options.update(dict.fromkeys(NEVER_ON, False))
    return options


def required_flags(options: dict[str, bool]) -> list[str]:
    """The cpuinfo flags a build with ``options`` executes: a CPU lacking one may die with SIGILL."""
    needs = {option: flags for option, flags, _ in X86_OPTIONS}
    return sorted({flag for option, on in options.items() if on for flag in needs.get(option, ())})


def build_key(options: dict[str, bool], machine: str) -> str:
    """A name for the instruction sets a build uses: ``x86_64-sse42.avx.....vnni.bf16``."""
    on = [option.removeprefix("GGML_").removeprefix("AVX512_").lower() for option, v in options.items() if v]
    return f"{machine}-{'.'.join(on) or 'generic'}"


def cmake_args(options: dict[str, bool]) -> str:
    return " ".join([BASE_ARGS[0], *(f"-D{o}={'ON' if v else 'OFF'}" for o, v in options.items()), *BASE_ARGS[1:]])


def options_in_args(args: str) -> dict[str, bool]:
    """The ``-DGGML_<x86 option>=ON|OFF`` options named in a CMAKE_ARGS string."""
    known = {option for option, _, _ in X86_OPTIONS}
    found = re.findall(r"-D(GGML_\w+)=(\w+)", args)
    return {name: value.upper() in ("ON", "1", "TRUE", "YES") for name, value in found if name in known}


def describe(cpuinfo_text: str, machine: str, custom_args: str | None = None) -> dict[str, object]:
    """Everything setup.sh records beside the wheel (``build.json``) and in the venv."""
    if custom_args:  # the user's own options: keyed by their text, flags as far as the options say
        options = options_in_args(custom_args)
        digest = hashlib.sha256(custom_args.strip().encode()).hexdigest()[:12]
        key, args = f"{machine}-custom-{digest}", custom_args.strip()
    else:
        options = ggml_options(cpu_flags(cpuinfo_text), machine)
        key, args = build_key(options, machine), cmake_args(options)
    return {
        "key": key,
        "machine": machine,
        "cmake_args": args,
        "options": options,
        "requires_cpu_flags": required_flags(options),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("key", "cmake", "json", "record"), help="what to print")
    parser.add_argument("--cpuinfo", type=Path, default=Path("/proc/cpuinfo"), help="a cpuinfo text to read")
    parser.add_argument("--machine", default=platform.machine(), help="architecture (default: this one)")
    parser.add_argument("--cmake-args", default="", help="the user's own CMAKE_ARGS, used instead of the CPU's")
    parser.add_argument("--version", default="", help="record: the llama-cpp-python version built")
    parser.add_argument("--wheel", default="", help="record: the wheel file installed")
    args = parser.parse_args(argv)
    try:
        text = args.cpuinfo.read_text(errors="replace")
    except OSError:  # not Linux: no flags known, so only the portable base
        text = ""
    info = describe(text, args.machine, args.cmake_args or None)
    if args.what == "key":
        print(info["key"])
    elif args.what == "cmake":
        print(info["cmake_args"])
    else:
        if args.what == "record":
            info.update(version=args.version, wheel=Path(args.wheel).name)
        print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
