"""Problems found in a file: :class:`RowError` and the messages it carries, in both languages.

The texts live in the locale catalogs (``tabular.*`` in data/locales/{zh,en}/tabular.json, read through
``core.i18n.t``), like every other visible text.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import LANGUAGES, t
from core.tabular.schema import Column


@dataclass(frozen=True)
class RowError:
    """One problem. ``row`` is the Excel row number (header = 1); None for problems with the whole file."""

    row: int | None
    column: str | None  # schema key ("a,b" for a composite natural key); None for file problems
    value: str | None
    code: str
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclass(frozen=True)
class PerLang:
    """A message parameter that reads differently in each language (a column's label, a list of choices)."""

    zh: str
    en: str

    def __getitem__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def show(value: object, limit: int = 40) -> str:
    """A cell or exception as quoted in a message: at most ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def list_sep(lang: str) -> str:
    return t("tabular.list_sep", lang)


def row_error(
    code: str, catalog_key: str, *, row: int | None, column: str | None, value: str | None, **params: object
) -> RowError:
    """A RowError whose message is ``catalog_key`` in zh and en, filled with ``row``, ``value`` (shortened)
    and ``params``; a :class:`PerLang` parameter is picked per language. For any importer's own checks."""
    values: dict[str, object] = {"row": row, "value": show(value) if value is not None else "", **params}
    zh, en = (
        t(catalog_key, lang, **{k: v[lang] if isinstance(v, PerLang) else v for k, v in values.items()})
        for lang in LANGUAGES
    )
    return RowError(row, column, value, code, zh, en)


def make_error(
    code: str,
    *,
    row: int | None = None,
    column: Column | None = None,
    value: str | None = None,
    msg_key: str | None = None,
    key: str | None = None,
    **params: object,
) -> RowError:
    """The reader's RowError for ``code`` (message ``tabular.<msg_key or code>``).

    ``column`` gives ``{col}`` (its label) unless ``col`` is passed, and the error's column key unless
    ``key`` is.
    """
    if column is not None:
        params.setdefault("col", PerLang(column.label_zh, column.label_en))
    return row_error(
        code,
        f"tabular.{msg_key or code}",
        row=row,
        column=key or (column.key if column is not None else None),
        value=value,
        **params,
    )
