"""The README's set-up commands are the ones CI and users run."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_commands():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(c for c in _readme_commands() if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_main_job_uses_existing_subcommands():
    from jgail.cli import parser

    main_job = next(c for c in _readme_commands() if "jgail expert" in c)
    for part in main_job.split("&&")[1:]:
        argv = part.split()[1:]  # drop "jgail"
        parser().parse_args(argv)  # exits with status 2 on an unknown flag
