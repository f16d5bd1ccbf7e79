"""Every public function, class, method and property in jgail/ has a docstring, and every
entry point's docstring has an example. Fast: the first test only parses the source; the
second imports the modules but compiles nothing."""

import ast
import importlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jgail"

# Entry points (module, dotted name within it): each docstring shows an "Example::".
# Names are resolved with getattr, so renaming one without updating this list fails.
ENTRY_POINTS = [
    ("jgail.envs", "make"),
    ("jgail.generators.rl", "init"),
    ("jgail.generators.rl", "train"),
    ("jgail.generators.rl", "run"),
    ("jgail.generators.rl", "update"),
    ("jgail.imitation.gail", "GAILConfig"),
    ("jgail.imitation.gail", "init"),
    ("jgail.imitation.gail", "train"),
    ("jgail.imitation.gail", "run"),
    ("jgail.imitation.gail", "update"),
    ("jgail.imitation.bc", "fit"),
    ("jgail.imitation.bc", "train"),
    ("jgail.data.demos", "collect"),
    ("jgail.data.demos", "save"),
    ("jgail.data.demos", "load"),
    ("jgail.data.demos", "from_arrays"),
    ("jgail.data.demos", "from_minari"),
    ("jgail.data.demos", "filter_episodes"),
    ("jgail.data.demos", "to_jax"),
    ("jgail.run.sweep", "grid"),
    ("jgail.run.sweep", "in_axes"),
    ("jgail.run.evaluation", "evaluate"),
    ("jgail.imitation.transfer", "train"),
    ("jgail.imitation.transfer", "train_best_of"),
    ("jgail.imitation.transfer", "LearnedReward.from_gail"),
    ("jgail.run.driver", "drive"),
    ("jgail.run.driver", "Job"),
    ("jgail.run.compile_cache", "enable"),
    ("jgail.run.aggregate", "summarize"),
    ("jgail.run.plots", "plot_runs"),
    ("jgail.run.plots", "plot_metrics"),
    ("jgail.generators.ppo", "PPOConfig"),
    ("jgail.generators.trpo", "TRPOConfig"),
    ("jgail.cli.app", "main"),
]


def _public(name: str) -> bool:
    return not name.startswith("_")


def missing_docstrings(root: pathlib.Path = PACKAGE) -> list[str]:
    """"path: name" of every public module-level function or class, and every public method or
    property of a public class, that has no docstring."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    missing = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent).as_posix()
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if not isinstance(node, (*functions, ast.ClassDef)) or not _public(node.name):
                continue
            if not ast.get_docstring(node):
                missing.append(f"{where}: {node.name}")
            if isinstance(node, ast.ClassDef):
                missing += [f"{where}: {node.name}.{m.name}" for m in node.body
                            if isinstance(m, functions) and _public(m.name) and not ast.get_docstring(m)]
    return missing


def test_every_public_function_and_class_has_a_docstring():
    missing = missing_docstrings()
    assert not missing, f"{len(missing)} public name(s) lack a docstring:\n" + "\n".join(missing)


@pytest.mark.parametrize(("module", "name"), ENTRY_POINTS, ids=[f"{m}.{n}" for m, n in ENTRY_POINTS])
def test_entry_point_docstring_has_an_example(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    doc = obj.__doc__ or ""
    assert "Example" in doc, f"{module}.{name}'s docstring has no Example"
