"""Reading tables and checking output paths for the subcommands (every problem is one line),
and the argparse helpers they share.

``read_table`` refuses what pandas would turn into a traceback or a silent surprise (a missing,
empty, binary or non-UTF-8 file, ragged rows, duplicated headers, a wrong delimiter), naming
the file, the line and the fix. ``check_output`` runs before any training: it never lets an
output overwrite an input, and overwrites an existing file only with ``--force``.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "d.csv").write_text("x;y\\n1;2\\n")
>>> read_table(folder / "d.csv")
Traceback (most recent call last):
...
deepcause.exceptions.DataValidationError: ...d.csv has one column named 'x;y': the delimiter looks like ';'; pass --sep ';'
>>> read_table(folder / "d.csv", sep=";").shape
(1, 2)
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..exceptions import DataValidationError

__all__ = [
    "add_command",
    "add_table_arguments",
    "read_table",
    "check_output",
    "positive_int",
    "non_negative_int",
    "open_unit_float",
]

_DELIMITERS = (";", "\t", "|", ",")


def add_command(
    sub: argparse._SubParsersAction, name: str, summary: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """Add subcommand ``name``: ``summary`` in the command list, ``description`` and the
    ``epilog`` of examples (its line breaks kept) in its ``--help``."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--sep`` and ``--encoding`` (how to read the data file)."""
    parser.add_argument(
        "--sep", default=None, help="column delimiter of the data file (default ',')"
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the data file")


def _text_of(path: Path, encoding: str) -> str:
    if not path.exists():
        raise DataValidationError(f"data file {str(path)!r} does not exist")
    if path.is_dir():
        raise DataValidationError(f"data path {str(path)!r} is a folder; give a CSV file")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataValidationError(f"data file {str(path)!r} is empty")
    if b"\x00" in raw[:4096]:
        raise DataValidationError(f"data file {str(path)!r} looks binary; give a CSV text file")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"data file {str(path)!r} is not {encoding} text (byte {exc.start}); re-save it as "
            "UTF-8 or pass --encoding latin-1"
        ) from None
    except LookupError:
        raise DataValidationError(f"unknown --encoding {encoding!r}") from None


def _check_header(path: Path, header: Sequence[str], sep: str | None) -> None:
    dupes = sorted(name for name, k in Counter(header).items() if k > 1)
    if dupes:
        raise DataValidationError(
            f"{path} has duplicated column name(s) {dupes}; rename them so each column is unique"
        )
    if sep is None and len(header) == 1:
        for d in _DELIMITERS[:-1]:
            if d in header[0]:
                shown = "\\t" if d == "\t" else d
                raise DataValidationError(
                    f"{path} has one column named {header[0]!r}: the delimiter looks like "
                    f"{shown!r}; pass --sep '{shown}'"
                )


def read_table(path: str | Path, sep: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a delimited text file into a DataFrame, or raise one clear DataValidationError."""
    path = Path(path)
    text = _text_of(path, encoding)
    first = text.splitlines()[0]
    header = next(csv.reader([first], delimiter=sep or ","))
    _check_header(path, [h.strip() for h in header], sep)
    df = _read(path, text, sep)
    _check_short_rows(path, text, sep or ",", len(header))
    if df.empty:
        raise DataValidationError(f"{path} has a header but no data rows")
    return df


def _check_short_rows(path: Path, text: str, sep: str, width: int) -> None:
    """Refuse rows with fewer fields than the header (pandas would pad them with NaN)."""
    lines = pd.Series(text.splitlines())
    plain = ~lines.str.contains('"', regex=False) & (lines.str.strip() != "")
    short = plain & (lines.str.count(re.escape(sep)) < width - 1)
    if short.any():
        line = int(short.idxmax()) + 1
        got = int(lines[line - 1].count(sep)) + 1
        raise DataValidationError(
            f"{path} line {line}: expected {width} fields (as in the header), saw {got}; "
            "fix that row or pass the right --sep"
        )


def _read(path: Path, text: str, sep: str | None) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), sep=sep or ",")
    except pd.errors.ParserError as exc:
        raise _parser_error(path, exc) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"data file {str(path)!r} has no columns") from None


def _parser_error(path: Path, exc: Exception) -> DataValidationError:
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if m:
        want, line, got = m.groups()
        return DataValidationError(
            f"{path} line {line}: expected {want} fields (as in the header), saw {got}; "
            "fix that row or pass the right --sep"
        )
    return DataValidationError(f"cannot parse {path}: {str(exc).strip()}")


def check_output(out: str, inputs: Sequence[str | Path | None], force: bool) -> Path | None:
    """Validate an output path before any work; ``None`` for ``'-'`` (standard output)."""
    if out == "-":
        return None
    path = Path(out)
    if path.is_dir():
        raise DataValidationError(f"output {out!r} is a folder; give a file name")
    if not path.resolve().parent.is_dir():
        raise DataValidationError(f"the folder of output {out!r} does not exist; create it first")
    for source in inputs:
        if source is not None and path.exists() and path.resolve() == Path(source).resolve():
            raise DataValidationError(
                f"output {out!r} is the input file {str(source)!r}; choose another --out"
            )
    if (path.exists() or path.is_symlink()) and not force:
        raise DataValidationError(f"output {out!r} exists; pass --force to overwrite it")
    return path


def _typed(kind: type, test, what: str):  # type: ignore[no-untyped-def]
    def parse(text: str):  # type: ignore[no-untyped-def]
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


#: argparse types: ``-n 5`` (>= 1), ``--seed 0`` (>= 0), ``--level 0.95`` (strictly in (0, 1))
positive_int = _typed(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _typed(int, lambda v: v >= 0, "a non-negative integer")
open_unit_float = _typed(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1")
