"""Read and write tables (csv, tsv, parquet) with clear errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sdops_dvc.base.errors import DataError
from sdops_dvc.base.fsutil import atomic_path

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

READERS = (".csv", ".tsv", ".parquet", ".pq")


def read_table(path: Path, *, what: str = "table") -> pd.DataFrame:
    """Read a table, refusing missing files, non-tables and empty tables."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"{what} {path} does not exist", hint="check the path, or run `dvc pull`")
    if path.is_dir():
        raise DataError(f"{what} {path} is a directory, not a table file")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(
            f"{what} {path}: unsupported file type {suffix or '(none)'!r}",
            hint=f"use one of {', '.join(READERS)}",
        )
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            sep = "\t" if suffix == ".tsv" else ","
            df = pd.read_csv(path, sep=sep, low_memory=False)
            # pandas renames a repeated header "a" to "a.1"; refuse it instead
            header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str)
            raw = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
            repeated = sorted({v for v in raw if raw.count(v) > 1})
            if repeated:
                raise DataError(
                    f"{what} {path} has duplicate or unnamed columns: {', '.join(repeated)}",
                    hint="give every column a unique header",
                )
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{what} {path} is empty (no header, no rows)",
            hint="point params.yaml at a table with a header and rows",
        ) from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"{what} {path} is not a readable {suffix.lstrip('.')} table ({first[:200]})",
            hint="check that the file is a table with a header row",
        ) from None
    except Exception as exc:  # pyarrow raises its own error types
        if type(exc).__module__.startswith("pyarrow"):
            raise DataError(
                f"{what} {path} is not a readable parquet table ({type(exc).__name__})",
                hint="check that the file is a parquet table",
            ) from None
        raise
    check_table(df, path, what=what)
    return df


def check_table(df: pd.DataFrame, path: Path | str, *, what: str = "table") -> None:
    if df.shape[1] == 0:
        raise DataError(f"{what} {path} has no columns")
    if len(df) == 0:
        raise DataError(
            f"{what} {path} has a header but no rows",
            hint="an empty table cannot be synthesized; check the export",
        )
    names = [str(c) for c in df.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or any(n.startswith("Unnamed: ") for n in names):
        bad = dupes or [n for n in names if n.startswith("Unnamed: ")]
        raise DataError(
            f"{what} {path} has duplicate or unnamed columns: {', '.join(bad)}",
            hint="give every column a unique header",
        )


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write atomically; the bytes depend only on the data (byte-identical regeneration)."""
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        write_table_to(df, tmp, suffix)


def write_table_to(df: pd.DataFrame, target: Path, suffix: str) -> None:
    if suffix in (".parquet", ".pq"):
        df.to_parquet(target, index=False, engine="pyarrow", compression="snappy")
    elif suffix == ".tsv":
        df.to_csv(target, index=False, sep="\t", lineterminator="\n")
    elif suffix == ".csv":
        df.to_csv(target, index=False, lineterminator="\n")
    else:
        raise DataError(f"cannot write {target}: unsupported type {suffix!r}")


def require_columns(
    df: pd.DataFrame, named: dict[str, list[str]], where: str, *, named_in: str = "params.yaml"
) -> None:
    """Every column named in params (or ``named_in``) must exist; name the key and the
    column."""
    have = [str(c) for c in df.columns]
    problems = []
    for key, cols in named.items():
        for col in cols:
            if col not in have:
                import difflib

                close = difflib.get_close_matches(col, have, n=1)
                sugg = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"  {key}: column {col!r} is not in {where}{sugg}")
    if problems:
        raise DataError(
            f"{named_in} names columns the table lacks:\n" + "\n".join(problems),
            hint=f"fix the names in {named_in}; {where} has: {', '.join(have)}",
        )


def row_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:  # type: ignore[type-arg]
    """A 64-bit hash per row, insensitive to int/float and csv/parquet dtype differences."""
    import pandas as pd

    canon = {}
    df = df.reset_index(drop=True)  # the frame below is indexed 0..n-1: align to it
    for c in columns:
        col = df[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            canon[c] = col.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(col):
            canon[c] = col.astype("int64").astype("float64").where(col.notna())
        else:
            canon[c] = col.astype("string").fillna("\x00<null>")
    frame = pd.DataFrame(canon, index=range(len(df)))
    hashed: np.ndarray = pd.util.hash_pandas_object(frame, index=False).to_numpy()  # type: ignore[type-arg]
    return hashed
