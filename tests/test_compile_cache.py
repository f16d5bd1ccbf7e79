"""The persistent compilation cache: a second process loads the compiled training function
from disk instead of compiling it; an unusable or disabled cache never stops a run."""

import json
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

from jgail import cli, demos, envs
from jgail.run import compile_cache

ENV = ["--env", "CartPole-v1", "--max-episode-steps", "50"]
HIT = re.compile(r"Persistent compilation cache hit for '(\w+)' with key '([\w-]+)'")
JGAIL = "import sys; from jgail.cli.app import console_main; sys.exit(console_main())"  # the `jgail` script
COMPILED = re.compile(r"Finished XLA compilation of jit\((\w+)\) in ([0-9.]+) sec")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """Two made-up 20-step episodes: the cache does not care whether the expert is any good."""
    env = envs.make("CartPole-v1", max_episode_steps=50)
    rng = np.random.default_rng(0)
    data = demos.from_arrays(rng.normal(size=(40, 4)) * 0.05, rng.integers(0, 2, 40), episode_id=np.repeat([0, 1], 20),
                             episode_returns=np.array([20.0, 20.0]), env=env)
    return demos.save(data, str(tmp_path_factory.mktemp("data") / "demos.npz"))


def _jgail(*argv, env=None):
    """`jgail ARGV` in a fresh process, with JAX logging each compilation and cache hit."""
    env = {**os.environ, "JAX_LOG_COMPILES": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-c", JGAIL, *argv], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def _entries(cache_dir):
    return sorted(name for name in os.listdir(cache_dir) if name.endswith("-cache"))


def test_second_process_loads_the_gail_training_function_from_the_cache(demo_file, tmp_path):
    cache_dir = str(tmp_path / "cache")
    gail = ["gail", *ENV, "--demos", demo_file, "--total-timesteps", "2048", "--seeds", "1", "--eval-episodes", "2"]

    cold_log = _jgail("--compile-cache", cache_dir, *gail, "--out", str(tmp_path / "cold"))
    written = set(_entries(cache_dir))
    compiles = [(float(seconds), name) for name, seconds in COMPILED.findall(cold_log)]
    training = "jit_" + max(compiles)[1]  # the slowest compilation of the first run: GAIL's training call
    assert not HIT.findall(cold_log) and any(entry.startswith(training + "-") for entry in written), written

    warm_log = _jgail("--compile-cache", cache_dir, *gail, "--out", str(tmp_path / "warm"))
    hits = HIT.findall(warm_log)
    # JAX's own log: every program the first process stored, the training call among them,
    # was loaded from its entry in the second, not compiled.
    assert training in {module for module, _ in hits}
    assert written <= {f"{key}-cache" for _, key in hits}

    cold, warm = (json.load(open(tmp_path / run / "summary.json")) for run in ("cold", "warm"))
    assert warm["eval_mean_return_per_seed"] == cold["eval_mean_return_per_seed"]


def _unwritable_dir(tmp_path):
    """A read-only directory; as root, whom permission bits do not stop, a path under a plain file."""
    path = tmp_path / "read_only"
    path.mkdir()
    path.chmod(0o555)
    if os.access(path, os.W_OK):
        (tmp_path / "a_file").write_text("")
        return str(tmp_path / "a_file" / "cache")
    return str(path)


def test_an_unwritable_cache_is_a_warning_and_the_command_still_runs(demo_file, tmp_path):
    cache_dir = _unwritable_dir(tmp_path)
    with pytest.warns(RuntimeWarning, match="not writable.*running without the persistent compilation cache"):
        code = cli.main(["--compile-cache", cache_dir, "bc", *ENV, "--demos", demo_file, "--updates", "10",
                         "--seeds", "1", "--eval-episodes", "2", "--out", str(tmp_path / "bc")])
    assert code == 0 and os.path.exists(tmp_path / "bc" / "summary.json")
    assert jax.config.jax_compilation_cache_dir != cache_dir


def test_an_empty_variable_or_the_flag_turns_the_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(compile_cache.ENV_VAR, "")
    assert compile_cache.enable() is None
    assert jax.config.jax_compilation_cache_dir is None and not os.path.exists(tmp_path / "jgail")
    assert cli.parser().parse_args(["--no-compile-cache", "bc", *ENV, "--demos", "d", "--out", "o"]).compile_cache == ""
    assert compile_cache.resolve("") is None
    assert compile_cache.default_dir() == str(tmp_path / "jgail" / "jax-compile-cache")
