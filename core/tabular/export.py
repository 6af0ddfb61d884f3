"""What leaves the app as a spreadsheet: exported cells made safe from formula injection, and the import
templates (header in the reader's language, one example row, and a notes sheet on each column)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from core.errors import Misuse
from core.i18n import t
from core.tabular.schema import Column, Schema, fmt_bound

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: also tab and carriage return


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formula injection in an exported cell: ``=1+1`` → ``'=1+1``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`safe_cell` over every text column of a DataFrame."""
    out = frame.copy()
    for name in out.columns:
        s = out[name]
        if isinstance(s.dtype, pd.StringDtype):
            risky = s.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
        elif s.dtype == object:
            risky = np.fromiter(
                (isinstance(v, str) and v.startswith(_FORMULA_START) for v in s), bool, len(s)
            )
        else:
            continue
        out[name] = s.where(~risky, "'" + s.astype(str))
    return out


def _yes_no(value: bool, lang: str) -> str:
    return t("tabular.yes" if value else "tabular.no", lang)


def _example_text(col: Column, lang: str) -> str:
    value = col.example
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value, lang)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _column_note(col: Column, lang: str) -> str:
    parts = [t(f"tabular.kind.{col.kind}", lang)]
    if col.kind == "enum":
        parts.append(t("tabular.list_sep", lang).join(col.choice_lists()[0 if lang == "zh" else 1]))
    if col.min is not None:
        parts.append(t("tabular.note.min", lang, bound=fmt_bound(col.min)))
    if col.max is not None:
        parts.append(t("tabular.note.max", lang, bound=fmt_bound(col.max)))
    if col.max_length is not None:
        parts.append(t("tabular.note.max_length", lang, limit=col.max_length))
    return t("tabular.note.sep", lang).join(parts)


def template_bytes(schema: Schema, fmt: Literal["csv", "xlsx"] = "xlsx", lang: str = "zh") -> bytes:
    """An import template: the header in ``lang`` and one example row (for ``st.download_button``)."""
    headers = [c.label(lang) for c in schema.columns]
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerow([_example_text(c, lang) for c in schema.columns])
        return text.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8, not the ANSI code page
    if fmt != "xlsx":
        raise Misuse(f"unknown template format {fmt!r}")
    return _xlsx_template(schema, headers, lang)


def _xlsx_template(schema: Schema, headers: list[str], lang: str) -> bytes:
    # openpyxl (~0.1 s to import) loads only when a workbook is written
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = schema.name[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, col in enumerate(schema.columns, start=1):
        letter = get_column_letter(i)
        cell = sheet.cell(row=2, column=i)
        value = col.example
        if isinstance(value, bool) or col.kind in ("str", "enum"):
            cell.value = _example_text(col, lang)
        elif isinstance(value, dt.date):
            cell.value = value
            cell.number_format = "yyyy-mm-dd hh:mm" if col.kind == "datetime" else "yyyy-mm-dd"
        else:
            cell.value = value  # the example is a number or text
        if col.kind == "str":  # keep leading zeros of IDs and phone numbers typed later
            sheet.column_dimensions[letter].number_format = "@"
            cell.number_format = "@"
        sheet.column_dimensions[letter].width = max(12, 2 * len(headers[i - 1]) + 4)
        if col.kind in ("enum", "bool"):
            options = (
                col.choice_lists()[0 if lang == "zh" else 1]
                if col.kind == "enum"
                else [_yes_no(True, lang), _yes_no(False, lang)]
            )
            formula = '"' + ",".join(options) + '"'
            if len(formula) <= 255 and not any("," in o for o in options):  # Excel's limit for inline lists
                rule = DataValidation(type="list", formula1=formula, allow_blank=not col.required)
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}1048576")
    sheet.freeze_panes = "A2"
    notes = book.create_sheet(t("tabular.notes.sheet", lang))
    notes.append([t(f"tabular.notes.{k}", lang) for k in ("column", "required", "format", "example")])
    for col, header in zip(schema.columns, headers, strict=True):
        required = _yes_no(True, lang) if col.required else ""
        notes.append([header, required, _column_note(col, lang), _example_text(col, lang)])
    for letter, width in zip("ABCD", (18, 8, 48, 24), strict=True):
        notes.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_template(
    schema: Schema,
    path_or_buffer: str | Path | IO[bytes],
    fmt: Literal["csv", "xlsx"] = "xlsx",
    lang: str = "zh",
) -> None:
    """Write :func:`template_bytes` to a path or a binary buffer."""
    payload = template_bytes(schema, fmt, lang)
    if isinstance(path_or_buffer, str | Path):
        Path(path_or_buffer).write_bytes(payload)
    else:
        path_or_buffer.write(payload)
