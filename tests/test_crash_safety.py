"""Crash safety (issue 17): ``observe`` and ``detect-lines`` killed (SIGKILL) at several moments
leave the old output or the new one, complete, never half of one."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from redshift1.mock.observe import foreign_files, observe

DELAYS = (0.5, 1.5, 3.0, 4.5, 6.0, 9.0)


def _run_and_kill(cmd: list[str], delay: float, cwd: Path) -> int | None:
    """Start ``cmd``, SIGKILL its whole process group after ``delay`` seconds (unless it ended);
    return its exit status if it ended first, else None."""
    proc = subprocess.Popen(cmd, cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "REDSHIFT1_WORKERS": "1"})
    try:
        return proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def _complete_survey(out: Path) -> int:
    """The noise seed of the complete mock survey at ``out``; fails on a half one."""
    m = json.loads((out / "manifest.json").read_text())
    for f in m["files"]:
        p = out / f["path"]
        assert p.is_file(), f"{f['path']}: listed but missing (half a survey)"
        assert hashlib.sha256(p.read_bytes()).hexdigest() == f["sha256"], f"{f['path']}: not the listed bytes"
    assert foreign_files(out) == [], "files of another run inside the survey"
    return m["noise_seed"]


def test_killed_observe_leaves_the_old_or_the_new_survey(tmp_path):
    out = tmp_path / "survey"
    cmd = [sys.executable, "-m", "redshift1", "observe", "--preset", "tiny", "--quiet", "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd + ["--noise-seed", "100"], check=True, capture_output=True, cwd=tmp_path)
    seconds = time.perf_counter() - t0                  # how long a whole run takes here, now
    outcomes = []
    delays = sorted({*DELAYS[:3], *(f * seconds for f in (0.5, 0.8, 0.9, 0.95, 1.0, 1.05)), seconds + 5})
    for i, delay in enumerate(delays):
        before = _complete_survey(out)
        code = _run_and_kill(cmd + ["--noise-seed", str(i)], delay, tmp_path)
        after = _complete_survey(out)
        assert after in (before, i), f"delay {delay:.1f}s: neither the old ({before}) nor the new ({i}) survey"
        if code is not None:
            assert code == 0 and after == i
        outcomes.append("new" if after == i else "old")
    print(f"observe ({seconds:.1f} s) killed after {[round(d, 1) for d in delays]} s: {outcomes}")
    assert "old" in outcomes and "new" in outcomes, outcomes
    assert not list(out.glob(".*")), "temporary folders inside the survey"


def test_killed_detect_lines_leaves_the_old_or_the_new_catalogue(tmp_path):
    survey = tmp_path / "s"
    observe(survey, preset="tiny", instruments=("ldss3",))
    mask = next((survey / "ldss3" / "masks").iterdir())
    cmd = [sys.executable, "-m", "redshift1", "detect-lines", str(mask), "--out"]
    ref = tmp_path / "reference.ecsv"
    t0 = time.perf_counter()
    subprocess.run(cmd + [str(ref)], check=True, capture_output=True, cwd=tmp_path)
    seconds = time.perf_counter() - t0
    new = ref.read_bytes()
    # an earlier catalogue: a threshold just above the weakest adopted line, so that it differs
    lines = Table.read(ref)
    sigma = np.asarray(lines["sigma"], float)
    adopted = sigma[np.asarray(lines["status"]) == "adopted"] if "status" in lines.colnames else sigma
    assert adopted.size, "the tiny mask has no adopted line to drop"
    earlier = tmp_path / "earlier.ecsv"
    subprocess.run(cmd[:-1] + ["--adopt-sigma", f"{adopted.min() + 0.1:.2f}", "--out", str(earlier)], check=True,
                   capture_output=True)
    old = earlier.read_bytes()
    assert old != new
    out = tmp_path / "lines.ecsv"
    outcomes = []
    for delay in sorted(set(DELAYS[:4]) | {0.8 * seconds, 0.95 * seconds, seconds + 3}):
        out.write_bytes(old)
        code = _run_and_kill(cmd + [str(out)], delay, tmp_path)
        now = out.read_bytes()
        assert now in (old, new), f"delay {delay:.1f}s: half a catalogue ({len(now)} bytes)"
        if code is not None:
            assert code == 0 and now == new
        outcomes.append("new" if now == new else "old")
    print(f"detect-lines ({seconds:.1f} s) killed: {outcomes}")
    assert "old" in outcomes and "new" in outcomes, outcomes


@pytest.mark.parametrize("bad", ["lines.txt", "folder"])
def test_detect_lines_out_must_be_a_catalogue_file(tmp_path, bad):
    (tmp_path / "folder").mkdir()
    r = subprocess.run([sys.executable, "-m", "redshift1", "detect-lines", str(tmp_path), "--out",
                        str(tmp_path / bad)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--out" in r.stderr


@pytest.mark.parametrize("suffix", [".ecsv", ".json"])
def test_detect_lines_never_replaces_a_users_file(tmp_path, suffix):
    user = tmp_path / f"mine{suffix}"
    user.write_text("# %ECSV 1.0\n# ---\n# datatype:\n# - {name: a, datatype: int64}\na\n1\n" if suffix == ".ecsv"
                    else '{"my": "results"}\n')
    before = user.read_bytes()
    r = subprocess.run([sys.executable, "-m", "redshift1", "detect-lines", str(tmp_path), "--out", str(user)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "nothing was replaced" in r.stderr
    assert user.read_bytes() == before
