"""Test-session settings: one compilation cache for the whole session, in a temporary
directory (never the user's ~/.cache), shared by in-process commands and subprocesses."""

import os
import tempfile

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_compile_cache():
    if "JGAIL_COMPILE_CACHE" in os.environ:  # the caller chose (e.g. "" to test uncached)
        yield os.environ["JGAIL_COMPILE_CACHE"]
        return
    with tempfile.TemporaryDirectory(prefix="jgail-test-cache-") as cache:
        os.environ["JGAIL_COMPILE_CACHE"] = cache
        try:
            yield cache
        finally:
            del os.environ["JGAIL_COMPILE_CACHE"]


@pytest.fixture
def trace_afresh_under_mutmut():
    """mutmut links each test to the functions it calls by watching one run of the tests
    (MUTANT_UNDER_TEST=stats); a jit cache hit calls nothing, so that run traces every test afresh.
    Used by the reference tests (`pytestmark = pytest.mark.usefixtures(...)`)."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        import jax

        jax.clear_caches()
