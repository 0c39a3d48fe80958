"""Bench: a data export for a client with 10,000 messages and 1 GiB of media (issue 15).

Runs `tests/bench/_export_child.py` in a child process (moto in yet another process, so the
traced memory is the exporter's alone): generated data, then one export built exactly as the
`exports` function builds it. Reports the export's wall time and its peak traced memory. Target
for memory: 64 MiB whatever the archive's size (about one 8 MiB part and one 1 MiB chunk at a
time, plus the app); time has no target (it is mostly moto storing and serving the bytes).

`HAVEN_BENCH_EXPORT_MESSAGES` and `HAVEN_BENCH_EXPORT_MEDIA_MIB` scale it down (e.g. 1000 and 64)
on a busy machine: the full size takes several minutes and ~4 GiB of the emulator's memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bench._support import result

ROOT = Path(__file__).resolve().parents[2]
PEAK_TARGET_MIB = 64


def run() -> list[dict]:
    messages = int(os.environ.get("HAVEN_BENCH_EXPORT_MESSAGES", "10000"))
    media_mib = int(os.environ.get("HAVEN_BENCH_EXPORT_MEDIA_MIB", "1024"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    done = subprocess.run([sys.executable, "-m", "tests.bench._export_child", "--messages", str(messages),
                           "--media-mib", str(media_mib)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=3 * 3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{\"outcome\"")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the export benchmark failed ({done.returncode}): {done.stderr[-2000:]}")
    data = json.loads(lines[-1])
    size = f"{data['messages']} messages, {data['media_files']} media files of {data['media_mib']:.0f} MiB in all"
    return [
        result("export: time to build", data["seconds"], "s", note=f"{size}; archive {data['archive_mib']} MiB"),
        result("export: peak traced memory", data["peak_mib"], "MiB", target=f"<= {PEAK_TARGET_MIB}",
               ok=data["peak_mib"] <= PEAK_TARGET_MIB, note=size),
    ]
