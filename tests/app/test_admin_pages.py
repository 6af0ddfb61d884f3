"""Content of the administration pages: org tree, workers, users, jobs, audit trail."""

from __future__ import annotations

from sqlmodel import Session

from core import org
from core.auth import sign_in
from core.db import get_engine
from core.i18n import t
from tests.app.util import texts

REAL_WORKERS_FRAME = org.workers_frame


def test_org_page_counts_the_demo_tree(open_page, viewer_of):
    """Test that the org page states 3 subdistricts, 25 communities and every grid."""
    at = open_page("pages/org.py", viewer_of("admin"), lang="en")
    assert not at.exception
    assert "3 subdistricts, 25 communities, 304 grids" in texts(at)


def test_workers_page_masks_phones_and_scopes_to_the_community(open_page, viewer_of):
    """Test that the 下沙 manager's list holds only 下沙 workers, with masked phone numbers."""
    at = open_page("pages/workers.py", viewer_of("xiasha"))
    assert not at.exception
    frame = at.dataframe[0].value
    assert set(frame["社区"]) == {"下沙社区"}
    assert frame["电话"].str.fullmatch(r"\d{3}\*{4}\d{4}").all()


def test_workers_page_reads_the_scope_once_and_offers_every_worker_to_edit(open_page, viewer_of, monkeypatch):
    """Test that an unfiltered view of 网格员 reads the scope's workers once (the edit tab's picker takes the
    list's rows: both tabs run on every view), that the picker offers each of them by number and name, and
    that a filtered list still leaves every worker in the picker (issue #21: 300 ms a view for the district)."""
    calls = []
    monkeypatch.setattr(org, "workers_frame", lambda *a, **k: calls.append(k) or REAL_WORKERS_FRAME(*a, **k))
    at = open_page("pages/workers.py", viewer_of("manager"))
    assert not at.exception
    everyone = at.dataframe[0].value
    picker = next(s for s in at.selectbox if s.label == t("workers.edit_pick", "zh"))
    assert len(calls) == 1 and len(picker.options) == len(everyone) + 1
    assert f"{everyone.iloc[0]['工号']} · {everyone.iloc[0]['姓名']}" in picker.options
    at.text_input[0].set_value(everyone.iloc[0]["工号"]).run()
    picker = next(s for s in at.selectbox if s.label == t("workers.edit_pick", "zh"))
    assert len(at.dataframe[0].value) == 1 and len(picker.options) == len(everyone) + 1


def test_users_page_lists_roles_in_english(open_page, viewer_of):
    """Test that the users table shows the three administrators and the managers with translated roles."""
    at = open_page("pages/users.py", viewer_of("admin"), lang="en")
    assert not at.exception
    frame = at.dataframe[0].value
    assert {"admin", "secadmin", "auditor", "manager", "xiasha"} <= set(frame["Username"])
    assert {"System administrator", "Security administrator", "Audit administrator", "Manager"} <= set(
        frame["Role"]
    )


def test_jobs_page_lists_jobs_with_translated_descriptions(open_page, viewer_of):
    """Test that every area's jobs are listed, described in the chosen language."""
    at = open_page("pages/jobs.py", viewer_of("admin"))
    assert not at.exception
    frame = at.dataframe[0].value
    assert "冻结上月考评并生成月度通报" in set(frame["说明"])
    assert {"courses.reminders", "field.escalate_overdue"} <= set(frame["任务"])


def test_audit_page_shows_a_failed_sign_in(open_page, viewer_of, app_db):
    """Test that a failed sign-in appears on the audit page."""
    with Session(get_engine(app_db)) as s:
        sign_in(s, "xiasha", "wrong-password")
    at = open_page("pages/audit.py", viewer_of("auditor"))
    assert not at.exception
    frame = at.dataframe[0].value
    assert "登录失败（密码错误）" in set(frame["操作"])  # signin.failed, in words


def test_users_page_leaves_out_api_service_accounts(open_page, viewer_of, app_db):
    """Test that an API client's "api:<name>" account is neither listed nor pickable on the users page, and the
    caption says how many are left out and where they are managed."""
    from core.api_clients import create_client
    from core.db import unit_of_work
    from core.scope import SYSTEM

    with unit_of_work(get_engine(app_db)) as s:
        create_client(s, SYSTEM, name="city-platform", scope_unit_id=None, operations=["events.read"])
    at = open_page("pages/users.py", viewer_of("admin"), lang="en")
    assert not at.exception
    assert "api:city-platform" not in set(at.dataframe[0].value["Username"])
    assert not any("api:city-platform" in str(o) for o in at.selectbox[-1].options)
    assert "1 API client service accounts are not listed: the API clients page manages them." in " ".join(
        c.value for c in at.caption
    )


def test_jobs_page_runs_a_job_through_the_scheduler_and_says_what_it_did(open_page, viewer_of):
    """Test that "run now" runs the job (scheduler.run_now: its lock, retry, unit of work) and reports the
    result in words in the page's language, not a bare number."""
    at = open_page("pages/jobs.py", viewer_of("admin"), lang="en")
    at.selectbox[0].set_value("notify.cleanup")
    next(b for b in at.button if b.label == "Run now").click().run()
    assert not at.exception, at.exception
    said = [i.value for i in at.info] + [w.value for w in at.warning]
    assert any(s.startswith("Finished") or "running elsewhere" in s for s in said), said


def test_every_job_is_described_and_scheduled_in_words():
    """Test that every scheduled job has a description in both catalogs and a schedule that reads as words
    (no ``trigger=cron, hour=2``), so the 定时任务 page never falls back to a job's English text."""
    from core.i18n import catalog
    from core.scheduler import job_specs
    from ui.jobs_view import trigger_text

    for lang in ("zh", "en"):
        missing = [s.id for s in job_specs() if f"jobs.desc.{s.id}" not in catalog(lang)]
        assert not missing, (lang, missing)
    schedules = {s.id: trigger_text(s.trigger) for s in job_specs()}
    assert not [i for i, text in schedules.items() if "=" in text or text == "自定义"], schedules
