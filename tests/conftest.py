"""Test-session settings: one CPU device in the test process, and one compilation cache for
the whole run, in a temporary directory (never the user's ~/.cache), shared by both xdist
workers, in-process commands and subprocesses."""

import os
import tempfile

import jax
import pytest

# In-process tests run on one CPU device on any machine: a `jgail` command called in-process
# first must not give the test process one device per core (run.cpu_devices); commands run
# as subprocesses get the CLI's default.
jax.config.update("jax_num_cpu_devices", 1)


def pytest_configure(config):
    """One compilation cache for the whole run, made before pytest-xdist starts its workers
    (they inherit the environment), so a program one worker compiled is loaded by the other and
    by every subprocess: most files train the same tiny CartPole configurations."""
    if "JGAIL_COMPILE_CACHE" in os.environ or hasattr(config, "workerinput"):
        return
    config._jgail_cache = tempfile.TemporaryDirectory(prefix="jgail-test-cache-")
    os.environ["JGAIL_COMPILE_CACHE"] = config._jgail_cache.name


def pytest_unconfigure(config):
    cache = getattr(config, "_jgail_cache", None)
    if cache is not None:
        del os.environ["JGAIL_COMPILE_CACHE"]
        cache.cleanup()


@pytest.fixture(scope="session", autouse=True)
def session_compile_cache():
    """The run's cache directory: pytest_configure's, or the caller's (e.g. "" to test uncached)."""
    return os.environ["JGAIL_COMPILE_CACHE"]


@pytest.fixture
def trace_afresh_under_mutmut():
    """mutmut links each test to the functions it calls by watching one run of the tests
    (MUTANT_UNDER_TEST=stats); a jit cache hit calls nothing, so that run traces every test afresh.
    Used by the reference tests (`pytestmark = pytest.mark.usefixtures(...)`)."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        import jax

        jax.clear_caches()
