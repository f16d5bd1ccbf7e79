"""A disk that fills mid-run (a real, small tmpfs in a private mount namespace: `unshare -rm`,
no root needed where user namespaces are allowed): the command stops with exit status 4 and one
message, the last complete checkpoint is intact, and a copy of the run directory on another
disk resumes to the uninterrupted run's result. `--overwrite` never destroys the earlier run
before the new one has finished, and never leaves the earlier run's checkpoints beside the
new run's."""

import json
import os
import shlex
import shutil
import subprocess
import sys

import jax
import pytest

from jgail import demos, envs, scripted

GAIL = ["gail", "--env", "CartPole-v1", "--max-episode-steps", "50", "--seeds", "2", "--chunk", "1",
        "--checkpoint-every", "1", "--eval-episodes", "5", "--no-progress"]


def _jgail(*argv):
    return [sys.executable, "-c", "import sys; from jgail.cli import main; sys.exit(main(sys.argv[1:]))", *argv]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    env = envs.make("CartPole-v1", max_episode_steps=50)
    data = demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True)
    return str(demos.save(data, tmp_path_factory.mktemp("demos") / "d.npz"))


def _on_a_small_disk(tmp_path, size: str, script: str) -> subprocess.CompletedProcess:
    """Run shell `script` with a fresh tmpfs of `size` mounted at $DISK (gone when it returns:
    the script copies out what the test looks at)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare to mount a private tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    wrapped = f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(disk))} || exit 97\nDISK={disk}\n{script}"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", wrapped], capture_output=True, text=True)
    if done.returncode == 97 or "unshare failed" in done.stderr or "Operation not permitted" in done.stderr:
        pytest.skip(f"this machine allows no private tmpfs mount (user namespaces off?): {done.stderr[-300:]}")
    return done


def _cmd(*argv) -> str:
    """The shell command line of `jgail argv`, RUN standing for "$DISK/run"."""
    return " ".join(shlex.quote(a) for a in _jgail(*argv)).replace(" RUN", ' "$DISK/run"')


def test_a_full_disk_stops_the_run_with_its_checkpoint_intact_and_a_copy_resumes(demo_file, tmp_path):
    whole = tmp_path / "whole"
    assert subprocess.run(_jgail(*GAIL, "--demos", demo_file, "--total-timesteps", "8192", "--out", str(whole)),
                          capture_output=True, text=True).returncode == 0
    copy = tmp_path / "copy"
    script = (f"{_cmd(*GAIL, '--demos', demo_file, '--total-timesteps', '8192', '--out', 'RUN')}; "
              f"echo status=$?; cp -r $DISK/run {shlex.quote(str(copy))}")
    done = _on_a_small_disk(tmp_path, "1m", script)
    assert "status=4" in done.stdout, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("jgail gail: error: no space left on the device"), done.stderr
    assert "last complete checkpoint (iteration" in lines[0] and "--resume" in lines[0], lines[0]
    steps = sorted(int(n) for n in os.listdir(copy / "checkpoints") if n.isdigit())
    assert steps and max(steps) < 8, "the disk must fill mid-run for this test to mean anything"
    assert not [n for n in os.listdir(copy / "checkpoints") if "tmp" in n]  # the half-written one is gone

    resumed = subprocess.run(_jgail("gail", "--resume", str(copy), "--no-progress"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert (copy / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    per_seed = [json.loads((d / "summary.json").read_text())["eval_mean_return_per_seed"] for d in (copy, whole)]
    assert per_seed[0] == per_seed[1]


def test_overwrite_on_a_full_disk_keeps_the_earlier_run(demo_file, tmp_path):
    copy = tmp_path / "copy"
    earlier = _cmd(*GAIL, "--demos", demo_file, "--total-timesteps", "2048", "--keep", "1", "--out", "RUN")
    replace = _cmd(*GAIL, "--demos", demo_file, "--total-timesteps", "8192", "--out", "RUN", "--overwrite")
    script = (f"{earlier} || exit 1\n"
              f"cp $DISK/run/summary.json {shlex.quote(str(tmp_path / 'earlier_summary.json'))}\n"
              "dd if=/dev/zero of=$DISK/filler bs=1k count=100000 2>/dev/null\n"  # fills the disk to the brim
              "rm $DISK/filler; dd if=/dev/zero of=$DISK/filler bs=1k count=$(( $(df -k --output=avail $DISK | "
              "tail -1) - 150 )) 2>/dev/null\n"  # leaves 150 KiB: less than one checkpoint
              f"{replace}; echo status=$?\n"
              f"cp -r $DISK/run {shlex.quote(str(copy))}")
    done = _on_a_small_disk(tmp_path, "3m", script)
    assert "status=4" in done.stdout, (done.stdout, done.stderr)
    assert "The earlier run that --overwrite was replacing is intact" in done.stderr, done.stderr
    previous = copy / ".jgail-previous"
    assert (previous / "summary.json").read_text() == (tmp_path / "earlier_summary.json").read_text()
    assert [n for n in os.listdir(previous / "checkpoints") if n.isdigit()] == ["2"]


def test_overwrite_replaces_the_earlier_runs_checkpoints_and_drops_it_once_done(demo_file, tmp_path):
    run = tmp_path / "run"
    # The first run is test 1's uninterrupted one: the same compiled chunk, loaded from the cache.
    for budget, extra in (("8192", []), ("4096", ["--overwrite"])):
        done = subprocess.run(_jgail(*GAIL, "--demos", demo_file, "--total-timesteps", budget, "--out", str(run),
                                     *extra), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    # The earlier run's checkpoints 6, 7, 8 would otherwise outrank the new run's 2, 3, 4 (a silent mix).
    assert sorted(int(n) for n in os.listdir(run / "checkpoints") if n.isdigit()) == [2, 3, 4]
    assert not (run / ".jgail-previous").exists()
    assert max(json.loads(line)["iteration"] for line in (run / "metrics.jsonl").read_text().splitlines()) == 4
