"""Plain-Python helpers of the rule files (kept out of the .smk files, as Snakemake's linter asks)."""

import json
import shlex


def notebook_outputs(name: str) -> dict[str, str]:
    """The standard outputs of a figure notebook."""
    return {
        "pdf": f"results/figures/{name}.pdf",
        "png": f"results/figures/{name}.png",
        "claims": f"results/claims/{name}.json",
        "notebook": f"results/notebooks/{name}.ipynb",
    }


def papermill_params(**values) -> str:
    """Notebook parameters as one shell-quoted YAML (JSON) string for papermill -y."""
    return shlex.quote(json.dumps(values))


def fmt_float(x: float) -> str:
    """Run names spell floats the way the paper does (0.005, 0.01, 0.05)."""
    return f"{x:g}"


def src_pythonpath(basedir: str) -> str:
    """Shell prefix that puts the checkout's src/ first on PYTHONPATH."""
    return f"PYTHONPATH={shlex.quote(basedir + '/src')}${{PYTHONPATH:+:$PYTHONPATH}}"
