"""Exploratory: the env's expert preset at N steps, 3 seeds in one vmapped call; training curve + 20-episode eval.

    python3 benchmarks/results/brax_expert_horizon/expert_long.py hopper 10e6  # /tmp/pd/long_hopper_10000000.json
"""
import json
import sys
import time

sys.path.insert(0, "/work/main")
import jax
import numpy as np

from jgail import envs, evaluation, presets, rl

name, steps = sys.argv[1], int(float(sys.argv[2]))
env = envs.make(f"brax/{name}")
cfg = presets.expert_config(env, steps)
nets = cfg.nets


def one(key):
    state, metrics = rl.train(key, cfg)
    ev = evaluation.evaluate(jax.random.fold_in(key, 11), env, nets, state.agent.params, state.obs_stats, 20)
    return ev["mean_return"], ev["lengths"].mean(), metrics["episode_return"]


keys = jax.random.split(jax.random.key(1), 3)
t = time.time()
ret, length, curve = jax.jit(jax.vmap(one))(keys)
ret, length, curve = np.asarray(ret), np.asarray(length), np.asarray(curve)
n = curve.shape[1]
marks = {}  # mean training return over the 20 iterations before each tenth of the run
for i in range(10):
    end = (i + 1) * n // 10
    marks[f"{(i + 1) * steps / 10 / 1e6:.1f}M"] = np.nanmean(curve[:, max(0, end - 20):end], axis=1).round().tolist()
print(name, steps, "eval per seed", np.round(ret).tolist(), "lengths", np.round(length).tolist(), flush=True)
for k, v in marks.items():
    print("  train return at", k, v)
print(name, "wall %.0f s" % (time.time() - t))
with open(f"/tmp/pd/long_{name}_{steps}.json", "w") as f:
    json.dump({"steps": steps, "eval20": ret.tolist(), "length": length.tolist(), "curve_marks": marks,
               "wall_s": time.time() - t}, f)
