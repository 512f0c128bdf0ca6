"""The throughput benchmark runs (its figures are recorded in the README, never asserted here)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_benchmark_quick_run_prints_its_table():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "user-steps/s" in done.stdout and "naive Mesa" in done.stdout and "Machine:" in done.stdout


def test_sweep_benchmark_quick_run_prints_its_table():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sweep.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "runs per minute, 2 local workers" in done.stdout and "Dask overhead per run" in done.stdout
