"""The data inventory: what every column of every table holds, declared where the model is defined.

Each table model carries one declaration next to its columns (the way Moodle's privacy providers declare
each area's data)::

    class Worker(WorkerBase, table=True):
        __tablename__ = "worker"
        __data_classes__ = declare(
            personal="employee_no name gender hire_date",
            sensitive="party_member",
            contact="phone",
            business="grid_id community_id subdistrict_id status",
            technical="id created_at updated_at phone_hash",
        )

The four classes (PIPL terms): ``personal`` information relating to an identified worker, user or resident;
``sensitive`` personal information whose leak could harm the person (PIPL art. 28: political identity,
health, location tracks, credentials); ``business`` facts about the work, the org and the content; ``technical``
keys, timestamps and bookkeeping. ``contact`` columns are personal data that is encrypted at rest
(core.sealed), masked on every screen, export and audit entry, and looked up through a keyed hash.

``undeclared()`` lists every column without a class (tests/unit/test_privacy_inventory.py fails on it);
``gridwise privacy inventory --markdown > docs/DATA_INVENTORY.md`` writes the table from these declarations.
This module is a leaf: models import it, it imports no model.
"""

from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel

from core.errors import Misuse
from core.migrate import import_all_models
from core.settings import ROOT

ATTRIBUTE = "__data_classes__"


class DataClass(enum.StrEnum):
    PERSONAL = "personal"
    SENSITIVE = "sensitive"
    BUSINESS = "business"
    TECHNICAL = "technical"


@dataclass(frozen=True)
class ColumnClass:
    data_class: DataClass
    contact: bool = False  # personal contact data: encrypted at rest, masked when shown


def declare(
    *,
    personal: str = "",
    sensitive: str = "",
    contact: str = "",
    business: str = "",
    technical: str = "",
) -> dict[str, ColumnClass]:
    """A model's data classes: each argument names columns separated by spaces. A column named twice is
    an error at import time (a column has exactly one class)."""
    out: dict[str, ColumnClass] = {}
    groups = (
        (personal, ColumnClass(DataClass.PERSONAL)),
        (sensitive, ColumnClass(DataClass.SENSITIVE)),
        (contact, ColumnClass(DataClass.PERSONAL, contact=True)),
        (business, ColumnClass(DataClass.BUSINESS)),
        (technical, ColumnClass(DataClass.TECHNICAL)),
    )
    for names, cls in groups:
        for name in names.split():
            if name in out:
                raise Misuse(f"column {name!r} is declared twice in one {ATTRIBUTE}")
            out[name] = cls
    return out


@dataclass(frozen=True)
class InventoryRow:
    table: str
    column: str
    model: str  # "core/models.py:Worker"
    data_class: DataClass | None  # None: not declared
    contact: bool
    sql_type: str
    purpose: str  # the first line of the model's docstring


def table_models() -> list[Any]:
    """Every table model class (all model modules imported), by table name."""
    import_all_models()
    mappers = SQLModel._sa_registry.mappers  # noqa: SLF001 - the registry is the list of mapped classes
    return sorted((m.class_ for m in mappers), key=lambda c: c.__table__.name)


def _where(cls: type) -> str:
    try:
        path = Path(inspect.getsourcefile(cls) or "").resolve().relative_to(ROOT)
    except (TypeError, ValueError):
        path = Path(cls.__module__.replace(".", "/") + ".py")
    return f"{path.as_posix()}:{cls.__name__}"


def inventory(models: list[Any] | None = None) -> list[InventoryRow]:
    """Every column of every table model, with its declared class (None when it has none)."""
    rows = []
    for cls in table_models() if models is None else models:
        table = cls.__table__
        declared: dict[str, ColumnClass] = getattr(cls, ATTRIBUTE, None) or {}
        doc = (inspect.getdoc(cls) or "").strip().splitlines()
        purpose = doc[0] if doc and not doc[0].startswith("Usage docs") else ""
        for column in table.columns:
            c = declared.get(column.name)
            rows.append(
                InventoryRow(
                    table=table.name,
                    column=column.name,
                    model=_where(cls),
                    data_class=c.data_class if c else None,
                    contact=bool(c and c.contact),
                    sql_type=str(column.type.compile()) if _compiles(column) else type(column.type).__name__,
                    purpose=purpose,
                )
            )
    return rows


def _compiles(column: Any) -> bool:
    try:
        column.type.compile()
    except Exception:  # noqa: BLE001 - a custom type without a default compilation: show its class name
        return False
    return True


def undeclared(models: list[Any] | None = None) -> list[str]:
    """What to add, one line per model that has columns without a class (empty when all are declared)."""
    missing: dict[str, list[str]] = {}
    for row in inventory(models):
        if row.data_class is None:
            missing.setdefault(row.model, []).append(row.column)
    return [
        f"{model}: add {' '.join(cols)!r} to {ATTRIBUTE} = declare(personal=… | sensitive=… | contact=… | "
        f"business=… | technical=…) in that class (see core/privacy.py for what each class means)"
        for model, cols in sorted(missing.items())
    ]


def stale(models: list[Any] | None = None) -> list[str]:
    """Declared names that are no column of the model's table (a renamed or dropped column)."""
    out = []
    for cls in table_models() if models is None else models:
        declared = getattr(cls, ATTRIBUTE, None) or {}
        extra = sorted(set(declared) - {c.name for c in cls.__table__.columns})
        if extra:
            out.append(f"{_where(cls)}: {ATTRIBUTE} names {' '.join(extra)!r}, not columns: remove them")
    return out


def contact_columns() -> dict[str, list[str]]:
    """Table → its contact columns (encrypted at rest)."""
    out: dict[str, list[str]] = {}
    for row in inventory():
        if row.contact:
            out.setdefault(row.table, []).append(row.column)
    return out


def markdown() -> str:
    """docs/DATA_INVENTORY.md: a summary and one table per database table."""
    rows = inventory()
    lines = [
        "# Data inventory",
        "",
        "Generated from the declarations beside each model (`__data_classes__`, see `core/privacy.py`) by",
        "`gridwise privacy inventory --markdown > docs/DATA_INVENTORY.md`; a test fails when this file and the",
        "code differ, and when a column has no class. Do not edit by hand.",
        "",
        "Classes: **personal** (relates to an identified worker, user or resident), **sensitive** (personal",
        "data whose leak could harm the person: political identity, health, credentials), **business** (facts",
        "about the work, the org and the content), **technical** (keys, timestamps, bookkeeping).",
        "**Contact** columns are personal data encrypted at rest with `GRIDWISE_DATA_KEY` (a keyed hash beside",
        "them serves look-ups), masked on every page, export and audit entry, shown in full only on an",
        "audited request.",
        "",
        "| class | columns |",
        "|---|---|",
    ]
    for dc in DataClass:
        n = sum(1 for r in rows if r.data_class == dc)
        lines.append(f"| {dc.value} | {n} |")
    lines.append(f"| of which contact (encrypted) | {sum(1 for r in rows if r.contact)} |")
    lines.append("")
    current = None
    for r in rows:
        if r.table != current:
            current = r.table
            lines += ["", f"## `{r.table}`", "", f"{r.purpose} — `{r.model}`", ""]
            lines += ["| column | class | contact | type |", "|---|---|---|---|"]
        label = r.data_class.value if r.data_class else "**undeclared**"
        lines.append(f"| {r.column} | {label} | {'encrypted' if r.contact else ''} | {r.sql_type} |")
    return "\n".join(lines) + "\n"


# Masks: what a screen, an export or an audit entry shows instead of personal data.
CONTACT_KEYS = frozenset({"phone", "mobile", "email", "recipient", "to", "mentions"})


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to recognise a number, not enough to use it."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(email: str | None) -> str:
    """``zhang.wei@example.org`` → ``z***@example.org``."""
    if not email:
        return ""
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else mask_phone(local)


def mask_contact(value: str | None) -> str:
    """A phone number or an e-mail address, masked ("group" and other non-addresses stay as they are)."""
    if not value:
        return ""
    if "@" in value:
        return mask_email(value)
    if sum(ch.isdigit() for ch in value) >= 7:
        return mask_phone(value)
    return value


def mask_name(name: str | None) -> str:
    """张** / W*** : the family name (first character) only, for exports that do not need the person."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


# Residents' numbers written into free text (a report, a note, a location typed by hand): an 18- or 15-digit
# resident ID number (居民身份证号), a mainland mobile number, a landline with its area code. Digits on either
# side make it another number (an event number, a house code), which stays as it is.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(?:\d{8}(\d{3}[0-9Xx])|\d{5}(\d{4}))(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{3,4}(\d{4})(?!\d)")
# The keys of free text in an audit entry's before/after/detail: masked as mask_text does.
FREE_TEXT_KEYS = frozenset(
    {
        "note",
        "text",
        "report_text",
        "result",
        "location",
        "message",
        "reason",
        "override_reason",
        "answer_note",
    }
)


def mask_text(text: str | None) -> str:
    """Free text with residents' ID numbers (110101********123X), mobile numbers (138****5678) and landlines
    (0755****5678) masked: what a screen, an export, an API read or an audit entry shows of a note, a report
    or a hand-typed location. Anything but text (None, a missing cell's NaN) is shown as ""."""
    if not isinstance(text, str) or not text:
        return ""
    text = _ID_NUMBER.sub(lambda m: f"{m[1]}********{m[2] or m[3]}", text)
    text = _MOBILE.sub(lambda m: f"{m[2]}****{m[3]}", text)
    return _LANDLINE.sub(lambda m: f"{m[1]}****{m[2]}", text)


def mask_reference(ref: str | None) -> str:
    """A resident's record reference (人口信息编号, or an ID number used as one): the first and last two
    characters (P0****23), enough to tell records apart on a list, not to look the person up."""
    if not isinstance(ref, str) or not ref:
        return ""
    ref = ref.strip()
    if _ID_NUMBER.fullmatch(ref):
        return mask_text(ref)
    if len(ref) <= 4:
        return "*" * len(ref)
    return f"{ref[:2]}****{ref[-2:]}"


def masked(value: Any) -> Any:
    """``value`` with every contact field (``CONTACT_KEYS``) masked and the numbers in free-text fields
    (``FREE_TEXT_KEYS``) masked, through nested dicts and lists: what an audit entry may hold."""
    if isinstance(value, dict):
        return {
            k: (
                _mask_any(v)
                if k in CONTACT_KEYS
                else mask_text(v)
                if k in FREE_TEXT_KEYS and isinstance(v, str)
                else masked(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def _mask_any(value: Any) -> Any:
    if isinstance(value, str):
        return mask_contact(value)
    if isinstance(value, list | tuple):
        return [_mask_any(v) for v in value]
    return value
