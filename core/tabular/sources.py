"""Opening a file: what it is (CSV, xlsx, or something we refuse by name), its text encoding and
delimiter, where its header is; then its records as chunks of raw text cells."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

import pandas as pd

from core.tabular.messages import RowError, make_error, show
from core.tabular.schema import Schema

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and also password-protected .xlsx
_SAMPLE_BYTES = 1 << 16
_HEAD_RECORDS = 50
_HEADER_SCAN = 10  # title rows above the header are common in office exports
_DELIMITERS = (",", ";", "\t")


# A file's content: in memory (a page's upload) or on disk (the command line, read in blocks and never
# whole, so that a million-row file costs the memory of a chunk, not of the file).
Data = bytes | Path
_BLOCK = 1 << 20


def blocks(data: Data, size: int = _BLOCK) -> Iterator[bytes]:
    """The content in blocks of ``size`` bytes."""
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            while block := fh.read(size):
                yield block
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]


def head_bytes(data: Data, n: int) -> bytes:
    """The first ``n`` bytes."""
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            return fh.read(n)
    return data[:n]


def size_of(data: Data) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def readable(data: Data) -> Path | io.BytesIO:
    """What pandas and openpyxl read from: the file itself, or the bytes as one."""
    return data if isinstance(data, Path) else io.BytesIO(data)


def _blank(data: Data) -> bool:
    """Nothing but a UTF-8 BOM and whitespace."""
    for n, block in enumerate(blocks(data)):
        if (block.lstrip(codecs.BOM_UTF8) if n == 0 else block).strip():
            return False
    return True


@dataclass
class Source:
    file_type: str
    encoding: str | None
    head: list[list[str]]  # first records as text, for header detection
    chunks: Iterator[pd.DataFrame]  # raw text cells; index = 0-based record (Excel row - 1)
    delimiter: str | None = None


def _decodes(data: Data, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in blocks(data):
            decoder.decode(block, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: Data) -> str | None:
    start = head_bytes(data, 4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        return "utf-16" if _decodes(data, "utf-16") else None
    if _decodes(data, "utf-8"):
        return "utf-8-sig" if start.startswith(codecs.BOM_UTF8) else "utf-8"
    return "gb18030" if _decodes(data, "gb18030") else None  # gb18030 ⊃ GBK ⊃ GB2312


def _sample_records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return []
    if not complete and records:
        records.pop()  # the sample may end inside this record
    return records[:_HEAD_RECORDS]


def find_header(records: Sequence[Sequence[str]], schema: Schema) -> tuple[int | None, int]:
    """(index of the header record, number of schema columns it names); title rows above are skipped."""
    best, best_hits, first_nonblank = None, 0, None
    for i, record in enumerate(records[:_HEADER_SCAN]):
        if first_nonblank is None and any(str(c).strip() for c in record):
            first_nonblank = i
        hits = len({k for k in map(schema.match, record) if k})
        if hits > best_hits:
            best, best_hits = i, hits
    return (best if best is not None else first_nonblank), best_hits


def _open_csv(data: Data, filename: str, schema: Schema, chunk_rows: int | None) -> Source | RowError:
    encoding = detect_encoding(data)
    if encoding is None:
        return make_error("unknown_encoding", filename=filename)
    complete = size_of(data) <= _SAMPLE_BYTES
    text = codecs.getincrementaldecoder(encoding)().decode(head_bytes(data, _SAMPLE_BYTES), final=complete)
    candidates = {d: _sample_records(text, d, complete) for d in _DELIMITERS}

    def score(d: str) -> tuple[int, int]:
        widths = [len(r) for r in candidates[d] if any(c.strip() for c in r)]
        modal = max(set(widths), key=widths.count) if widths else 0
        return find_header(candidates[d], schema)[1], widths.count(modal) if modal > 1 else 0

    delimiter = max(_DELIMITERS, key=score)
    head = candidates[delimiter]
    width = max((len(r) for r in head), default=1) or 1
    chunks = _csv_chunks(data, encoding, delimiter, width, chunk_rows)
    return Source("csv", encoding, head, chunks, delimiter)


# Rows pandas parses at a time: its C parser makes a Python str per cell before the column becomes Arrow
# text, so a chunk of 50,000 rows × 16 columns parsed at once held ~50 MB of str objects for a moment. A chunk
# is parsed in pieces of at most this many rows and the pieces joined (measured on 200,000 events: the
# import's peak -40 MB, no CPU cost seen).
PARSE_ROWS = 10_000


def _csv_chunks(
    data: Data, encoding: str, delimiter: str, width: int, chunk_rows: int | None
) -> Iterator[pd.DataFrame]:
    def read(engine: str, ncols: int, **extra: object) -> Iterator[pd.DataFrame]:
        reader = pd.read_csv(
            readable(data),
            sep=delimiter,
            header=None,
            names=list(range(ncols)),
            index_col=False,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,  # blank lines keep the row numbers true
            encoding=encoding,
            engine=engine,
            chunksize=chunk_rows if chunk_rows is None else min(chunk_rows, PARSE_ROWS),
            **extra,
        )
        if chunk_rows is None:
            return iter([reader])
        return _joined(reader, chunk_rows)

    done = 0  # records already handed out
    try:
        for chunk in read("c", width):
            yield chunk
            done += len(chunk)
        return
    except pd.errors.ParserError:
        pass  # a row wider than any in the sample; only the python engine can keep it and its row number

    def keep_overflow(fields: list[str]) -> list[str]:
        return fields[:width] + [delimiter.join(fields[width:])]

    for chunk in read("python", width + 1, on_bad_lines=keep_overflow):
        chunk = chunk[chunk.index >= done]
        if len(chunk):
            yield chunk


def _joined(reader: Iterator[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """Frames of ``rows`` rows (the last one shorter) from a pandas chunked reader's pieces, read with
    ``get_chunk`` so that no piece crosses a chunk's end; the index (the file's record numbers) runs on."""
    get_chunk = reader.get_chunk  # type: ignore[attr-defined]  # a TextFileReader
    while True:
        pieces: list[pd.DataFrame] = []
        need = rows
        while need > 0:
            try:
                piece = get_chunk(min(need, PARSE_ROWS))
            except StopIteration:
                break
            if not len(piece):
                break
            pieces.append(piece)
            need -= len(piece)
        if not pieces:
            return
        yield pieces[0] if len(pieces) == 1 else pd.concat(pieces)
        if need > 0:
            return


def _cell_text(value: object) -> str:
    """An Excel cell as the text a person would type for it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S.%f" if value.microsecond else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _open_xlsx(data: Data, filename: str, chunk_rows: int | None) -> Source | RowError:
    # openpyxl (~0.1 s to import) loads only when a workbook is read
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it ignores
            book = openpyxl.load_workbook(readable(data), read_only=True, data_only=True)
    except Exception as exc:  # damaged or foreign zip: zipfile, XML and KeyError alike
        return make_error("unreadable_file", filename=filename, detail=show(exc, 120))
    sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"] or book.worksheets
    if not sheets:
        book.close()
        return make_error("empty_file", filename=filename)
    sheet = sheets[0]
    sheet.reset_dimensions()  # some writers store a wrong used range; read what is really there
    # min_row=1: read-only mode fills gaps with empty rows, so the n-th tuple is Excel row n.
    rows = sheet.iter_rows(min_row=1, values_only=True)
    try:
        head = [[_cell_text(v) for v in row] for row in islice(rows, _HEAD_RECORDS)]
    except Exception as exc:
        book.close()
        return make_error("unreadable_file", filename=filename, detail=show(exc, 120))

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            start, size = 0, chunk_rows or 1 << 62
            texts = chain(head, ([_cell_text(v) for v in row] for row in rows))
            while batch := list(islice(texts, size)):
                yield pd.DataFrame(batch, index=range(start, start + len(batch)), dtype="str")
                start += len(batch)
        finally:
            book.close()

    return Source("xlsx", None, head, chunks())


def open_source(data: Data, filename: str, schema: Schema, chunk_rows: int | None) -> Source | RowError:
    if _blank(data):
        return make_error("empty_file", filename=filename)
    first = head_bytes(data, 512)
    if first.startswith(_ZIP):
        return _open_xlsx(data, filename, chunk_rows)
    if first.startswith(_OLE2):
        return make_error(
            "unsupported_format", value="xls", msg_key="unsupported_format_xls", filename=filename
        )
    start = first.lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
        return make_error(
            "unsupported_format", value="html", msg_key="unsupported_format_html", filename=filename
        )
    return _open_csv(data, filename, schema, chunk_rows)
