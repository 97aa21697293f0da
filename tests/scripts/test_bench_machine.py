"""bench/_machine.py: the one CPU line (on fake /proc/cpuinfo texts of an AVX2-only, an AVX-512, an
AVX-512 BF16 + AMX and an Arm CPU), the one load format, the one CPU-seconds clock, that every
benchmark prints them (and nothing reads the machine its own way); and rerun_with_allocator and
set_allocator on a tiny child script (no model: a second)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import _machine  # noqa: E402
from _machine import (ChildFailed, cpu_description, cpu_seconds, load, load_line, read_cpu,  # noqa: E402
                      rerun_with_allocator)

BENCH = REPO / "bench"
# the benchmarks (nanogpt_reference.py is the yardstick's model, imported by bench_train.py)
SCRIPTS = sorted(p for p in BENCH.glob("bench_*.py"))

AMD_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht \
syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid tsc_known_freq pni \
pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy \
abm sse4a misalignsse 3dnowprefetch osvw topoext bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni \
xsaveopt xsavec xgetbv1 xsaves clzero xsaveerptr arat npt nrip_save umip vaes vpclmulqdq rdpid fsrm
bugs\t\t: sysret_ss_attrs null_seg spectre_v1 spectre_v2 spec_store_bypass srso

processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu
"""
SKYLAKE_AVX512 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl
vmx flags\t: vnmi preemption_timer
"""
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 sse4_2 fma avx avx2 bmi2 avx512f avx512dq avx512bw avx512vl sha_ni avx512_vnni avx512_bf16 \
amx_bf16 avx512_fp16 amx_tile amx_int8
"""
ARM_GRACE = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop \
sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm \
svesha3 svesm4 flagm2 frint svei8mm svebf16 i8mm bf16 dgh bti
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd4f
CPU revision\t: 0
"""
ARM_NO_BF16 = """processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
CPU implementer\t: 0x51
CPU part\t: 0x801
"""
CASES = {  # text -> (what the CPU line says after "CPU: ", native bf16)
    "AMD AVX2 only": (AMD_AVX2, "AMD EPYC 7B13, 2 cores; instruction sets: sse4_2 bmi2 sha_ni avx2 fma "
                      "(lacks: avx512f avx512_bf16 amx_tile amx_bf16); native bf16: no", False),
    "Skylake AVX-512": (SKYLAKE_AVX512, "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz, 2 cores; instruction sets: "
                        "sse4_2 bmi2 avx2 fma avx512f (lacks: sha_ni avx512_bf16 amx_tile amx_bf16); native bf16: no",
                        False),
    "Sapphire Rapids": (SAPPHIRE_RAPIDS, "Intel(R) Xeon(R) Platinum 8480+, 2 cores; instruction sets: "
                        "sse4_2 bmi2 sha_ni avx2 fma avx512f avx512_bf16 amx_tile amx_bf16; native bf16: yes", True),
    "Arm Grace": (ARM_GRACE, "Arm Neoverse-V2, 2 cores; instruction sets: asimd sve sve2 bf16; native bf16: yes",
                  True),
    "Arm without bf16": (ARM_NO_BF16, "Arm CPU (implementer 0x51, part 0x801), 2 cores; instruction sets: asimd "
                         "(lacks: sve sve2 bf16); native bf16: no", False),
}


@pytest.mark.parametrize("name", CASES)
def test_one_cpu_line_names_what_it_has_and_lacks(name):
    text, expected, _ = CASES[name]
    assert cpu_description(read_cpu(text), cores_text="2 cores") == "CPU: " + expected


def test_the_x86_line_names_sha_ni_sse4_2_and_bmi2():
    """sha_ni moves the collector's sha256; sse4_2 and bmi2 the libraries' fast paths: named, had or lacked."""
    have = cpu_description(read_cpu(AMD_AVX2), cores_text="2 cores")
    assert "instruction sets: sse4_2 bmi2 sha_ni avx2" in have
    bare = read_cpu("processor\t: 0\nmodel name\t: Old x86\nflags\t\t: fpu sse sse2 avx\n")
    assert "(lacks: sse4_2 bmi2 sha_ni avx2 " in cpu_description(bare, cores_text="2 cores")


def test_without_cpuinfo_nothing_is_assumed():
    cpu = read_cpu("")
    assert cpu.native_bf16 is None and not cpu.flags
    line = cpu_description(cpu, cores_text="8 cores")
    assert line.endswith(", 8 cores; instruction sets: unknown (no flags in /proc/cpuinfo); native bf16: unknown")
    assert "(no model name in /proc/cpuinfo)" in line


@pytest.mark.parametrize("name", CASES)
def test_native_bf16_agrees_with_the_trainers_choice(name, monkeypatch):
    """The bench line's "native bf16" is what training's precision choice (precision.cpu_has_bf16) sees."""
    prec = pytest.importorskip("london_llm.training.precision")
    text, _, native = CASES[name]
    cpu = read_cpu(text)
    monkeypatch.setattr(prec.platform, "machine", lambda: "aarch64" if cpu.arch == "arm" else "x86_64")
    assert cpu.native_bf16 is native is prec.cpu_has_bf16(frozenset(cpu.flags))


def test_this_machines_line_and_cores():
    line = cpu_description()
    assert re.fullmatch(r"CPU: .+, \d+ cores( \(\d+ usable here\))?; instruction sets: .+; native bf16: "
                        r"(yes|no|unknown)", line), line
    assert "\n" not in line


def test_one_load_format():
    cores = os.cpu_count() or 1
    assert load((0.5, 1.254, 12.0)) == f"0.50 1.25 12.00 (1/5/15 min) on {cores} cores"
    assert load_line("before", (0.5, 1.0, 2.0)) == f"load before: 0.50 1.00 2.00 (1/5/15 min) on {cores} cores"
    assert re.fullmatch(r"load after: \d+\.\d\d \d+\.\d\d \d+\.\d\d \(1/5/15 min\) on \d+ cores", load_line("after"))


def test_load_where_the_platform_has_none(monkeypatch):
    monkeypatch.delattr(os, "getloadavg")
    assert load_line("before") == f"load before: unavailable on {os.cpu_count() or 1} cores"


def test_cpu_seconds_counts_this_process_and_its_children():
    start = cpu_seconds()
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # busy here
        pass
    own = cpu_seconds() - start
    assert own >= 0.04
    start = cpu_seconds()
    child = "import time\nd = time.process_time() + 0.2\nwhile time.process_time() < d: pass"
    subprocess.run([sys.executable, "-c", child], check=True)  # busy in a child, waited for
    assert cpu_seconds() - start >= 0.2


def test_no_benchmark_reads_the_machine_its_own_way():
    """/proc/cpuinfo, the load average and CPU clocks are read in _machine.py alone."""
    for path in sorted(BENCH.glob("*.py")):
        if path.name == "_machine.py":
            continue
        source = path.read_text(encoding="utf-8")
        for banned in ("cpuinfo", "getloadavg", "process_time", "RUSAGE_CHILDREN"):
            assert banned not in source, f"{path.name} reads {banned} itself: use bench/_machine.py"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_benchmark_prints_the_cpu_line_then_load_before_and_after(script):
    source = script.read_text(encoding="utf-8")
    cpu, before, after = (re.search(pattern, source) for pattern in (
        r"print\(cpu_description\(\)\)", r'load_line\("before"\)', r'load_line\("after"\)'))
    assert cpu and before and after, f"{script.name}: prints the CPU line, load before and load after"
    assert cpu.start() < before.start() < after.start(), f"{script.name}: CPU line, load before, load after"
    assert "load average before" not in source and "load average after" not in source


def test_the_old_descriptions_are_gone():
    for name in ("cpu_line", "cpu_summary", "cpu_flags", "cpu_model"):
        assert not hasattr(_machine, name), name

CHILD = f"""import argparse, json, os, sys
sys.path[:0] = [{str(REPO)!r}, {str(REPO / "bench")!r}]
from _machine import set_allocator
p = argparse.ArgumentParser()
p.add_argument("--allocator")
p.add_argument("--fail", action="store_true")
p.add_argument("--no_json", action="store_true")
args = p.parse_args()
print("  a table line")
if args.fail:
    sys.exit("the probe broke here")
env = os.environ.get("LONDON_LLM_MALLOC")
print("done" if args.no_json else json.dumps({{"env": env, "malloc": set_allocator(args.allocator)}}))
"""


@pytest.fixture
def child(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return script


def test_default_sets_the_variable_and_tuned_unsets_it(child, monkeypatch):
    monkeypatch.setenv("LONDON_LLM_MALLOC", "default")  # this process's own setting must not leak
    result, lines = rerun_with_allocator(child, "tuned", [])
    assert result["env"] is None and lines == ["  a table line"]
    if sys.platform.startswith("linux"):
        assert result["malloc"].startswith(("glibc malloc keeps", "allocator untouched")), result
    monkeypatch.delenv("LONDON_LLM_MALLOC")
    result, _ = rerun_with_allocator(child, "default", [])
    assert result == {"env": "default", "malloc": "glibc malloc defaults"}


def test_a_failing_child_is_named_with_its_stderr_tail(child):
    with pytest.raises(ChildFailed, match=r"child\.py --allocator default failed \(exit 1\): the probe broke here"):
        rerun_with_allocator(child, "default", ["--fail"])


def test_a_child_without_a_json_line_fails_clearly(child):
    with pytest.raises(ChildFailed, match=r"exit 0.*stdout ending \['done'\]"):
        rerun_with_allocator(child, "tuned", ["--no_json"])
