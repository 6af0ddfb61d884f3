"""The courses pages in AppTest against the seeded demo district: what each role sees and can do."""

from __future__ import annotations

from sqlmodel import Session, select

from core import clock
from core.db import get_engine
from core.i18n import t
from core.models_inbox import Notification
from courses.attendance import checkin_code
from courses.models import AttemptAnswer, Attendance, QuizAttempt, TrainingSession
from tests.app.util import show_tab, texts


def _live_session(db_url: str) -> TrainingSession:
    with Session(get_engine(db_url)) as s:
        now = clock.now()
        return s.exec(
            select(TrainingSession).where(
                TrainingSession.status == "scheduled",
                TrainingSession.start_at <= now,
                TrainingSession.end_at > now,
            )
        ).first()


def test_worker_sees_the_live_session_and_their_courses(open_page, viewer_of):
    """Test that a worker's My learning lists the session open now with a check-in link, and six courses."""
    at = open_page("pages/my_learning.py", viewer_of("dp0001"))
    assert not at.exception
    links = [p.label for p in at.get("page_link")]
    assert t("courses.my.checkin_now", "zh") in links
    assert "四标四实信息采集规范" in texts(at) or "信息采集" in texts(at)
    assert (
        sum(
            1 for label in links if label.startswith("开始测验") or label == t("courses.my.quiz_resume", "zh")
        )
        >= 1
    )


def test_worker_checks_in_once_with_the_host_code(open_page, viewer_of, app_db):
    """Test that the right code checks the worker in, a repeat says so, and exactly one record exists."""
    ts = _live_session(app_db)
    at = open_page("pages/checkin.py", viewer_of("dp0001"))
    at.text_input[0].set_value("000000" if checkin_code(ts.secret, clock.now()) != "000000" else "111111")
    at.button[0].click().run()
    assert at.error, "a wrong code must be refused"
    at.text_input[0].set_value(checkin_code(ts.secret, clock.now()))
    at.button[0].click().run()
    assert not at.exception
    assert at.success and "签到成功" in at.success[0].value
    at.text_input[0].set_value(checkin_code(ts.secret, clock.now()))
    at.button[0].click().run()
    assert "无需重复签到" in texts(at)
    with Session(get_engine(app_db)) as s:
        worker_id = viewer_of("dp0001").worker_id
        seats = s.exec(
            select(Attendance).where(Attendance.session_id == ts.id, Attendance.worker_id == worker_id)
        ).all()
    assert len(seats) == 1 and seats[0].status in ("present", "late") and seats[0].source == "code"
    # Opened again, the page says so before anything is submitted, and does not offer that session again.
    again = open_page("pages/checkin.py", viewer_of("dp0001"))
    assert not again.exception
    assert any("无需重复签到" in i.value for i in again.info), texts(again)
    assert not again.text_input


def test_worker_takes_a_quiz_and_sees_the_result_in_english(open_page, viewer_of, app_db):
    """Test that starting, answering and submitting a quiz shows the score, in English."""
    at = open_page(None, viewer_of("dp0001"), lang="en")
    at.query_params["course"] = "1"
    at.switch_page("pages/quiz.py").run()
    assert not at.exception
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    assert "Question 1 of" in texts(at)
    with Session(get_engine(app_db)) as s:
        attempt = s.exec(
            select(QuizAttempt).where(
                QuizAttempt.worker_id == viewer_of("dp0001").worker_id, QuizAttempt.status == "in_progress"
            )
        ).one()
        first = s.exec(
            select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.position == 0)
        ).one()
    option = int(first.option_order.split(",")[0])
    if at.radio:
        at.radio[0].set_value(option)
    else:
        at.checkbox[0].check()
    next(b for b in at.button if b.label == "Next").click().run()
    assert "1 answered" in texts(at)
    next(b for b in at.button if b.label == "Submit now").click().run()  # questions still open: asks first
    next(b for b in at.button if b.label == "Submit anyway").click().run()
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"Score", "Right"} <= labels
    with Session(get_engine(app_db)) as s:
        worker_id = viewer_of("dp0001").worker_id
        last = s.exec(
            select(QuizAttempt)
            .where(QuizAttempt.worker_id == worker_id, QuizAttempt.course_id == 1)
            .order_by(QuizAttempt.id.desc())
        ).first()
    assert last.status == "submitted" and last.score is not None


def test_inbox_lists_reminders_and_marks_them_read(open_page, viewer_of, app_db):
    """Test that the worker's inbox holds the seeded reminder and 'mark all read' empties the unread count."""
    at = open_page("pages/inbox.py", viewer_of("dp0001"))
    assert not at.exception
    assert "课程提醒" in texts(at)
    next(b for b in at.button if b.label == t("courses.inbox.mark_all", "zh")).click().run()
    assert "0 条未读" in texts(at)
    with Session(get_engine(app_db)) as s:
        uid = viewer_of("dp0001").user_id
        assert (
            s.exec(
                select(Notification).where(Notification.user_id == uid, Notification.read_at.is_(None))
            ).first()
            is None
        )


def test_a_notice_linking_to_a_page_with_a_query_opens_that_page_with_it(open_page, viewer_of, app_db):
    """Test that a notice whose link carries a query (a verification task, a warning) is drawn as a link to the
    page with that query, not a Streamlit "page not found" error that takes the whole inbox down."""
    uid = viewer_of("dp0001").user_id
    with Session(get_engine(app_db)) as s:
        s.add(
            Notification(
                user_id=uid,
                key="test.query-link",
                kind="task",
                title_zh="核查任务",
                link="pages/my_tasks.py?task=7",
            )
        )
        s.commit()
    try:
        at = open_page("pages/inbox.py", viewer_of("dp0001"))
        assert not at.exception, at.exception
        link = next(p for p in at.get("page_link") if p.proto.page.endswith("my_tasks"))
        assert link.proto.query_string == "task=7"
    finally:
        with Session(get_engine(app_db)) as s:
            s.delete(s.exec(select(Notification).where(Notification.key == "test.query-link")).one())
            s.commit()


def test_manager_schedules_a_session_for_a_community(open_page, viewer_of, app_db):
    """Test that the community manager schedules a session for 下沙 and its workers get seats."""
    at = open_page("pages/catalog.py", viewer_of("xiasha"))
    assert not at.exception
    assert len(at.get("arrow_vega_lite_chart")) >= 1 or at.get("vega_lite_chart")
    show_tab(at, "catalog_tab", t("courses.tab.schedule", "zh"))
    form_submit = next(b for b in at.button if b.label == t("courses.sched.submit", "zh"))
    next(c for c in at.checkbox if c.label.startswith("同时为参训范围")).check()
    form_submit.click().run()
    assert not at.exception
    assert at.success, texts(at)
    with Session(get_engine(app_db)) as s:
        ts = s.exec(select(TrainingSession).order_by(TrainingSession.id.desc())).first()
        seats = s.exec(select(Attendance).where(Attendance.session_id == ts.id)).all()
    assert ts.unit_id == viewer_of("xiasha").scope_unit_id
    assert 5 <= len(seats) < 20


def test_attendance_register_shows_the_host_code_and_warnings(open_page, viewer_of, app_db):
    """Test that the manager sees the live session's code and QR, its 300-row register, and a warning list."""
    ts = _live_session(app_db)
    at = open_page("pages/attendance.py", viewer_of("manager"))
    assert not at.exception
    assert t("courses.att.host", "zh") in texts(at)
    assert checkin_code(ts.secret, clock.now()) in texts(at) or checkin_code(
        ts.secret, clock.now().replace(second=0)
    ) in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics[t("courses.col.seated", "zh")]) >= 300
    show_tab(at, "attendance_tab", t("courses.att.tab_workers", "zh"))
    metrics = {m.label: m.value for m in at.metric}
    assert t("courses.att.warning_list", "zh") in texts(at)
    assert int(metrics[t("courses.att.warned", "zh")]) > 0


def test_quiz_results_rank_the_weakest_items_first(open_page, viewer_of):
    """Test that quiz results show attempts and an item analysis whose first rows need rewriting."""
    at = open_page("pages/quiz_results.py", viewer_of("manager"), lang="en")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Attempts"]) > 100
    items = at.dataframe[1].value
    assert bool(items["Needs rewriting"].iloc[0])
    assert items["Discrimination"].dropna().is_monotonic_increasing
    assert any(b.label == "Download Excel" for b in at.get("download_button"))


def test_the_qr_link_checks_the_worker_in_on_opening(open_page, viewer_of, app_db):
    """Test that opening the check-in link (as from the QR code) while signed in records the check-in."""
    from courses.attendance import link_token

    ts = _live_session(app_db)
    at = open_page(None, viewer_of("dp0002"))
    at.query_params["session"] = str(ts.id)
    at.query_params["token"] = link_token(ts.secret, ts.id)
    at.switch_page("pages/checkin.py").run()
    assert not at.exception
    assert at.success and "签到成功" in at.success[0].value


def test_manager_bulk_marks_the_unmarked(open_page, viewer_of, app_db):
    """Test that 'set everyone unmarked' on the live session's register marks them all at once and then says
    what it saved: how many people, with which status."""
    ts = _live_session(app_db)
    at = open_page("pages/attendance.py", viewer_of("manager"), lang="en")
    next(b for b in at.button if b.label == "Set everyone unmarked to this status").click().run()
    assert not at.exception
    with Session(get_engine(app_db)) as s:
        statuses = s.exec(select(Attendance.status).where(Attendance.session_id == ts.id)).all()
    assert statuses and all(st == "present" for st in statuses)
    n = len(statuses)
    assert [s.value for s in at.success] == [f"Attendance saved for {n} people: Present {n}."], texts(at)


def test_quiz_results_excel_export_has_three_sheets(viewer_of, app_db):
    """Test that the Excel export opens with the attempts, item analysis and answer-matrix sheets."""
    import io

    import openpyxl

    from courses.models import Course
    from courses.results import answers_frame, attempts_frame, excel_report, item_analysis

    v = viewer_of("manager")
    with Session(get_engine(app_db)) as s:
        course = s.get(Course, 1)
        attempts = attempts_frame(s, v, course_id=1)
        answers = answers_frame(s, v, course_id=1)
    data = excel_report(
        course=course,
        attempts=attempts,
        items=item_analysis(answers),
        answers=answers,
        labels={"sheet.attempts": "答卷", "sheet.items": "试题分析", "sheet.matrix": "作答矩阵"},
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["答卷", "试题分析", "作答矩阵"]
    assert wb["答卷"].max_row == len(attempts) + 1


def test_scheduling_refused_for_an_audience_saves_no_rule_and_no_enrolment(open_page, viewer_of, app_db):
    """Test that when 排课 with "enroll the audience" is refused (a start in the past), neither the audience's
    rule nor its enrolments are saved without the session."""
    from datetime import timedelta

    from sqlmodel import func

    from courses.models import Enrollment, EnrollmentRule

    def counts() -> tuple[int, int, int]:
        with Session(get_engine(app_db)) as s:
            return tuple(
                s.exec(select(func.count()).select_from(m)).one()
                for m in (EnrollmentRule, Enrollment, TrainingSession)
            )

    before = counts()
    at = show_tab(
        open_page("pages/catalog.py", viewer_of("manager")), "catalog_tab", t("courses.tab.schedule", "zh")
    )
    by_label = {w.label: w for w in [*at.selectbox, *at.date_input, *at.checkbox]}
    by_label[t("courses.sched.first_day", "zh")].set_value(clock.today() - timedelta(days=2))
    by_label[t("courses.col.audience", "zh")].set_value(viewer_of("xiasha").scope_unit_id)
    by_label[t("courses.sched.enroll_audience", "zh")].check()
    next(b for b in at.button if b.label == t("courses.sched.submit", "zh")).click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("courses.err.in_past", "zh")]
    assert counts() == before


def test_district_manager_edits_a_course_in_the_catalog(open_page, viewer_of, app_db):
    """Test that changing a course's pass mark in the catalog editor saves it (one save) and says so."""
    from courses.models import Course

    with Session(get_engine(app_db)) as s:
        course = s.exec(select(Course).order_by(Course.code)).first()
    at = open_page("pages/catalog.py", viewer_of("manager"), lang="zh")
    show_tab(at, "catalog_tab", t("courses.tab.catalog", "zh"))
    next(b for b in at.selectbox if b.label == t("courses.catalog.edit_pick", "zh")).set_value(
        course.id
    ).run()
    mark = next(n for n in at.number_input if n.label == t("courses.col.pass_mark", "zh"))
    assert mark.value == course.pass_mark
    mark.set_value(73)
    next(b for b in at.button if b.label == t("common.save", "zh")).click().run()
    assert not at.exception and not at.error
    assert t("common.saved", "zh") in [m.value for m in at.success]
    with Session(get_engine(app_db)) as s:
        assert s.get(Course, course.id).pass_mark == 73
