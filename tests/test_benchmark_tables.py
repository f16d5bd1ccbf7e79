"""The brax results table shows each row's worst seed and share of seeds >= 0.9 beside the
mean (luck does not hide in an average), computed from the row's per-seed scores."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import gail_brax  # noqa: E402


def test_the_brax_table_gives_each_rows_worst_seed_and_share_of_seeds_at_0_9():
    per_seed = [0.95, 0.62, 0.91, 1.03, 0.899]
    row = {"method": "GAIL-PPO", "trajectories": 4, "seeds": len(per_seed), "eval_mean": 1.0,
           "eval_mean_length": 10.0, "normalised_mean": sum(per_seed) / len(per_seed),
           "normalised_ci95": [0.7, 1.0], "normalised_per_seed": per_seed, "env_steps_per_seed": 1e6,
           "run_s": 1.0, "compile_s": 1.0}
    task = {"tuned": True, "expert_return": 100.0, "random_return": 0.0, "device": "CPU", "backend": "spring",
            "expert": {"total_timesteps": 1}, "expert_mean_length": 10, "expert_episodes_terminated": 0,
            "rows": [row, dict(row, method="BC", normalised_per_seed=None)]}
    table = gail_brax.build_table("cpu", {"hopper": task}, gail_brax.BUDGETS["cpu"])
    header, _, gail, bc = [line.split(" | ") for line in table.splitlines()[2:6]]
    worst, share = header.index("worst seed"), header.index("seeds >= 0.9")
    expected_share = sum(1 for x in per_seed if x >= 0.9)  # a plain count: 0.95, 0.91, 1.03
    assert gail[worst] == f"{min(per_seed):.2f}" == "0.62"
    assert gail[share] == f"{expected_share}/5" == "3/5"
    assert bc[worst] == bc[share] == "-"
