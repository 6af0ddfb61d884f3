"""数据质量 in a real browser: the CSV of a check is built when its button is clicked (a deferred download, which
AppTest cannot press), holds every finding of the scope with residents' references masked, and the click is
recorded as an export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from core.db import get_engine
from core.i18n import t
from core.models_audit import AuditEntry
from evaluation.field.models import Deregistration, QualityCheck
from tests.e2e.conftest import pick_option, server_on_copy, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_data_quality_csv_is_built_on_click_with_every_finding_masked(
    page: Page, demo_db_template: Path, tmp_path: Path
):
    """Test that 下载 CSV of the reversed deregistrations downloads all of the district's, each resident's
    reference masked, and leaves one export.data_quality audit row counting them."""
    with server_on_copy(demo_db_template, tmp_path) as server:
        with Session(get_engine(server.db_url)) as s:
            refs = set(
                s.exec(select(Deregistration.person_ref).where(col(Deregistration.reversed_at).is_not(None)))
            )
            rows = sum(s.exec(select(QualityCheck.rows).where(QualityCheck.kind == "reversed_dereg")).all())
        sign_in(page, server, "manager", path="data_quality")
        expect(page.get_by_text("检查时间：2020-09-30 18:00", exact=False)).to_be_visible()
        pick_option(
            page,
            page.get_by_label(t("field.dq.kind", "zh"), exact=True),
            t("field.dq.kind.reversed_dereg", "zh"),
        )
        with page.expect_download() as info:
            page.get_by_role("button", name=t("common.download_csv", "zh")).click()
        with open(info.value.path(), encoding="utf-8-sig", newline="") as f:
            table = list(csv.DictReader(f))
        shown = [r[t("field.dq.col.person_ref", "zh")] for r in table]
        assert refs and len(table) == rows == len(refs)
        assert all("****" in r for r in shown) and not set(shown) & refs
        wait_for_run(page)
        with Session(get_engine(server.db_url)) as s:
            [export] = s.exec(select(AuditEntry).where(AuditEntry.action == "export.data_quality")).all()
        detail = json.loads(export.detail or "{}")
        assert detail["file"] == "data_quality_reversed_dereg.csv" and detail["rows"] == rows
