"""Cell conversion: stripped text cells of one column → a typed column and the cells that are wrong.

Vectorised: pandas on whole columns, and lookups (dates, choices) once per distinct text. Accepts what
office exports write: full-width digits, thousands separators, ``2020/6/1``, ``2020年6月1日 8时30分``,
Excel serial day numbers, 是/否 and yes/no.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.tabular.messages import PerLang, list_sep
from core.tabular.schema import DTYPES, Column, fmt_bound, norm, norm_values

_MAX_EXACT_INT = 2**53  # beyond this a float64 no longer holds every integer
_THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
_BOOLS = {
    "是": True,
    "否": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "t": True,
    "f": False,
    "1": True,
    "0": False,
    "对": True,
    "错": False,
    "有": True,
    "无": False,
    "√": True,
    "×": False,
    "✓": True,
    "✗": False,
}
# After this table every accepted spelling reads as Y-m-d[ H:M[:S[-f]]]: 2020/6/1, 2020.6.1,
# 2020年6月1日 8时30分, 2020-06-01T08:30 ("." becomes "-", hence the odd fraction separator).
_DATE_TRANS = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "年": "-",
        "月": "-",
        "/": "-",
        ".": "-",
        "／": "-",
        "－": "-",
        "．": "-",
        "日": "",
        "号": "",
        "时": ":",
        "点": ":",
        "分": ":",
        "：": ":",
        "秒": "",
        "T": " ",
        "\u3000": " ",
    }
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S-%f")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial 1 = 1900-01-01, counting Excel's phantom 1900-02-29
_SERIALS = (10_000, 99_999)  # accepted serials: 1927-05-18 … 2173-10-14; smaller numbers are not dates

Problems = list[tuple[str, np.ndarray, dict[str, object]]]


def _parse_numbers(s: pd.Series, empty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN for empty/bad, mask of bad cells)."""
    t = s.mask(empty)
    try:  # fast path for clean columns; raises on the first bad cell
        v = t.astype("float64").to_numpy(copy=True)
    except (ValueError, TypeError):
        v = pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64", na_value=np.nan, copy=True)
        retry = np.isnan(v) & ~empty
        if retry.any():  # full-width digits, "1,234.5", "1 234"
            loose = s[retry].str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
            grouped = loose.str.contains(",", regex=False) & ~loose.str.fullmatch(_THOUSANDS)
            loose = loose.mask(grouped).str.replace(",", "", regex=False)
            v[retry] = pd.to_numeric(loose, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~empty & ~np.isfinite(v)
    v[bad] = np.nan
    return v, bad


_CANONICAL = r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?"


def _parse_datetime_texts(u: pd.Series) -> pd.Series:
    """Distinct cell texts → datetime64[us], NaT where not a date.

    Fast path: texts already in canonical form (``2020-06-01``, ``2020-06-01 08:30[:00]``, what machine
    exports write) parse in one vectorised call; only the rest go through the normalisation below. Same
    results, ~10x faster on a 1M-row event export (7 timestamp columns)."""
    canon = u.str.fullmatch(_CANONICAL).to_numpy(dtype=bool, na_value=False)
    if not canon.any():
        return _parse_datetime_texts_general(u)
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us]")
    got = pd.to_datetime(u[canon], format="ISO8601", errors="coerce")
    hit = got.notna().to_numpy()
    out.iloc[np.flatnonzero(canon)[hit]] = got[hit].astype("datetime64[us]").to_numpy()
    rest = np.flatnonzero(canon)[~hit].tolist() + np.flatnonzero(~canon).tolist()
    if rest:
        rest.sort()
        out.iloc[rest] = _parse_datetime_texts_general(u.iloc[rest]).to_numpy()
    return out


def _parse_datetime_texts_general(u: pd.Series) -> pd.Series:
    t = u.str.translate(_DATE_TRANS).str.strip().str.rstrip(":").str.strip()
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us]")
    todo = (t != "").to_numpy(copy=True)
    yyyymmdd = t.str.fullmatch(r"\d{8}").to_numpy()
    for fmt, only in [*((f, None) for f in _DATE_FORMATS), ("%Y%m%d", yyyymmdd)]:
        pick = todo & only if only is not None else todo
        if pick.any():
            got = pd.to_datetime(t[pick], format=fmt, errors="coerce")
            hit = got.notna().to_numpy()
            out.iloc[np.flatnonzero(pick)[hit]] = got[hit].astype("datetime64[us]").to_numpy()
            todo[np.flatnonzero(pick)[hit]] = False
    if todo.any():  # Excel serial day numbers that lost their date format on the way
        num = pd.to_numeric(u[todo].str.strip(), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        hit = (num >= _SERIALS[0]) & (num <= _SERIALS[1])
        days = pd.to_timedelta(num[hit], unit="D")
        out.iloc[np.flatnonzero(todo)[hit]] = (_EXCEL_EPOCH + days).round("s").to_numpy()
    return out


def _bound(value: object) -> object:
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    return value


def _lookup(s: pd.Series, table: Mapping[str, object]) -> np.ndarray:
    """Map cells through ``table`` (normalised spelling → value), one lookup per distinct cell."""
    codes, uniques = pd.factorize(s)
    mapped = norm_values(pd.Series(uniques, dtype="str")).map(table)
    return mapped.to_numpy(dtype=object)[codes]


def convert(s: pd.Series, col: Column) -> tuple[pd.Series, Problems]:
    """Stripped text cells (``""`` = empty) → typed column and problems as (code, row mask, params)."""
    empty = (s == "").to_numpy()
    problems: Problems = []
    if col.required:
        problems.append(("required", empty, {}))
    values: np.ndarray | pd.Series
    if col.kind == "str":
        if col.max_length is not None:
            problems.append(
                ("too_long", (s.str.len() > col.max_length).to_numpy(), {"limit": col.max_length})
            )
        return s.mask(empty).astype("str"), problems
    if col.kind in ("int", "float"):
        v, bad = _parse_numbers(s, empty)
        problems.append(("not_a_number", bad, {}))
        if col.kind == "int":
            fraction = ~np.isnan(v) & ((v != np.floor(v)) | (np.abs(v) >= _MAX_EXACT_INT))
            problems.append(("not_an_integer", fraction, {}))
            v[fraction] = np.nan
        values = pd.Series(v).astype(DTYPES[col.kind])
        numbers = v
    elif col.kind in ("date", "datetime"):
        codes, uniques = pd.factorize(s)
        parsed = _parse_datetime_texts(pd.Series(uniques, dtype="str")).to_numpy()[codes]
        bad = ~empty & np.isnat(parsed)
        problems.append(("not_a_date" if col.kind == "date" else "not_a_datetime", bad, {}))
        values = pd.Series(parsed, dtype="datetime64[us]")
        if col.kind == "date":
            values = values.dt.normalize()  # a datetime cell in a date column keeps its day
        numbers = values
    else:
        if col.kind == "bool":
            table: dict[str, object] = dict(_BOOLS)
        else:
            table = {norm(v): v for v in (col.choices or {}).values()}
            table.update({norm(k): v for k, v in (col.choices or {}).items()})
        mapped = _lookup(s, table)
        bad = np.asarray(~empty & pd.isna(mapped), dtype=bool)
        params: dict[str, object] = {}
        if col.kind == "bool":
            code = "not_a_bool"
        else:
            zh, en = col.choice_lists()
            code = "not_a_choice"
            params["allowed"] = PerLang(list_sep("zh").join(zh), list_sep("en").join(en))
        problems.append((code, bad, params))
        return pd.Series(mapped, dtype=DTYPES[col.kind]), problems
    if col.min is not None:
        problems.append(("too_small", np.asarray(numbers < _bound(col.min)), {"bound": fmt_bound(col.min)}))
    if col.max is not None:
        problems.append(("too_large", np.asarray(numbers > _bound(col.max)), {"bound": fmt_bound(col.max)}))
    return values, problems
