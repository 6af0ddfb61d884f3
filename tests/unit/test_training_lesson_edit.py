"""Editing a course's lessons (titles, minimum reading time, credited minutes, video link) and carrying a
course's video link onto its first lesson."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.models_audit import AuditEntry
from core.scope import ScopeError
from courses.training import lessons
from courses.training.errors import TrainingError
from courses.training.models import Lesson
from tests.unit._courses_world import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _first(session: Session, course_id: int) -> Lesson:
    lessons.ensure_lessons(session, course_ids=[course_id])
    return session.exec(select(Lesson).where(Lesson.course_id == course_id, Lesson.position == 1)).one()


def test_a_district_manager_edits_a_lesson_and_it_is_audited(session, world):
    """Test that a district manager's edit changes what the worker reads (title, reading time in minutes, credited
    minutes, video link) and leaves one audit entry with the before and after."""
    lesson = _first(session, world.courses["fire_safety"].id)
    lessons.set_lesson(
        session,
        world.manager,
        lesson_id=lesson.id,
        title_zh=" 灭火器检查 ",
        title_en="Extinguishers",
        min_read_minutes=2.5,
        credit_minutes=20,
        video_url="https://example.org/fire.mp4",
    )
    row = lessons.lessons_frame(session, world.manager, course_id=world.courses["fire_safety"].id).iloc[0]
    assert (row["title_zh"], row["min_read_seconds"], row["credit_minutes"], row["video_url"]) == (
        "灭火器检查",
        150,
        20,
        "https://example.org/fire.mp4",
    )
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "training.lesson.set")).all()
    assert len(audit) == 1 and "灭火器检查" in audit[0].after


def test_only_district_managers_edit_lessons(session, world):
    """Test that a community manager and a worker cannot edit the district-wide lessons, and a worker cannot
    read the editor's list."""
    lesson = _first(session, world.courses["fire_safety"].id)
    with pytest.raises(ScopeError):
        lessons.set_lesson(
            session, world.manager_a, lesson_id=lesson.id, title_zh="改", min_read_minutes=1, credit_minutes=5
        )
    with pytest.raises(ScopeError):
        lessons.lessons_frame(session, world.worker(world.org.workers_a[0]), course_id=lesson.course_id)


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("title_zh", "", "bad_lesson_title"),
        ("min_read_minutes", 0, "bad_read_minutes"),
        ("credit_minutes", -5, "bad_credit_minutes"),
        ("video_url", "javascript:alert(1)", "bad_video_url"),
    ],
)
def test_bad_lesson_values_are_refused_naming_the_lesson(session, world, field, value, key):
    """Test that an empty title, a zero reading time, negative minutes or a link that is not http(s) is refused
    with a message naming the lesson, and nothing is changed."""
    lesson = _first(session, world.courses["fire_safety"].id)
    before = (lesson.title_zh, lesson.min_read_seconds, lesson.credit_minutes, lesson.video_url)
    args = {"title_zh": "标题", "min_read_minutes": 2, "credit_minutes": 10, "video_url": ""} | {field: value}
    with pytest.raises(TrainingError) as e:
        lessons.set_lesson(session, world.manager, lesson_id=lesson.id, **args)
    assert e.value.key == key and "1" in e.value.message("zh")
    session.refresh(lesson)
    assert (lesson.title_zh, lesson.min_read_seconds, lesson.credit_minutes, lesson.video_url) == before


def test_a_course_video_link_goes_to_its_first_lesson(session, world):
    """Test that splitting a course's material puts its first web link on the first lesson only."""
    course = world.courses["house_coding"]
    course.links = "门牌编码操作视频 | https://example.org/coding.mp4\n附录 | https://example.org/b.pdf"
    session.add(course)
    session.flush()
    lessons.ensure_lessons(session, course_ids=[course.id])
    urls = session.exec(
        select(Lesson.video_url).where(Lesson.course_id == course.id).order_by(Lesson.position)
    ).all()
    assert urls[0] == "https://example.org/coding.mp4" and set(urls[1:]) <= {""}
