"""Tables written twice, as CSV and Parquet, with the same column types in both.

A float column keeps a decimal point in the CSV ("3.0", never "3"), so that a
CSV reader gives it back as a float like the Parquet file does; the Parquet
file is written from one pyarrow schema made from the frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def format_float(x: float) -> str:
    """Ten significant digits, and always a decimal point or an exponent (empty for NaN)."""
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.10g}"
    return text if any(c in text for c in ".en") else text + ".0"


FLOAT_FORMAT = format_float


def write_table(frame: pd.DataFrame, out: Path, name: str) -> list[Path]:
    """`name`.csv and `name`.parquet in `out`, from one frame and one schema."""
    csv, parquet = out / f"{name}.csv", out / f"{name}.parquet"
    frame.to_csv(csv, index=False, float_format=FLOAT_FORMAT)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, parquet)
    return [csv, parquet]
