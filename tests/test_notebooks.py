"""Notebooks stay in step with the API: every code cell parses and every jgail name exists."""

import ast
import importlib
import json
import pathlib

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebook_code_parses_and_uses_existing_jgail_names():
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        tree = ast.parse(source, filename=str(path))
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "jgail":
                for alias in node.names:
                    modules[alias.asname or alias.name] = getattr(importlib.import_module("jgail"), alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                assert hasattr(modules[node.value.id], node.attr), f"{path.name}: jgail.{node.value.id}.{node.attr}"
