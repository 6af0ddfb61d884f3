"""Hand-set query parameters: a page that reads ``st.query_params`` must not show or change another
community's records because someone typed an id into the address bar.

The pages that read them: attendance (``?session=``), check-in (``?session=&token=``) and quiz
(``?course=``). Each test puts a record of a community the viewer does not belong to into the URL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core import clock
from core.db import get_engine
from core.models import OrgLevel, OrgUnit, Role, User, Worker
from core.scope import Viewer
from courses.attendance import link_token
from courses.enrollment import enroll
from courses.models import Attendance, Course, QuizAttempt
from courses.training_sessions import SessionPlan, schedule
from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")
# my_tasks reads ?task= only to put that one of the worker's OWN tasks first (a foreign or unknown id matches
# nothing): tests/app/test_my_tasks_verification.py opens it from a message link. warnings reads ?warning= only to
# preselect a warning already listed in the viewer's scope (a notice links to it); an id outside it selects nothing.
PAGES_READING_QUERY_PARAMS = {
    "pages/attendance.py",
    "pages/checkin.py",
    "pages/quiz.py",
    "pages/my_tasks.py",
    "pages/warnings.py",
}


def _district(s: Session) -> Viewer:
    user = s.exec(select(User).where(User.username == "manager")).one()
    return Viewer(user_id=user.id, role=Role.MANAGER, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)


def _foreign_session(db_url: str, viewer: Viewer) -> tuple[int, str, list[str]]:
    """A session running now for a community other than the viewer's, with two of its workers seated;
    returns its id, its valid link token and the seated workers' names."""
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        own = viewer.scope_unit_id or s.get(Worker, viewer.worker_id).community_id
        other = s.exec(
            select(OrgUnit)
            .where(OrgUnit.level == OrgLevel.COMMUNITY.value, OrgUnit.id != own)
            .order_by(OrgUnit.id)
        ).first()
        workers = s.exec(
            select(Worker).where(Worker.community_id == other.id).order_by(Worker.id).limit(2)
        ).all()
        course = s.exec(select(Course).order_by(Course.id)).first()
        now = clock.now()
        start = now - timedelta(minutes=5)
        enroll(
            s,
            _district(s),
            course_id=course.id,
            worker_ids=[w.id for w in workers],
            now=start - timedelta(days=1),
        )
        end = min(start + timedelta(hours=1), start.replace(hour=23, minute=59))
        (ts,) = schedule(
            s,
            _district(s),
            SessionPlan(
                course_id=course.id,
                first_day=start.date(),
                start=start.time(),
                end=end.time(),
                unit_id=other.id,
            ),
            now=start - timedelta(days=1),
        )
        s.commit()  # the set-up is the caller's unit of work
        return ts.id, link_token(ts.secret, ts.id), [w.name for w in workers]


def _seats(db_url: str, session_id: int) -> list[tuple]:
    with Session(get_engine(db_url)) as s:
        return [
            tuple(r)
            for r in s.exec(
                select(Attendance.worker_id, Attendance.status, Attendance.checked_in_at)
                .where(Attendance.session_id == session_id)
                .order_by(Attendance.worker_id)
            ).all()
        ]


def _open_with(open_page, viewer: Viewer, page: str, params: dict[str, str]) -> AppTest:  # noqa: ANN001
    at = open_page(None, viewer)
    at.query_params.update(params)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_the_pages_reading_query_params_are_these():
    """Test that the list this module covers is every page that reads st.query_params (a new one needs a test)."""
    from core.settings import ROOT

    readers = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if "st.query_params" in p.read_text()}
    assert readers == PAGES_READING_QUERY_PARAMS


def test_attendance_page_ignores_another_communitys_session_id(open_page, viewer_of, app_db):
    """Test that ?session=<id of another community's session> on the attendance page shows neither that
    session nor its seated workers to a community manager."""
    xiasha = viewer_of("xiasha")
    sid, _token, names = _foreign_session(app_db, xiasha)
    before = _seats(app_db, sid)
    at = _open_with(open_page, xiasha, "pages/attendance.py", {"session": str(sid)})
    assert at.selectbox, "the page should offer the manager's own sessions"
    assert all(sb.value != sid for sb in at.selectbox)
    shown = texts(at) + "".join(df.value.to_string() for df in at.dataframe)
    assert not [n for n in names if n in shown], "another community's workers were shown"
    assert _seats(app_db, sid) == before
    # The same id is accepted for a manager whose scope holds it (the parameter works at all).
    manager = viewer_of("manager")
    at = _open_with(open_page, manager, "pages/attendance.py", {"session": str(sid)})
    assert at.selectbox[0].value == sid


def test_checkin_link_of_another_communitys_session_records_nothing(open_page, viewer_of, app_db):
    """Test that a worker opening a valid check-in link of a session they are not seated at gets an error
    and no seat changes; a forged token for it is refused too."""
    worker = viewer_of("dp0001")
    sid, token, _names = _foreign_session(app_db, worker)
    before = _seats(app_db, sid)
    at = _open_with(open_page, worker, "pages/checkin.py", {"session": str(sid), "token": token})
    assert at.error, "a link to a session the worker is not seated at must be refused"
    at = _open_with(open_page, worker, "pages/checkin.py", {"session": str(sid), "token": "0" * 24})
    assert at.error
    assert _seats(app_db, sid) == before
    with Session(get_engine(app_db)) as s:
        assert not s.exec(
            select(Attendance).where(Attendance.session_id == sid, Attendance.worker_id == worker.worker_id)
        ).first()


def test_quiz_page_ignores_a_course_the_worker_is_not_enrolled_in(open_page, viewer_of, app_db):
    """Test that ?course=<a course the worker is not enrolled in> starts no attempt and shows not that course."""
    from courses.catalog import save_course
    from courses.models import CourseBase

    worker = viewer_of("dp0001")
    with Session(get_engine(app_db), expire_on_commit=False) as s:
        template = s.exec(select(Course).order_by(Course.id)).first()
        data = CourseBase.model_validate(
            {
                **CourseBase.model_validate(template, from_attributes=True).model_dump(),
                "code": "not_enrolled_x",
                "title_zh": "未报名的课程X",
            }
        )
        admin = s.exec(select(User).where(User.username == "admin")).one()
        course = save_course(s, Viewer(admin.id, Role.SYSADMIN, OrgLevel.DISTRICT, None), data)
        attempts_before = len(s.exec(select(QuizAttempt.id)).all())
    at = _open_with(open_page, worker, "pages/quiz.py", {"course": str(course.id)})
    assert "未报名的课程X" not in texts(at)
    with Session(get_engine(app_db)) as s:
        assert not s.exec(select(QuizAttempt).where(QuizAttempt.course_id == course.id)).first()
        assert len(s.exec(select(QuizAttempt.id)).all()) == attempts_before
