# Shared helpers of the rule files: the package's command line, parameter passing to
# notebooks, and the per-paper target lists that each experiment's rule file extends.
import json
import shlex

# Rules call the package from this checkout, so a conda environment made by --sdm conda
# (which holds the dependencies but not the package) runs the same code as the venv.
SRC_PATH = f"PYTHONPATH={shlex.quote(str(Path(workflow.basedir) / 'src'))}${{PYTHONPATH:+:$PYTHONPATH}}"
IMPREG = f"{SRC_PATH} python -m impreg"
PAPERMILL = f"{SRC_PATH} papermill --log-output --kernel python3 --cwd ."
CONDA_ENV = "../../envs/environment.yaml"

# Each experiment's rule file appends the files of its figures, tables and claims.
PAPER1_TARGETS: list[str] = []
PAPER2_TARGETS: list[str] = []
CLAIMS: list[str] = []


def notebook_outputs(name):
    """The standard outputs of a figure notebook."""
    return {
        "pdf": f"results/figures/{name}.pdf",
        "png": f"results/figures/{name}.png",
        "claims": f"results/claims/{name}.json",
        "notebook": f"results/notebooks/{name}.ipynb",
    }


def papermill_params(**values):
    """Notebook parameters as one shell-quoted YAML (JSON) string for papermill -y."""
    return shlex.quote(json.dumps(values))


def fmt_float(x):
    """Run names spell floats the way the paper does (0.005, 0.01, 0.05)."""
    return f"{x:g}"
