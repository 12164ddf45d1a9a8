"""The ranks x threads benchmark reads every speed-up against the machine's two-core ceiling:
two independent one-core jobs at once."""

from bench.lammps_ranks_threads import case_name, summarize


def row(ghosts, ranks, threads, seconds, jobs=1, energy=-10.0):
    return {
        "ghosts": ghosts,
        "ranks": ranks,
        "threads": threads,
        "jobs": jobs,
        "s_per_step": seconds,
        "final_energy_eV": energy,
    }


def test_ceiling_is_two_jobs_throughput_over_one():
    rows = [
        row("remap", 1, 1, 1.0),
        row("exchange", 2, 1, 0.625, energy=-10.0 + 2e-5),
        row("remap", 1, 2, 0.8),
        row("remap", 1, 1, 1.25, jobs=2),  # each of two jobs at once: 25 % slower
    ]
    summary = summarize(rows)
    assert summary["two_core_ceiling"] == 1.6
    assert summary["exchange_2x1"]["speedup_over_one_core"] == 1.6
    assert summary["exchange_2x1"]["share_of_two_core_ceiling"] == 1.0
    assert summary["remap_1x2"]["share_of_two_core_ceiling"] == 1.25 / 1.6
    assert abs(summary["exchange_2x1"]["energy_difference_eV"] - 2e-5) < 1e-12
    assert "remap_1x1_2_jobs_at_once" not in summary


def test_without_two_jobs_there_is_no_ceiling():
    summary = summarize([row("remap", 1, 1, 1.0), row("exchange", 2, 1, 0.6)])
    assert summary["two_core_ceiling"] is None
    assert summary["exchange_2x1"]["share_of_two_core_ceiling"] is None


def test_case_names():
    assert case_name(row("exchange", 2, 1, 1.0)) == "exchange_2x1"
    assert case_name(row("remap", 1, 1, 1.0, jobs=2)) == "remap_1x1_2_jobs_at_once"
