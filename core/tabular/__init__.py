"""The one reader for every imported table (workers, metrics, events, attendance), and the one writer of
spreadsheets people download.

Offices export CSV and Excel in many shapes: GB18030/GBK or UTF-8 with or without BOM, Chinese or English
headers with stray spaces, full-width brackets and ``*`` markers, dates as Excel cells, serial numbers,
``2020/6/1`` or ``2020年6月1日``, numbers with thousands separators, title rows above the header and blank
rows below the data. A :class:`Schema` says what a table must contain; :func:`read_table` /
:func:`iter_table` turn the bytes into typed rows plus a bilingual :class:`RowError` for every problem,
numbered as the person sees the row in Excel. Pure: no database, no Streamlit.

One module per reason to change:
- ``schema``: Column / Schema (what a table must contain, header matching);
- ``sources``: sniffing and opening a file (format, encoding, delimiter, header row, raw chunks);
- ``cells``: cell conversion (numbers, dates, yes/no, choices, bounds);
- ``messages``: RowError and its texts, kept in the locale catalogs (``tabular.*``);
- ``reader``: a whole table, chunk by chunk (duplicate keys, error budget, row numbers);
- ``export``: formula-safe exports and import templates.
"""

from core.tabular.export import safe_cell, safe_frame, template_bytes, write_template
from core.tabular.messages import RowError
from core.tabular.reader import ParsedChunk, ReadResult, errors_frame, iter_table, read_table, to_records
from core.tabular.schema import KINDS, Column, Kind, Schema
from core.tabular.sources import Data, blocks, detect_encoding, head_bytes, readable, size_of

_detect_encoding = detect_encoding  # the older private name, kept for importers not yet renamed

__all__ = [
    "Data",
    "blocks",
    "head_bytes",
    "readable",
    "size_of",
    "Column",
    "Schema",
    "Kind",
    "KINDS",
    "RowError",
    "ParsedChunk",
    "ReadResult",
    "read_table",
    "iter_table",
    "write_template",
    "template_bytes",
    "safe_cell",
    "safe_frame",
    "errors_frame",
    "to_records",
    "detect_encoding",
]
