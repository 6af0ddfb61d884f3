"""What a table must contain: its columns (headers people write, what a cell may hold) and natural key."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core.errors import Misuse

Kind = Literal["str", "int", "float", "date", "datetime", "bool", "enum"]
KINDS: tuple[str, ...] = ("str", "int", "float", "date", "datetime", "bool", "enum")

# Column dtypes of ReadResult.rows. Dates are datetime64 (date kind at midnight) so callers can
# aggregate by month without a per-row loop; to_records() gives Python date/datetime objects.
DTYPES = {
    "str": "str",
    "enum": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
}

_SPACES = r"[\s*\ufeff\u200b]+"


def norm(text: str) -> str:
    """Header/choice spelling as compared: NFKC (full-width → half-width), casefolded, no spaces or ``*``."""
    return re.sub(_SPACES, "", unicodedata.normalize("NFKC", str(text)).casefold())


def norm_values(s: pd.Series) -> pd.Series:
    """:func:`norm` over a column of texts, vectorised."""
    return s.str.normalize("NFKC").str.casefold().str.replace(_SPACES, "", regex=True)


@dataclass(frozen=True)
class Column:
    """One expected column: its internal key, the headers people write for it, and what a cell may hold."""

    key: str
    aliases: Sequence[str]
    kind: Kind = "str"
    required: bool = False
    choices: Mapping[str, str] | None = None  # enum: accepted spelling (zh/en) → canonical value
    min: float | dt.date | None = None  # numbers; also dates/datetimes when given as date objects
    max: float | dt.date | None = None
    max_length: int | None = None
    label_zh: str = ""  # defaults to the first alias
    label_en: str = ""  # defaults to the first ASCII alias, else the key
    example: object = None  # the template's example value

    def __post_init__(self) -> None:
        aliases = (self.aliases,) if isinstance(self.aliases, str) else tuple(self.aliases)
        if self.kind not in KINDS:
            raise Misuse(f"column {self.key!r}: unknown kind {self.kind!r}")
        if not aliases:
            raise Misuse(f"column {self.key!r}: needs at least one alias")
        if self.kind == "enum" and not self.choices:
            raise Misuse(f"column {self.key!r}: an enum needs choices")
        object.__setattr__(self, "aliases", aliases)
        if self.choices is not None:
            object.__setattr__(self, "choices", dict(self.choices))
        if not self.label_zh:
            object.__setattr__(self, "label_zh", aliases[0])
        if not self.label_en:
            ascii_alias = next((a for a in aliases if a.isascii()), self.key.replace("_", " "))
            object.__setattr__(self, "label_en", ascii_alias)

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def choice_lists(self) -> tuple[list[str], list[str]]:
        """Accepted spellings to show a Chinese reader and an English one."""
        spellings = list(self.choices or {})
        zh = [s for s in spellings if not s.isascii()] or spellings
        en = [s for s in spellings if s.isascii()] or sorted(set((self.choices or {}).values()))
        return zh, en


@dataclass(frozen=True)
class Schema:
    """A table to import: its columns and the natural key that must be unique within one file."""

    name: str
    columns: Sequence[Column]
    key: Sequence[str] = ()

    def __post_init__(self) -> None:
        columns, key = tuple(self.columns), tuple(self.key)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "key", key)
        keys = [c.key for c in columns]
        if len(set(keys)) != len(keys):
            raise Misuse(f"schema {self.name!r}: duplicate column keys")
        if missing := set(key) - set(keys):
            raise Misuse(f"schema {self.name!r}: key names unknown columns {sorted(missing)}")
        lookup: dict[str, str] = {}
        for col in columns:
            for text in (col.key, *col.aliases, col.label_zh, col.label_en):
                n = norm(text)
                if lookup.setdefault(n, col.key) != col.key:
                    raise Misuse(f"schema {self.name!r}: header {text!r} fits {lookup[n]!r} and {col.key!r}")
        object.__setattr__(self, "_lookup", lookup)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def match(self, header: object) -> str | None:
        """The column key a header cell stands for, or None."""
        lookup: dict[str, str] = self.__dict__["_lookup"]
        return lookup.get(norm(str(header)))


def empty_rows(schema: Schema) -> pd.DataFrame:
    """No rows, with the typed columns a result has (schema keys + ``_row``)."""
    frame = {c.key: pd.Series(dtype=DTYPES[c.kind]) for c in schema.columns}
    return pd.DataFrame({**frame, "_row": pd.Series(dtype="int64")})


def fmt_bound(value: object) -> str:
    """A column's min/max as a person writes it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != dt.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
