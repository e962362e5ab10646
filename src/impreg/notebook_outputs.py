"""What every figure notebook does with what it made: the figure as PDF and PNG, the claims as
JSON, and the claims as a table to show under the figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from impreg.claims import Claim, write_claims


def save_figure(fig: Any, out_pdf: str | Path, out_png: str | Path) -> None:
    """A matplotlib figure as PDF and as a 200-dpi PNG (the report shows the PNG)."""
    Path(out_pdf).parent.mkdir(parents=True, exist_ok=True)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_pdf)
    fig.savefig(out_png, dpi=200)


def write_and_show_claims(out_claims: str | Path, claims: list[Claim]) -> pd.DataFrame:
    """Write the claims file; return the claims as a table (id, verdict, measured, note)."""
    write_claims(out_claims, claims)
    return pd.DataFrame(
        [
            {"claim": c.id, "verdict": c.verdict, "measured": c.measured, "note": c.note}
            for c in claims
        ]
    )
