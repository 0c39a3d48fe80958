"""The benchmarks are code too: a store helper renamed under the export bench broke it silently
until `make bench` ran. The export bench's child runs here at a toy size (the full size is
`make bench`'s), so a rename breaks a test instead."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_export_bench_runs_at_a_toy_size():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    done = subprocess.run([sys.executable, "-m", "tests.bench._export_child", "--messages", "20", "--media-mib", "1",
                           "--media-files", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"outcome"')]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    data = json.loads(lines[-1])
    assert data["messages"] == 20 and data["media_files"] == 1 and data["peak_mib"] > 0
