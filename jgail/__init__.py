"""jgail: Generative Adversarial Imitation Learning in JAX.

Pure, jitted training functions (`jgail.rl.train`, `jgail.gail.train`, `jgail.bc.train`)
vmappable over seeds and numeric hyperparameters, over gymnax and brax environments.
"""

import os as _os

# XLA's multithreaded Eigen pool on CPU can wedge forever on large vmapped graphs (seen
# here twice: every thread idle, the result never ready; also reported upstream, e.g.
# PyAutoFit#1528/#1530). Single-threaded Eigen avoids it; the flag only touches XLA:CPU.
# Set JGAIL_KEEP_XLA_FLAGS=1 to leave XLA_FLAGS alone. Must run before JAX's backend starts.
_FLAG = "--xla_cpu_multi_thread_eigen=false"
if not _os.environ.get("JGAIL_KEEP_XLA_FLAGS") and "xla_cpu_multi_thread_eigen" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()

__version__ = "0.1.0"
