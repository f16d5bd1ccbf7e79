"""The `jgail` command line: a thin host shell around the jitted core."""

from jgail.cli.app import main, parser

__all__ = ["main", "parser"]
