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
