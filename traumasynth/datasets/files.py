"""Reading a raw file: pandas' and pyarrow's failures turned into one-line errors that say the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from traumasynth.core.errors import DataError


@contextmanager
def read_errors(path: Path, *, what: str, if_empty: str, export_as: str) -> Iterator[None]:
    """Run a read of ``path``; an empty, non-text or unparsable file raises one ``DataError``.

    Args:
        what: how the message names the file, e.g. "Data file" or "NEISS file".
        if_empty: the fix when the file is empty.
        export_as: the formats to export it again as, e.g. "a UTF-8 CSV or Parquet".
    """
    suffix = path.suffix.lower()
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} {path} is empty. {if_empty}") from None
    except UnicodeDecodeError:
        raise DataError(
            f"{what} {path} is not UTF-8 text (or not a {suffix} file at all). Export it as {export_as}."
        ) from None
    except (ValueError, OSError) as exc:  # pandas' ParserError and pyarrow's ArrowInvalid are ValueErrors
        reason = " ".join(str(exc).split())[:200]
        raise DataError(
            f"{what} {path} cannot be read as a {suffix} file ({reason}). Export it as {export_as}."
        ) from None
