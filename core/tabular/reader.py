"""Reading a whole table: the header planned against the schema, every chunk's cells converted and
checked (natural keys unique across the file), problems numbered as the person sees the row in Excel.

Parsing is vectorised so a 1,000,000-row CSV reads in bounded memory through :func:`iter_table`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import Misuse
from core.i18n import t
from core.tabular.cells import convert
from core.tabular.messages import PerLang, RowError, list_sep, make_error, show
from core.tabular.schema import Column, Schema, empty_rows
from core.tabular.sources import Data, find_header, open_source


@dataclass
class ParsedChunk:
    """Up to ``chunk_rows`` rows of one file. File-level errors and warnings come with the first chunk."""

    rows: pd.DataFrame  # valid typed rows: schema keys + _row
    errors: list[RowError]
    warnings: list[RowError]
    rows_read: int  # non-blank data rows seen in this chunk, valid or not
    error_count: int  # errors found, including any beyond max_errors that were not materialised
    encoding: str | None
    file_type: str | None  # "csv" | "xlsx" | None when unreadable
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


@dataclass
class ReadResult:
    """A whole file: valid typed rows (schema keys + ``_row``) and every problem found."""

    rows: pd.DataFrame
    errors: list[RowError]
    warnings: list[RowError]
    rows_read: int
    error_count: int
    encoding: str | None
    file_type: str | None
    unknown_columns: list[str]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def truncated(self) -> bool:
        """More errors were found than ``max_errors`` kept."""
        return self.error_count > len(self.errors)


class _SeenKeys:
    """Hashes of natural keys already read, each with the first row that had it.

    Sorted runs merged like a binary counter, so memory is 16 bytes per distinct key and a lookup costs
    O(log² n) however the file is chunked. Keys are compared by 64-bit hash: a false "duplicate" needs a
    collision, about 3e-8 for a whole 1,000,000-row file.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first_rows(self, hashes: np.ndarray) -> np.ndarray:
        out = np.zeros(len(hashes), dtype=np.int64)  # 0 = not seen (rows start at 2)
        for keys, rows in self._runs:
            at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            hit = keys[at] == hashes
            out[hit] = rows[at[hit]]
        return out

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if not len(hashes):  # every key of the chunk was seen before: an empty run would break lookups
            return
        keys, first = hashes, rows
        while self._runs and len(self._runs[-1][0]) <= len(keys):
            old_keys, old_rows = self._runs.pop()
            keys, first = np.concatenate([old_keys, keys]), np.concatenate([old_rows, first])
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], first[order]))


# ------------------------------------------------------------------------------------------ chunks


@dataclass
class _Context:
    schema: Schema
    positions: dict[str, int]  # column key → field position
    header_width: int
    delimiter: str | None  # CSV only: fields past the header mean a shifted row
    seen: _SeenKeys
    budget: int  # errors still to materialise


def _plan_header(header: Sequence[str], schema: Schema) -> tuple[dict[str, int], list[str], list[RowError]]:
    positions: dict[str, int] = {}
    unknown: list[str] = []
    errors: list[RowError] = []
    for pos, cell in enumerate(header):
        text = str(cell).strip()
        if not text:
            continue
        key = schema.match(text)
        if key is None:
            unknown.append(text)
        elif key in positions:
            errors.append(
                make_error(
                    "duplicate_column",
                    column=schema.column(key),
                    value=text,
                    other=str(header[positions[key]]).strip(),
                )
            )
        else:
            positions[key] = pos
    for col in schema.columns:
        if col.required and col.key not in positions:
            aliases = PerLang(list_sep("zh").join(col.aliases), list_sep("en").join(col.aliases))
            errors.append(make_error("missing_column", column=col, aliases=aliases))
    return positions, unknown, errors


@dataclass
class _Issue:
    code: str
    order: int  # column position in the schema: errors sort by row, then column
    positions: np.ndarray  # into the chunk's non-blank rows
    cells: pd.Series | None  # texts for the message's value, indexed by position
    params: dict[str, object]
    column: Column | None = None
    other: np.ndarray | None = None  # duplicate_key: the earlier row


def _parse_chunk(raw: pd.DataFrame, ctx: _Context) -> tuple[pd.DataFrame, list[RowError], int, int]:
    """Raw text records → (valid typed rows, errors kept, errors found, non-blank rows read)."""
    schema = ctx.schema
    stripped = {c: (raw[c].fillna("") if raw[c].hasnans else raw[c]).str.strip() for c in raw.columns}
    nonblank = np.zeros(len(raw), dtype=bool)
    for cells in stripped.values():
        nonblank |= (cells != "").to_numpy()
    keep = np.flatnonzero(nonblank)
    rows_no = raw.index.to_numpy()[keep].astype(np.int64) + 1
    n = len(keep)

    def kept(cells: pd.Series) -> pd.Series:
        return (cells if n == len(cells) else cells.iloc[keep]).reset_index(drop=True)

    typed: dict[str, pd.Series] = {}
    key_cells: dict[str, pd.Series] = {}
    issues: list[_Issue] = []
    for order, col in enumerate(schema.columns):
        pos = ctx.positions.get(col.key)
        if pos is not None and pos in stripped:
            cells = kept(stripped[pos])
        else:
            cells = pd.Series([""] * n, dtype="str")
        key_cells[col.key] = cells
        typed[col.key], problems = convert(cells, col)
        issues += [
            _Issue(code, order, np.flatnonzero(mask), cells, params, col)
            for code, mask, params in problems
            if mask.any()
        ]

    if ctx.delimiter is not None:
        extra = [kept(stripped[c]) for c in raw.columns if c >= ctx.header_width]
        over = np.zeros(n, dtype=bool)
        for cells in extra:
            over |= (cells != "").to_numpy()
        if over.any():
            spill = _join_nonempty([cells[over] for cells in extra], ctx.delimiter)
            issues.append(
                _Issue("too_many_fields", -1, np.flatnonzero(over), spill, {"width": ctx.header_width})
            )

    frame = pd.DataFrame(typed)
    if schema.key and n:
        dup, other = _duplicates(frame, rows_no, ctx)
        if len(dup):
            cols = [schema.column(k) for k in schema.key]
            texts = _join_nonempty([key_cells[k].iloc[dup].set_axis(dup) for k in schema.key], " / ")
            label = PerLang(
                list_sep("zh").join(c.label_zh for c in cols),
                list_sep("en").join(f'"{c.label_en}"' for c in cols),
            )
            issues.append(
                _Issue(
                    "duplicate_key",
                    len(schema.columns),
                    dup,
                    texts,
                    {"col": label, "key": ",".join(schema.key)},
                    other=other,
                )
            )

    bad = np.zeros(n, dtype=bool)
    for issue in issues:
        bad[issue.positions] = True
    frame["_row"] = rows_no
    rows = frame[~bad].reset_index(drop=True)
    errors, found = _materialise(issues, rows_no, ctx)
    return rows, errors, found, n


def _join_nonempty(parts: list[pd.Series], sep: str) -> pd.Series:
    """Row-wise join of the non-empty texts of aligned Series, vectorised."""
    out = parts[0]
    for part in parts[1:]:
        glue = np.where((out != "").to_numpy() & (part != "").to_numpy(), sep, "")
        out = out + glue + part
    return out


def _duplicates(frame: pd.DataFrame, rows_no: np.ndarray, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Positions whose natural key appeared on an earlier row (in this or an earlier chunk), and that row."""
    keys = frame[list(ctx.schema.key)]
    pos = np.flatnonzero(keys.notna().all(axis=1).to_numpy())
    if not len(pos):
        return pos, pos
    hashes = pd.util.hash_pandas_object(keys.iloc[pos], index=False).to_numpy()
    rows = rows_no[pos]
    earlier = ctx.seen.first_rows(hashes)
    first_here = pd.Series(rows).groupby(hashes, sort=False).transform("first").to_numpy()
    other = np.where(earlier > 0, earlier, first_here)
    ctx.seen.add(hashes[(earlier == 0) & (first_here == rows)], rows[(earlier == 0) & (first_here == rows)])
    dup = other != rows
    return pos[dup], other[dup]


def _materialise(issues: list[_Issue], rows_no: np.ndarray, ctx: _Context) -> tuple[list[RowError], int]:
    """The first ``ctx.budget`` issues in (row, column) order as RowErrors; returns them and the total."""
    found = sum(len(i.positions) for i in issues)
    take = min(found, ctx.budget)
    if not take:
        return [], found
    which = np.concatenate([np.full(len(i.positions), k) for k, i in enumerate(issues)])
    index = np.concatenate([np.arange(len(i.positions)) for i in issues])
    rows = np.concatenate([rows_no[i.positions] for i in issues])
    order = np.concatenate([np.full(len(i.positions), i.order) for i in issues])
    errors = []
    for j in np.lexsort((order, rows))[:take]:
        issue, k = issues[which[j]], index[j]
        pos = issue.positions[k]
        value = None if issue.code == "required" or issue.cells is None else str(issue.cells.loc[pos])
        params = dict(issue.params)
        if issue.other is not None:
            params["other"] = int(issue.other[k])
        errors.append(make_error(issue.code, row=int(rows[j]), column=issue.column, value=value, **params))
    ctx.budget -= take
    return errors, found


# ------------------------------------------------------------------------------------------ public API


def iter_table(
    data: Data, filename: str, schema: Schema, *, chunk_rows: int | None = 100_000, max_errors: int = 1000
) -> Iterator[ParsedChunk]:
    """Read a CSV/xlsx file in chunks of at most ``chunk_rows`` rows (None = one chunk).

    Yields at least one chunk. Rows are numbered as in Excel across chunks, and a natural key repeated
    anywhere in the file is reported on the later row. Chunks already yielded cannot be withdrawn: a
    caller that wants all-or-nothing writes them in one transaction and rolls back unless every chunk is ok.
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise Misuse("chunk_rows must be positive")
    data = data if isinstance(data, Path) else bytes(data)  # a file on disk is read in blocks, never whole

    def file_chunk(
        errors: list[RowError],
        encoding: str | None = None,
        file_type: str | None = None,
        warnings: list[RowError] | None = None,
        unknown: list[str] | None = None,
    ) -> ParsedChunk:
        return ParsedChunk(
            empty_rows(schema),
            errors[:max_errors],
            warnings or [],
            0,
            len(errors),
            encoding,
            file_type,
            unknown or [],
        )

    source = open_source(data, filename, schema, chunk_rows)
    if isinstance(source, RowError):
        yield file_chunk([source])
        return
    header_at, _ = find_header(source.head, schema)
    if header_at is None:
        yield file_chunk([make_error("empty_file", filename=filename)], source.encoding, source.file_type)
        return
    header = source.head[header_at]
    positions, unknown, header_errors = _plan_header(header, schema)
    notes = [make_error("unknown_column", value=text) for text in unknown]
    if header_errors:  # rows cannot be read against the wrong columns: fix the header first
        yield file_chunk(header_errors, source.encoding, source.file_type, notes, unknown)
        return
    width = max((i + 1 for i, c in enumerate(header) if str(c).strip()), default=0)
    ctx = _Context(schema, positions, width, source.delimiter, _SeenKeys(), max_errors)
    rows_read = 0
    yielded = False
    while True:
        try:
            raw = next(source.chunks, None)
        except Exception as exc:  # damaged input: pandas, csv, zipfile and XML errors alike
            broken = [make_error("unreadable_file", filename=filename, detail=show(exc, 120))]
            yield ParsedChunk(
                empty_rows(schema),
                broken[: ctx.budget],
                notes,
                0,
                1,
                source.encoding,
                source.file_type,
                unknown,
            )
            return
        if raw is None:
            break
        rows, errors, found, read = _parse_chunk(raw[raw.index > header_at], ctx)
        rows_read += read
        if read or found or notes:
            yield ParsedChunk(rows, errors, notes, read, found, source.encoding, source.file_type, unknown)
            notes, yielded = [], True
    if not rows_read:
        notes = [*notes, make_error("no_rows", filename=filename)]
    if notes or not yielded:
        yield ParsedChunk(empty_rows(schema), [], notes, 0, 0, source.encoding, source.file_type, unknown)


def read_table(
    data: bytes,
    filename: str,
    schema: Schema,
    *,
    chunk_rows: int | None = None,
    strict: bool = False,
    max_errors: int = 1000,
) -> ReadResult:
    """Read a whole CSV/xlsx file. ``strict``: any error leaves ``rows`` empty (an all-or-nothing import)."""
    chunks = list(iter_table(data, filename, schema, chunk_rows=chunk_rows, max_errors=max_errors))
    first = chunks[0]
    frames = [c.rows for c in chunks if len(c.rows)]
    rows = pd.concat(frames, ignore_index=True) if frames else empty_rows(schema)
    result = ReadResult(
        rows,
        [e for c in chunks for e in c.errors],
        [w for c in chunks for w in c.warnings],
        sum(c.rows_read for c in chunks),
        sum(c.error_count for c in chunks),
        first.encoding,
        first.file_type,
        first.unknown_columns,
    )
    if strict and not result.ok:
        result.rows = empty_rows(schema)
    return result


def errors_frame(errors: Sequence[RowError], lang: str = "zh") -> pd.DataFrame:
    """Problems as a table for ``st.dataframe``: row and message in one language."""
    row, message = t("tabular.errors.row", lang), t("tabular.errors.problem", lang)
    return pd.DataFrame(
        {row: pd.array([e.row for e in errors], dtype="Int64"), message: [e.message(lang) for e in errors]}
    )


def to_records(rows: pd.DataFrame, schema: Schema) -> list[dict[str, object]]:
    """Valid rows as dicts of plain Python values (None for empty; date kind as ``datetime.date``)."""
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        s = rows[col.key]
        if col.kind == "date":
            s = s.dt.date
        elif col.kind == "datetime":
            s = pd.Series(s.dt.to_pydatetime(), index=s.index, dtype=object)
        s = s.astype(object)
        out[col.key] = s.where(rows[col.key].notna(), None)
    out["_row"] = rows["_row"].astype(object)
    return pd.DataFrame(out).to_dict("records")
