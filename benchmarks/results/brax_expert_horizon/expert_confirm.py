"""Exploratory: gamma 0.997 + entropy 0.01 vs the preset, 3 fresh seeds each, 3M steps, brax expert PPO."""
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
pick = np.array([0, 3])  # (0.99, 0) the preset, (0.997, 0.01)
swept = jax.tree.map(lambda x, a: x[pick] if a == 0 else x, swept, axes)
settings = [settings[i] for i in pick]
nets = cfg.nets
def one(key, c):
    state, metrics = rl.train(key, c)
    ev = evaluation.evaluate(jax.random.fold_in(key, 11), env, nets, state.agent.params, state.obs_stats, 20)
    return ev["mean_return"], ev["lengths"].mean()
keys = jax.random.split(jax.random.key(1), 3)
t = time.time()
ret, length = jax.jit(jax.vmap(jax.vmap(one, (None, axes)), (0, None)))(keys, swept)
ret, length = np.asarray(ret), np.asarray(length)  # [seeds, settings]
for j, s in enumerate(settings):
    print(name, s, "eval per seed", np.round(ret[:, j]).tolist(), "lengths", np.round(length[:, j]).tolist(),
          flush=True)
print(name, "wall %.0f s" % (time.time() - t))
with open(f"/tmp/pd/confirm_{name}.json", "w") as f:
    json.dump({"settings": [str(s) for s in settings], "eval20": ret.tolist(), "length": length.tolist()}, f)
