"""The command line: help, observe, and one-line errors."""
import subprocess
import sys

from redshift1.__main__ import main


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "redshift1", "--help"], capture_output=True, text=True, check=True).stdout
    assert "observe" in out


def test_observe_writes_a_survey(tmp_path, capsys):
    assert main(["observe", "--preset", "tiny", "--seed", "1", "--out", str(tmp_path / "s"), "--quiet"]) == 0
    assert (tmp_path / "s" / "manifest.json").is_file()
    assert "wrote" in capsys.readouterr().out


def test_bad_seed_is_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "redshift1", "observe", "--preset", "tiny", "--seed", "-3",
                        "--out", str(tmp_path / "s")], capture_output=True, text=True)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "seed" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s").exists()
