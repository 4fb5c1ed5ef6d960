"""Shared helpers of the benchmarks: the machine, child processes, their time and peak memory.

Every measured run happens in a fresh Python process started by `run_child`, so that its peak
resident memory (from `os.wait4`, the kernel's accounting of that one child) and its time are its
own: nothing imported or allocated by an earlier run counts.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARKER = "BENCH_JSON "


@dataclass
class ChildResult:
    """What one child process reported, with the parent's measurements of it."""

    data: dict  # the JSON the child printed after MARKER
    wall_s: float  # from start to exit of the process, imports included
    peak_rss_mb: float  # ru_maxrss of the child (MiB)
    user_s: float
    sys_s: float


def emit(data: dict) -> None:
    """Called by a child: report its result on stdout (one line, after the marker)."""
    print(MARKER + json.dumps(data), flush=True)


def run_child(args: list[str], timeout: float | None = None,
              env: dict | None = None, cwd: Path | None = None,
              reports: bool = True) -> ChildResult:
    """Run `python ARGS` in a fresh process; return its report (`reports=False`: a command
    that prints none, data {}), wall time and peak RSS."""
    cmd = [sys.executable, *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd or ROOT,
                                env={**os.environ, **(env or {})})
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(stderr.splitlines()[-25:])
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    lines = [line[len(MARKER):] for line in stdout.splitlines() if line.startswith(MARKER)]
    if reports and not lines:
        raise RuntimeError(f"{' '.join(cmd)} reported nothing:\n{stdout[-2000:]}")
    return ChildResult(data=json.loads(lines[-1]) if lines else {}, wall_s=wall,
                       peak_rss_mb=usage.ru_maxrss / 1024.0, user_s=usage.ru_utime,
                       sys_s=usage.ru_stime)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_info() -> dict:
    """CPU model, cores, memory, OS, and the versions that matter to the timings."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": cores,
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "mesa": _version("mesa"),
        "flee": _version("flee"),
        "networkx": _version("networkx"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
