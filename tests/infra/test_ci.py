""".ci/run on a fresh machine: `.ci/setup` installs what the suite needs beyond pip (Debian's
chromium, for the browser test) before `make test`, and under CI the browser test fails where
chromium is missing instead of skipping. The scripts run here with stub commands on PATH
(apt-get, id, sudo, make) so nothing is installed by the test."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    """A PATH with only bash, env, dirname and the stubs a test adds; calls are logged to calls.log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "env", "dirname"):
        os.symlink(shutil.which(tool), folder / tool)
    return folder


def stub(folder: Path, name: str, body: str = "") -> None:
    path = folder / name
    path.write_text(f"#!{shutil.which('bash')}\necho \"{name} $*\" >> \"$CALLS\"\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run(script: str, bin_dir: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls = tmp_path / "calls.log"
    calls.touch()
    env = {"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)}
    result = subprocess.run([str(ROOT / script)], env=env, capture_output=True, text=True, timeout=60)
    return result, calls.read_text().splitlines()


def test_ci_run_installs_chromium_first_then_runs_the_suite_with_the_browser_required(bin_dir, tmp_path):
    stub(bin_dir, "id", "echo 0")
    stub(bin_dir, "apt-get")
    stub(bin_dir, "make", 'echo "HAVEN_REQUIRE_BROWSER=$HAVEN_REQUIRE_BROWSER" >> "$CALLS"')
    result, calls = run(".ci/run", bin_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert installs and "-y" in installs[0].split() and "chromium" in installs[0].split()
    assert "npm" in installs[0].split()  # make bundles the join page's script with npm ci + esbuild
    assert calls.index("apt-get update -q") < calls.index(installs[0]) < calls.index("make test")
    assert calls[-1] == "HAVEN_REQUIRE_BROWSER=1"


def test_ci_setup_installs_nothing_when_chromium_is_there(bin_dir, tmp_path):
    stub(bin_dir, "chromium")
    stub(bin_dir, "npm")
    stub(bin_dir, "apt-get")
    result, calls = run(".ci/setup", bin_dir, tmp_path)
    assert result.returncode == 0 and "nothing to install" in result.stdout
    assert calls == []


def test_ci_setup_uses_sudo_when_not_root(bin_dir, tmp_path):
    stub(bin_dir, "id", "echo 1000")
    stub(bin_dir, "sudo", 'shift; [ "$1" = true ] && exit 0; exec "$@"')  # drops -n
    stub(bin_dir, "apt-get")
    result, calls = run(".ci/setup", bin_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    assert any(c.startswith("apt-get install") and "chromium" in c for c in calls)
    assert any(c.startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install") for c in calls)


def test_ci_setup_says_what_it_cannot_install(bin_dir, tmp_path):
    stub(bin_dir, "id", "echo 1000")
    stub(bin_dir, "apt-get")
    result, calls = run(".ci/setup", bin_dir, tmp_path)
    assert result.returncode == 1 and "chromium" in result.stderr and "root" in result.stderr
    assert not any(c.startswith("apt-get") for c in calls)


def _browser_test(tmp_path: Path, **flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "HAVEN_", "PYTEST_", "CI")) and k != "CI"}
    env.update(HAVEN_CHROMIUM=str(tmp_path / "no-such-chromium"), **flags)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           "tests/local/test_link_pages_in_a_browser.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_browser_test_fails_under_ci_where_chromium_is_missing_and_skips_elsewhere(tmp_path):
    required = _browser_test(tmp_path, HAVEN_REQUIRE_BROWSER="1")
    assert required.returncode == 1, required.stdout + required.stderr
    assert "1 failed" in required.stdout and "chromium is required" in required.stdout
    on_ci = _browser_test(tmp_path, CI="true")
    assert on_ci.returncode == 1 and "1 failed" in on_ci.stdout
    elsewhere = _browser_test(tmp_path)
    assert elsewhere.returncode == 0 and "1 skipped" in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr
