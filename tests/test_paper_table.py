"""The paper-vs-compendium table judges itself: 95 % intervals, the two verdicts, the summary line
(redshift1.validation.intervals, redshift1.validation.paper), and -- slow -- a fresh paper-preset run
writes exactly the committed table.

The fast tests use hand-built inputs with answers known from outside the code: tabulated Garwood
Poisson limits, Wilson limits, the standard error of a median of Gaussian draws.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from redshift1.validation.intervals import (Z95, binomial_interval, bootstrap_interval, exact_interval,
                                            interval_contains, intervals_overlap, poisson_interval,
                                            posterior_interval, row_rng, scaled_poisson_interval, summary_line)
from redshift1.validation.paper import (KROSS_PAPER, PAPER_NUMBERS, ROLES_TABLE2, TABLE_COLUMNS, build_paper_table,
                                        markdown_table, sfrd_key, table_summary)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- intervals
def test_poisson_interval_of_a_count_is_garwoods():
    # Garwood (1936) exact central 95 % limits, as tabulated (e.g. Gehrels 1986, Table 3 at S = 1.96)
    for n, lo, hi in ((0, 0.0, 3.689), (1, 0.0253, 5.572), (10, 4.795, 18.390), (50, 37.11, 65.92)):
        iv = poisson_interval(n)
        assert iv.method == "poisson"
        assert iv.lo == pytest.approx(lo, abs=2e-3) and iv.hi == pytest.approx(hi, abs=2e-2), n


def test_scaled_poisson_interval_keeps_the_relative_error_of_the_effective_number():
    iv = scaled_poisson_interval(5.0, 10.0)
    assert iv.lo == pytest.approx(5.0 * 4.795 / 10, rel=1e-3) and iv.hi == pytest.approx(5.0 * 18.390 / 10, rel=1e-3)
    assert scaled_poisson_interval(0.0, 0.0)[:2] == (0.0, 0.0)
    assert np.isnan(scaled_poisson_interval(1.0, 0.0).lo)


def test_binomial_interval_is_wilsons():
    iv = binomial_interval(8, 10)     # Wilson 95 %: 0.490–0.943
    assert iv.lo == pytest.approx(0.4902, abs=1e-3) and iv.hi == pytest.approx(0.9433, abs=1e-3)
    assert binomial_interval(10, 10).hi == 1.0 and binomial_interval(0, 10).lo == 0.0
    assert np.isnan(binomial_interval(3, 0).lo)


def test_bootstrap_median_has_the_spread_of_a_median():
    """2000 Gaussian draws of σ = 2: the median's standard error is 1.2533 σ / √N; the 95 %
    bootstrap interval spans ±1.96 of it (within the bootstrap's own noise)."""
    x = np.random.default_rng(11).normal(5.0, 2.0, 2000)
    iv = bootstrap_interval(np.median, x, n_boot=2000, seed=3, vectorised=True)
    expected = 2 * Z95 * 1.2533 * 2.0 / np.sqrt(x.size)
    assert iv.method == "bootstrap"
    assert iv.hi - iv.lo == pytest.approx(expected, rel=0.2)
    assert iv.lo < np.median(x) < iv.hi
    again = bootstrap_interval(lambda v: float(np.median(v)), x, n_boot=2000, seed=3)
    assert again[:2] == pytest.approx(iv[:2])           # same seed, same interval (looped or vectorised)
    assert bootstrap_interval(np.median, x[:1], seed=0).method == "none"


def test_row_rng_is_stable_and_differs_between_rows():
    a = row_rng("kross.median_sfr", 0).integers(0, 1 << 30, 3)
    assert np.array_equal(a, row_rng("kross.median_sfr", 0).integers(0, 1 << 30, 3))
    assert not np.array_equal(a, row_rng("kross.mean_r_half", 0).integers(0, 1 << 30, 3))
    assert not np.array_equal(a, row_rng("kross.median_sfr", 1).integers(0, 1 << 30, 3))


def test_posterior_interval_stretches_a_68_percent_summary():
    iv = posterior_interval(1.0, 0.9, 1.2)
    assert iv.lo == pytest.approx(1 - 0.1 * Z95) and iv.hi == pytest.approx(1 + 0.2 * Z95)
    chain = np.random.default_rng(2).normal(0.5, 0.1, 200_000)
    iv = posterior_interval(0.5, 0.4, 0.6, samples=chain)
    assert iv.lo == pytest.approx(0.5 - 0.196, abs=3e-3) and iv.hi == pytest.approx(0.5 + 0.196, abs=3e-3)
    assert exact_interval(3.0)[:2] == (3.0, 3.0)


def test_overlap_and_containment():
    assert list(intervals_overlap([0, 0, 0, np.nan], [1, 1, 1, 1], [0.5, 1, 1.1, 0], [2, 2, 2, 1])) == \
        [True, True, False, False]
    assert list(interval_contains([0, 0, 0], [1, 1, np.nan], [1, 1.5, 0.5])) == [True, False, False]
    # the same exact number computed two ways (81068.0 vs 81068.00000000001) is contained; 1e-6 off is not
    v = 81068.0
    assert interval_contains(v, v, v * (1 + 1e-13)) and not interval_contains(v, v, v * (1 + 1e-6))


# --------------------------------------------------------------------------- the table
def _table():
    """Four rows with hand-made intervals: agreeing, disagreeing, missing, and a point value."""
    k_count, k_slope, k_alpha, k_sfrd = "kross.n_resolved", "kross.resolved_ms_slope", "roles.lf_alpha", \
        sfrd_key("CDFS", 8.5, 8.9)
    comp = {k_count: 360.0, k_slope: 0.6, k_sfrd: 30.0, "kross.n_targets": 487}
    truth = {k_count: 370.0, k_slope: 0.9, k_sfrd: 12.0}
    ci = {k_count: poisson_interval(360), k_slope: (0.5, 0.7, "posterior"), k_sfrd: (20.0, 40.0, "scaled_poisson")}
    ti = {k_count: poisson_interval(370), k_slope: (0.8, 1.0, "posterior")}
    return build_paper_table(comp, truth, preset="paper", seed=1, compendium_intervals=ci, truth_intervals=ti), \
        (k_count, k_slope, k_alpha, k_sfrd)


def test_agrees_and_agrees_truth_follow_the_intervals():
    t, (k_count, k_slope, k_alpha, k_sfrd) = _table()
    assert t.colnames == list(TABLE_COLUMNS)
    row = {k: r for k, r in zip(t.meta["keys"], t)}
    # 374 resolved in KROSS: inside [Poisson limits of 360] -> agrees; truth 370 inside too
    assert row[k_count]["agrees"] and row[k_count]["agrees_truth"]
    assert row[k_count]["compendium_lo"] < 374 < row[k_count]["compendium_hi"]
    # slope 0.6 [0.5, 0.7] against the paper's 0.91 (no quoted error) and a truth of 0.9: neither
    assert not row[k_slope]["agrees"] and not row[k_slope]["agrees_truth"]
    assert row[k_slope]["truth_lo"] == 0.8 and row[k_slope]["paper_lo"] == row[k_slope]["paper_hi"] == 0.91
    # ROLES Table 2 quotes 6.60 (2.61-14.61): [20, 40] misses it; the truth 12 is outside [20, 40]
    assert row[k_sfrd]["paper_lo"] == pytest.approx(2.61) and row[k_sfrd]["paper_hi"] == pytest.approx(14.61)
    assert not row[k_sfrd]["agrees"] and not row[k_sfrd]["agrees_truth"]
    # no value: no verdict, and the note says why
    assert not row[k_alpha]["agrees"] and np.isnan(row[k_alpha]["compendium_lo"])
    assert "no compendium value" in row[k_alpha]["note"]
    # a value without an interval is a point: 487 = 487 agrees, and the note says it was a point
    n = row["kross.n_targets"]
    assert n["agrees"] and n["compendium_lo"] == n["compendium_hi"] == 487 and "as a point" in n["note"]
    assert t.meta["interval_methods"][k_count] == {"compendium": "poisson", "truth": "poisson"}


def test_summary_line_counts_the_verdicts():
    assert summary_line(3, 5, 62) == "3 of 62 rows agree with the paper; 5 of 62 with the truth."
    t, _ = _table()
    n_paper, n_truth = int(np.sum(t["agrees"])), int(np.sum(t["agrees_truth"]))
    assert (n_paper, n_truth) == (2, 1)
    assert table_summary(t) == f"2 of {len(t)} rows agree with the paper; 1 of {len(t)} with the truth."
    md = markdown_table(t).splitlines()
    assert md[0] == t.meta["summary"] == table_summary(t)
    row = next(ln for ln in md if ln.startswith("| KROSS Hα resolved |"))
    lo, hi = poisson_interval(360)[:2]
    assert f"360 [{lo:.0f}, {hi:.0f}]" in row and "| yes | yes |" in row


def test_every_paper_interval_brackets_its_value_and_constants_derive_from_the_rows():
    for p in PAPER_NUMBERS:
        assert min(p.paper_lo, p.paper_hi) <= p.paper <= max(p.paper_lo, p.paper_hi), p.key
    by_key = {p.key: p for p in PAPER_NUMBERS}
    for f, lo, hi, _, rho, rlo, rhi, _ in ROLES_TABLE2:
        if f != "GDDS":
            p = by_key[sfrd_key(f, lo, hi)]
            assert (p.paper, p.paper_lo, p.paper_hi) == (rho, rlo, rhi)
    assert KROSS_PAPER["mean_oh"] == (8.64, 0.02) and KROSS_PAPER["size_starburst_kpc"] == (4.2, 0.5)
    assert KROSS_PAPER["sfr_range"] == (by_key["kross.min_sfr"].paper, by_key["kross.max_sfr"].paper)


# --------------------------------------------------------------------------- same seed, same table (slow)
def _compare_tables(fresh: Table, committed: Table) -> list[str]:
    """Every column, strings and booleans exactly, floats to 1e-9 relative (NaN = NaN)."""
    problems = []
    if fresh.colnames != committed.colnames or len(fresh) != len(committed):
        return [f"columns/rows differ: {fresh.colnames} x {len(fresh)} vs {committed.colnames} x {len(committed)}"]
    for c in fresh.colnames:
        a, b = np.asarray(fresh[c]), np.asarray(committed[c])
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(float), b.astype(float)
            same = np.isclose(a, b, rtol=1e-9, atol=0.0) | (np.isnan(a) & np.isnan(b))
        else:
            same = a.astype(str) == b.astype(str)
        problems += [f"{fresh['quantity'][i]} / {c}: {a[i]!r} vs {b[i]!r}" for i in np.flatnonzero(~same)]
    return problems


@pytest.mark.slow
def test_a_fresh_paper_run_writes_the_committed_table(tmp_path):
    """Issue 13, item 4: ``run_all.py --preset paper`` from scratch (data and products in a temporary
    folder) writes exactly the committed ``figures/paper_vs_compendium.ecsv``."""
    committed = ROOT / "figures" / "paper_vs_compendium.ecsv"
    if not committed.is_file():
        pytest.skip("no committed figures/paper_vs_compendium.ecsv")
    run = subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--preset", "paper", "--out", str(tmp_path / "build"),
                          "--data-dir", str(tmp_path / "data"), "--force"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    fresh = Table.read(tmp_path / "build" / "paper" / "products" / "paper_vs_compendium.ecsv")
    problems = _compare_tables(fresh, Table.read(committed))
    assert not problems, f"{len(problems)} cells differ: " + "; ".join(problems[:20])


def test_table_comparison_catches_a_changed_cell():
    """The slow test's comparison is strict where it should be (fast sibling)."""
    t, _ = _table()
    assert _compare_tables(t, t.copy()) == []
    u = t.copy()
    u["compendium"][0] = u["compendium"][0] * (1 + 1e-6) if np.isfinite(u["compendium"][0]) else 1.0
    u["agrees"][1] = not u["agrees"][1]
    assert len(_compare_tables(t, u)) == 2


def test_validation_step_writes_the_table_and_its_markdown_in_view(tmp_path):
    """steps.validation.ValidationResult writes tables and the Markdown text, nothing before write()."""
    from redshift1.steps.validation import PAPER_TABLE, ValidationResult

    t, _ = _table()
    res = ValidationResult(tables={f"{PAPER_TABLE}.ecsv": t}, texts={f"{PAPER_TABLE}.md": markdown_table(t)},
                           values={"table": t})
    assert not list(tmp_path.iterdir())
    written = res.write(tmp_path / "products")
    assert [p.name for p in written] == ["paper_vs_compendium.ecsv", "paper_vs_compendium.md"]
    assert (tmp_path / "products" / "paper_vs_compendium.md").read_text(encoding="utf-8").splitlines()[0] == \
        t.meta["summary"]
    back = Table.read(tmp_path / "products" / "paper_vs_compendium.ecsv")
    assert _compare_tables(back, t) == [] and back.meta["keys"] == t.meta["keys"]
    assert res["paper_vs_compendium.md"].startswith(t.meta["summary"])


def test_every_interval_method_is_named_once():
    # Two methods once shared the key "order_statistic" and the dict literal kept only the second
    # meaning: a repeated key is silently dropped, so it is checked in the source.
    import ast
    import redshift1.validation.intervals as intervals
    tree = ast.parse(Path(intervals.__file__).read_text())
    keys = [k.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "METHODS" for t in node.targets)
            for k in node.value.keys]
    assert len(keys) == len(set(keys)), keys
    assert set(keys) == set(intervals.METHODS)
