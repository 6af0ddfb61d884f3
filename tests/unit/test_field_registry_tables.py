"""The metrics page's two tables saved as one action each: the metric registry and the time limits."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlmodel import select

from core.db import unit_of_work
from core.errors import GridwiseError
from core.i18n import t
from core.models import Role
from evaluation.field.models import SlaLevel
from evaluation.field.registry import (
    SLA_LIMITS,
    metric_registry,
    save_registry_table,
    save_sla_table,
    sla_levels,
)
from tests.factories import viewer

ADMIN = viewer(Role.SYSADMIN)


def test_saving_the_registry_table_updates_only_the_edited_entries(session, field_org):
    """Test that saving the edited registry changes the entries whose fields moved, and counts them."""
    before = metric_registry(session).set_index("code")
    after = before.copy()
    after.loc["collection_rate", "name_en"] = "Collection (edited)"
    after.loc["accuracy_rate", "target"] = 97.0
    assert save_registry_table(session, ADMIN, before, after) == 2
    session.commit()
    now = metric_registry(session).set_index("code")
    assert (
        now.at["collection_rate", "name_en"] == "Collection (edited)"
        and now.at["accuracy_rate", "target"] == 97
    )
    assert save_registry_table(session, ADMIN, now, now.copy()) == 0


def test_a_time_limit_table_with_one_bad_limit_saves_none(session, field_org):
    """Test that when one priority's limit is out of range, no priority's limits change (one unit of work)."""
    levels = sla_levels(session)
    session.commit()
    table = pd.DataFrame([{"code": c, **{k: getattr(x, k) for k in SLA_LIMITS}} for c, x in levels.items()])
    was = {c: x.sign_limit_hours for c, x in levels.items()}
    table["sign_limit_hours"] = table["sign_limit_hours"] + 1
    table.loc[table.index[-1], "handle_limit_hours"] = -5  # the last row is refused
    with pytest.raises(ValueError), unit_of_work(session.get_bind()) as s:
        save_sla_table(s, ADMIN, table)
    session.expire_all()
    assert {x.code: x.sign_limit_hours for x in session.exec(select(SlaLevel)).all()} == was


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_bad_direction_is_refused_in_the_readers_words(session, field_org, lang):
    """Test that a direction other than higher/lower is refused with the directions as the metrics page
    names them (越高越好/越低越好, "higher is better"/"lower is better"), not the stored codes."""
    before = metric_registry(session).set_index("code")
    after = before.copy()
    after.loc["collection_rate", "direction"] = "sideways"
    with pytest.raises(GridwiseError) as refused:
        save_registry_table(session, ADMIN, before, after)
    text = refused.value.message(lang)
    for d in ("higher", "lower"):
        assert t(f"field.metrics.direction.{d}", lang) in text
    if lang == "zh":
        assert not re.search(r"[A-Za-z]", text), text
    else:
        assert not re.search(r"\b(higher|lower)\b(?! is better)", text), text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_emptied_time_limit_is_refused_by_its_name_on_the_page(session, field_org, lang):
    """Test that a time limit left empty (a cleared cell) is refused naming the limit as the metrics page's
    column does (办结时限（小时） / Handle within (h)), not by its column handle_limit_hours."""
    levels = sla_levels(session)
    table = pd.DataFrame([{"code": c, **{k: getattr(x, k) for k in SLA_LIMITS}} for c, x in levels.items()])
    table.loc[table.index[0], "handle_limit_hours"] = None
    with pytest.raises(GridwiseError) as refused:
        save_sla_table(session, ADMIN, table)
    text = refused.value.message(lang)
    assert t("field.metrics.col.handle", lang) in text and "handle_limit_hours" not in text, text
    if lang == "zh":
        assert not re.search(r"[A-Za-z]", text), text
