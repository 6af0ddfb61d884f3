"""The data inventory (core.privacy): every column of every table has a data class declared beside its model,
and docs/DATA_INVENTORY.md is what the code declares."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import SQLModel

from core.cli import main
from core.privacy import ATTRIBUTE, DataClass, declare, inventory, markdown, stale, undeclared
from core.settings import ROOT

DOC = ROOT / "docs" / "DATA_INVENTORY.md"


def test_every_column_of_every_table_has_a_data_class() -> None:
    missing = undeclared()
    assert not missing, "columns without a data class:\n" + "\n".join(missing)


def test_declarations_name_only_real_columns() -> None:
    extra = stale()
    assert not extra, "\n".join(extra)


def test_the_committed_inventory_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/DATA_INVENTORY.md differs from the code: run "
        "`.venv/bin/gridwise privacy inventory --markdown > docs/DATA_INVENTORY.md` and commit it"
    )


def test_contact_data_is_declared_for_the_phone_and_addresses() -> None:
    by_column = {(r.table, r.column): r for r in inventory()}
    for key in [
        ("worker", "phone"),
        ("notify_preference", "email"),
        ("notify_preference", "mobile"),
        ("notify_delivery", "recipient"),
    ]:
        assert by_column[key].contact and by_column[key].data_class == DataClass.PERSONAL, key
    assert by_column[("worker", "name")].data_class == DataClass.PERSONAL
    assert by_column[("app_user", "password_hash")].data_class == DataClass.SENSITIVE
    assert by_column[("org_unit", "code")].data_class == DataClass.BUSINESS


class _ProbeBase(DeclarativeBase):
    pass


class _Probe(_ProbeBase):
    """A table someone added without declaring its data (its own metadata: not in the real schema)."""

    __tablename__ = "privacy_probe"
    __data_classes__ = declare(technical="id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nickname: Mapped[str] = mapped_column(String(20))
    home_address: Mapped[str] = mapped_column(String(200))


def test_a_column_without_a_class_is_named_with_what_to_add() -> None:
    missing = undeclared([_Probe])
    assert len(missing) == 1
    line = missing[0]
    assert "tests/unit/test_privacy_inventory.py:_Probe" in line
    assert "'nickname home_address'" in line and ATTRIBUTE in line and "personal=" in line
    assert "privacy_probe" not in SQLModel.metadata.tables  # the probe stays out of the real schema


def test_a_column_cannot_have_two_classes() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        declare(personal="name", business="name")


def test_the_command_prints_the_inventory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["privacy", "inventory"]) == 0
    out = capsys.readouterr().out
    assert "worker\tphone\tpersonal contact" in out
    assert "app_user\tpassword_hash\tsensitive" in out
