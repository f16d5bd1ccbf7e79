"""Exploratory: brax expert PPO settings on the tasks whose experts fall (hopper, walker2d), 3M steps, key(0)."""
import json
import sys
import time

sys.path.insert(0, "/work/main")
import jax
import numpy as np

from jgail import envs, evaluation, presets, rl, sweep

name = sys.argv[1]
env = envs.make(f"brax/{name}")
cfg = presets.expert_config(env, 3_000_000)
swept, axes, settings = sweep.grid(cfg, **{"generator.gamma": [0.99, 0.997], "generator.ent_coef": [0.0, 0.01]})
nets = cfg.nets
def one(key, c):
    state, metrics = rl.train(key, c)
    ev = evaluation.evaluate(jax.random.key(11), env, nets, state.agent.params, state.obs_stats, 20)
    return ev["mean_return"], ev["lengths"].mean(), metrics["episode_return"][-20:].mean()
t = time.time()
ret, length, train = jax.jit(jax.vmap(one, (None, axes)))(jax.random.key(0), swept)
ret, length, train = map(np.asarray, (ret, length, train))
for s, r, n, tr in zip(settings, ret, length, train):
    print(name, s, f"eval {r:.0f}  length {n:.0f}  train(last20) {tr:.0f}", flush=True)
print(name, "wall %.0f s" % (time.time() - t))
with open(f"/tmp/pd/sweep_{name}.json", "w") as f:
    json.dump({"settings": [str(s) for s in settings], "eval20": ret.tolist(), "length": length.tolist()}, f)
