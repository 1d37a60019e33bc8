"""Tests of :mod:`ihl_lib.llama_build`: the pinned llama.cpp build: its definition, the CPU check, the wheel cache, the installer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ihl_lib import llama_build
from ihl_lib.paths import PROJECT_ROOT
from tests.helpers import load_tool

# What llama.cpp 0.3.36's native build printed on an AVX-512/AMX Xeon (issue 16), and what the pinned build prints.
NATIVE_XEON = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | "
    "AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
PINNED = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 | "


@pytest.fixture(scope="module")
def installer():
    return load_tool("install_llama_cpp")


def test_the_pinned_build_is_x86_64_v3_without_avx512_amx_or_llamafile():
    build = llama_build.pinned_build()
    assert build["cpu_features"] == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"]
    args = build["cmake_args"]
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_LLAMAFILE=OFF" in args and "-DGGML_CPU_ALL_VARIANTS=OFF" in args
    for feature in ("AVX512", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8", "AMX_TILE", "AVX_VNNI"):
        assert f"-DGGML_{feature}=OFF" in args
    for feature in ("AVX", "AVX2", "FMA", "F16C", "BMI2"):
        assert f"-DGGML_{feature}=ON" in args


def test_system_info_is_read_feature_by_feature():
    pinned = llama_build.pinned_build()["cpu_features"]
    assert llama_build.compiled_features(PINNED) == pinned
    assert llama_build.build_mismatch(PINNED, pinned) == ([], [])
    extra, absent = llama_build.build_mismatch(NATIVE_XEON, pinned)
    assert extra == ["AVX512", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8", "LLAMAFILE", "REPACK"] and absent == []
    assert llama_build.build_mismatch(PINNED.replace("AVX2 = 1", "AVX2 = 0"), pinned) == ([], ["AVX2"])


def test_a_cpu_without_avx2_is_named_before_anything_is_built(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Old Opteron\nflags\t\t: fpu sse sse2 pni ssse3 avx f16c fma\n\n")
    monkeypatch.setattr(llama_build.platform, "machine", lambda: "x86_64")
    pinned = llama_build.pinned_build()["cpu_features"]
    assert llama_build.missing_cpu_features(pinned, cpuinfo) == ["AVX2", "BMI2"]
    assert llama_build.cpu_model(cpuinfo) == "Old Opteron"
    monkeypatch.setattr(llama_build.platform, "machine", lambda: "arm64")
    with pytest.raises(llama_build.UnsupportedCPU, match="targets x86-64-v3"):
        llama_build.missing_cpu_features(pinned, cpuinfo)


def test_this_machine_can_run_the_pinned_build():
    assert llama_build.missing_cpu_features(llama_build.pinned_build()["cpu_features"]) == []
    out = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "tools" / "install_llama_cpp.py"), "--check-cpu-only"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def test_the_installer_builds_the_locked_sdist(installer):
    version, hashes = installer.locked_sdist()
    import llama_cpp

    assert version == llama_cpp.__version__
    assert hashes and all(len(h) == 64 for h in hashes)


def test_a_wheel_built_with_other_flags_is_never_reused(installer, tmp_path, monkeypatch):
    # pip's own wheel cache ignores CMAKE_ARGS; ours files wheels under a hash of the arguments.
    monkeypatch.setenv("IHL_WHEEL_CACHE", str(tmp_path))
    args = llama_build.pinned_build()["cmake_args"]
    pinned = installer.wheel_cache_dir("0.3.36", ["ab" * 32], args)
    assert pinned.parent == tmp_path and pinned == installer.wheel_cache_dir("0.3.36", ["ab" * 32], list(args))
    assert installer.wheel_cache_dir("0.3.36", ["ab" * 32], [a for a in args if a != "-DGGML_LLAMAFILE=OFF"]) != pinned
    assert installer.wheel_cache_dir("0.3.36", ["ab" * 32], [*args, "-DGGML_NATIVE=ON"]) != pinned
    assert installer.wheel_cache_dir("0.3.35", ["ab" * 32], args) != pinned


def test_the_build_is_recorded_and_keys_local_calls(monkeypatch):
    from ihl_lib.llm import ChatRequest, cache_key
    from ihl_lib.provenance import environment_stamp

    stamp = environment_stamp()
    build = stamp["llama_cpp"]
    assert build["is_pinned_build"] is True and build["compiled_features"] == llama_build.pinned_build()["cpu_features"]
    assert "CPU :" in build["system_info"] and stamp["cpu_model"]
    request = ChatRequest(model="local/smollm2-135m", messages=[{"role": "user", "content": "hi"}])
    remote = ChatRequest(model="openai/gpt-4o-2024-08-06", messages=[{"role": "user", "content": "hi"}])
    key, remote_key = cache_key(request), cache_key(remote)
    # Another build of the same version must not be served this build's answers; other providers are unaffected.
    other = {**build, "system_info": build["system_info"].replace("AVX2 = 1", "AVX2 = 1 | AVX512 = 1")}
    monkeypatch.setattr(llama_build, "build_info", lambda: other)
    assert cache_key(request) != key and cache_key(remote) == remote_key


def test_the_loaded_llama_cpp_is_the_pinned_build():
    # A wheel built with other flags (pip's cache, a native build) must not pass unnoticed.
    import llama_cpp

    from ihl_lib.llama_build import build_mismatch, pinned_build

    info = llama_cpp.llama_print_system_info().decode()
    extra, absent = build_mismatch(info, pinned_build()["cpu_features"])
    assert (extra, absent) == ([], []), info
    assert "LLAMAFILE = 1" not in info and "AVX512" not in info.replace("AVX512 = 0", ""), info
