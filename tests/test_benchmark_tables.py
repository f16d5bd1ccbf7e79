"""The benchmark tables show each row's worst seed and share of seeds >= 0.9 beside the mean
(luck does not hide in an average), computed from the row's per-seed scores
(`benchmarks.common.variance_columns`, shared by every table)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import gail_brax, gail_classic  # noqa: E402
from benchmarks.common import variance_columns  # noqa: E402


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


def test_the_variance_columns_count_seeds_at_0_9_and_a_seed_without_a_score_does_not_pass():
    assert variance_columns([0.95, 0.62, 0.91], digits=3) == {"worst seed": "0.620", "seeds >= 0.9": "2/3"}
    assert variance_columns([0.95, None]) == {"worst seed": "nan", "seeds >= 0.9": "1/2"}
    assert variance_columns(None) == variance_columns([]) == {"worst seed": "-", "seeds >= 0.9": "-"}


def test_a_cartpole_row_is_normalised_from_its_returns_with_its_results_random_and_expert_returns():
    parts = {"cartpole": {"random_return": 20.0, "expert": {"eval_mean_100_episodes": 200.0}, "rows": []},
             "trpo": {"expert": {"eval_mean_100_episodes": 200.0}, "rows": []}}  # trpo: the cartpole part's random
    assert gail_classic.per_seed_scores(parts, "trpo", {"eval_per_seed": [200.0, 155.0]}) == [1.0, 0.75]
    assert gail_classic.per_seed_scores(parts, "trpo", {"normalised_score_per_seed": [0.5]}) == [0.5]
