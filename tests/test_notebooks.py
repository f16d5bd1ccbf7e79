"""Every notebook runs top to bottom, in a fresh kernel, at the small budget
(JGAIL_NOTEBOOK_BUDGET=small: toy sizes, the same code paths), and draws its figures;
notebooks are committed without outputs."""

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["custom_env_and_demos.ipynb", "quickstart.ipynb", "sweep.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def small_budget(tmp_path_factory):
    """The kernels' environment: the small budget; one fresh compilation cache the notebooks
    share (a cold start, as on a new machine); and XLA's backend optimisation off, which
    halves compile time (most of a small-budget run) for code that runs ~3x slower on the
    few seconds of training left."""
    patch = pytest.MonkeyPatch()
    patch.setenv("JGAIL_NOTEBOOK_BUDGET", "small")
    patch.setenv("JGAIL_COMPILE_CACHE", str(tmp_path_factory.mktemp("compile-cache")))
    patch.setenv("XLA_FLAGS", " ".join(filter(None, [os.environ.get("XLA_FLAGS"),
                                                     "--xla_backend_optimization_level=0"])))
    yield
    patch.undo()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_at_the_small_budget(path, small_budget):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    expected = {"quickstart": 1, "sweep": 2, "custom_env_and_demos": 1}[path.stem]
    assert len(figures) == expected, f"{path.name} drew {len(figures)} figures, expected {expected}"
