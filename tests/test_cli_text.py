"""What the command line says about itself: its name, its version, and counts in words."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from simulation.cli import main
from tests.conftest import small_data


def test_validate_counts_in_the_singular_and_plural(write_yaml, capsys):
    data = small_data(events=[])
    data["sinks"] = data["sinks"][:1]
    data["brands"] = data["brands"][:1]
    assert main(["validate", str(write_yaml(data))]) == 0
    out = capsys.readouterr().out
    assert "1 sink," in out and "1 brand," in out and "0 events" in out and "1 sinks" not in out


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's version action exits; main() turns it into a code
        raise SystemExit(main(["--version"]))
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"attention-market {metadata.version('attention-market')}"


@pytest.mark.slow
def test_the_console_script_names_itself():
    script = Path(sys.executable).parent / "attention-market"
    done = subprocess.run([str(script), "compare"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("usage: attention-market compare")
    done = subprocess.run([sys.executable, "run.py", "compare"], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2 and done.stderr.startswith("usage: run.py compare")
