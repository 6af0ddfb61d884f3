"""Quizzes: random draws from the bank, shuffled options, a server-side time limit, limited attempts,
grading (highest / last / average), review, and the certificate a pass earns.

Time is the server's: an attempt's deadline is fixed when it starts, answers saved after it are refused,
and a late submit is scored with what had been saved by the deadline (as if submitted then).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from core import clock
from core.models import row_id
from core.scope import Viewer
from courses._sql import insert_ignore, must_get, rowcount, table_of
from courses.errors import CoursesError
from courses.models import (
    AttemptAnswer,
    AttemptStatus,
    Certificate,
    Course,
    Enrollment,
    GradingMethod,
    Question,
    QuestionOption,
    QuizAttempt,
    ReviewPolicy,
)

RENEWAL_WINDOW_DAYS = 30  # a certificate holder may sit the quiz again this close to expiry


class QuizError(CoursesError):
    """A quiz action refused (the message says why)."""


def add_months(at: datetime, months: int) -> datetime:
    """Same day ``months`` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    total = at.month - 1 + months
    year, month = at.year + total // 12, total % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def grade(scores: list[float], method: str) -> float | None:
    """The course grade from the attempts' scores (in the order taken)."""
    if not scores:
        return None
    if method == GradingMethod.LAST.value:
        return float(scores[-1])
    if method == GradingMethod.AVERAGE.value:
        return float(round(sum(scores) / len(scores), 2))
    return float(max(scores))


def score_answers(chosen: list[set[int]], correct: list[set[int]]) -> tuple[int, float]:
    """All-or-nothing per question (a multiple-choice answer counts only when exactly the right options
    are chosen); returns (questions right, score 0–100 rounded to 0.1)."""
    right = sum(1 for c, k in zip(chosen, correct, strict=True) if c and c == k)
    return right, round(100.0 * right / len(correct), 1) if correct else 0.0


def _ids(text: str | None) -> set[int]:
    return {int(x) for x in text.split(",") if x} if text else set()


def _csv(ids: set[int] | list[int]) -> str:
    return ",".join(str(i) for i in sorted(ids))


# --- state of one worker in one course -----------------------------------------------------------------


@dataclass
class CourseStanding:
    course_id: int
    cycle_start: datetime | None  # attempts since the last certificate count toward the next one
    attempts_used: int
    attempts_left: int
    grade: float | None
    certificate: Certificate | None  # the latest certificate, valid or not
    in_progress: QuizAttempt | None
    scores: list[float] = field(default_factory=list)
    last_number: int = 0  # over all cycles; read in the same SELECT as ``in_progress`` (see start_attempt)

    def certificate_valid(self, at: datetime) -> bool:
        return self.certificate is not None and self.certificate.valid_until > at


def standing(session: Session, *, course: Course, worker_id: int, now: datetime) -> CourseStanding:
    cert = session.exec(
        select(Certificate)
        .where(col(Certificate.course_id) == course.id, col(Certificate.worker_id) == worker_id)
        .order_by(col(Certificate.issued_at).desc())
    ).first()
    cycle_start = cert.issued_at if cert else None
    every = list(
        session.exec(
            select(QuizAttempt)
            .where(col(QuizAttempt.course_id) == course.id, col(QuizAttempt.worker_id) == worker_id)
            .order_by(col(QuizAttempt.number))
        ).all()
    )
    attempts = [a for a in every if cycle_start is None or a.started_at > cycle_start]
    scores = [
        a.score for a in attempts if a.status != AttemptStatus.IN_PROGRESS.value and a.score is not None
    ]
    current = next((a for a in every if a.status == AttemptStatus.IN_PROGRESS.value), None)
    return CourseStanding(
        row_id(course.id),
        cycle_start,
        len(attempts),
        max(0, course.max_attempts - len(attempts)),
        grade(scores, course.grading_method),
        cert,
        current,
        scores,
        last_number=every[-1].number if every else 0,
    )


# --- taking a quiz ---------------------------------------------------------------------------------------


def start_attempt(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    now: datetime | None = None,
    rng: np.random.Generator | None = None,
) -> QuizAttempt:
    """Start (or resume) the worker's attempt: draw the questions and shuffle each one's options.

    Safe to repeat from scratch (the attempt number is a unique key): callers run it in
    ``core.db.retry_unit_of_work``.
    """
    now = now or clock.now()
    worker_id = viewer.worker_id
    if worker_id is None:
        raise QuizError("worker_only")
    course = session.get(Course, course_id)
    if course is None or not course.is_active:
        raise QuizError("course_unavailable")
    if (
        session.exec(
            select(col(Enrollment.id)).where(
                col(Enrollment.course_id) == course_id, col(Enrollment.worker_id) == worker_id
            )
        ).first()
        is None
    ):
        raise QuizError("not_enrolled")
    st = standing(session, course=course, worker_id=worker_id, now=now)
    if st.in_progress is not None:
        if st.in_progress.deadline_at > now:
            return st.in_progress
        finalize(session, st.in_progress, now=now)
        st = standing(session, course=course, worker_id=worker_id, now=now)
    cert = st.certificate
    if cert is not None and cert.valid_until > now + timedelta(days=RENEWAL_WINDOW_DAYS):
        raise QuizError("already_certified", until=f"{cert.valid_until:%Y-%m-%d}")
    if st.attempts_left <= 0:
        raise QuizError("no_attempts_left", n=course.max_attempts)
    rng = rng or np.random.default_rng()
    bank = session.exec(
        select(col(Question.id))
        .where(col(Question.course_id) == course_id, col(Question.is_active))
        .order_by(col(Question.id))
    ).all()
    if not bank:
        raise QuizError("no_questions")
    drawn = rng.permutation(np.array(bank))[: min(course.quiz_questions, len(bank))].tolist()
    options = pd.DataFrame(
        session.exec(
            select(col(QuestionOption.question_id), col(QuestionOption.id)).where(
                col(QuestionOption.question_id).in_(drawn)
            )
        ).all(),
        columns=["question_id", "id"],
    )
    by_q = options.groupby("question_id")["id"].apply(list).to_dict()
    # The number comes from the same read that found no attempt in progress: two taps racing here pick the
    # same number, the unique key lets one in, and the other resumes it (no exception, nothing rolled back).
    number = st.last_number + 1
    if not insert_ignore(
        session,
        QuizAttempt,
        [
            {
                "course_id": course_id,
                "worker_id": worker_id,
                "number": number,
                "status": AttemptStatus.IN_PROGRESS.value,
                "started_at": now,
                "deadline_at": now + timedelta(minutes=course.time_limit_minutes),
                "question_count": len(drawn),
            }
        ],
        conflict=["course_id", "worker_id", "number"],
    ):
        existing = standing(session, course=course, worker_id=worker_id, now=now).in_progress
        if existing is None:
            raise QuizError("start_failed")
        return existing
    attempt = session.exec(
        select(QuizAttempt).where(
            col(QuizAttempt.course_id) == course_id,
            col(QuizAttempt.worker_id) == worker_id,
            col(QuizAttempt.number) == number,
        )
    ).one()
    session.add_all(
        [
            AttemptAnswer(
                attempt_id=row_id(attempt.id),
                question_id=q,
                position=i,
                option_order=",".join(str(o) for o in rng.permutation(by_q[q]).tolist()),
            )
            for i, q in enumerate(drawn)
        ]
    )
    session.flush()
    return attempt


def attempt_questions(session: Session, viewer: Viewer, attempt_id: int) -> tuple[QuizAttempt, list[dict]]:
    """The attempt and its questions in drawn order, each with options in shown order (no answers)."""
    attempt = _own_attempt(session, viewer, attempt_id)
    answers = session.exec(
        select(AttemptAnswer, Question)
        .join(Question, col(Question.id) == col(AttemptAnswer.question_id))
        .where(col(AttemptAnswer.attempt_id) == attempt_id)
        .order_by(col(AttemptAnswer.position))
    ).all()
    q_ids = [a.question_id for a, _ in answers]
    opts = {
        o.id: o
        for o in session.exec(select(QuestionOption).where(col(QuestionOption.question_id).in_(q_ids)))
    }
    out = []
    for ans, q in answers:
        out.append(
            {
                "question_id": q.id,
                "code": q.code,
                "kind": q.kind,
                "text_zh": q.text_zh,
                "text_en": q.text_en,
                "explanation_zh": q.explanation_zh,
                "explanation_en": q.explanation_en,
                "chosen": _ids(ans.chosen),
                "correct": ans.correct,
                "options": [
                    {
                        "id": o,
                        "text_zh": opts[o].text_zh,
                        "text_en": opts[o].text_en,
                        "correct": opts[o].correct,
                    }
                    for o in (int(x) for x in ans.option_order.split(","))
                ],
            }
        )
    return attempt, out


def _own_attempt(session: Session, viewer: Viewer, attempt_id: int) -> QuizAttempt:
    attempt = session.get(QuizAttempt, attempt_id)
    # Only the worker who took it: a manager reads results through courses.results, never the attempt itself.
    if attempt is None or viewer.worker_id is None or attempt.worker_id != viewer.worker_id:
        raise QuizError("not_your_attempt")
    return attempt


def _validate(session: Session, attempt_id: int, answers: dict[int, list[int]]) -> dict[int, set[int]]:
    """Refuse questions not drawn for this attempt and option ids that are not that question's."""
    drawn = dict(
        session.exec(
            select(col(AttemptAnswer.question_id), col(AttemptAnswer.option_order)).where(
                col(AttemptAnswer.attempt_id) == attempt_id
            )
        ).all()
    )
    clean: dict[int, set[int]] = {}
    for q, chosen in answers.items():
        q = int(q)
        if q not in drawn:
            raise QuizError("foreign_question")
        allowed = _ids(drawn[q])
        ids = {int(c) for c in chosen}
        if not ids <= allowed:
            raise QuizError("foreign_option")
        clean[q] = ids
    return clean


def save_answer(
    session: Session,
    viewer: Viewer,
    *,
    attempt_id: int,
    question_id: int,
    option_ids: list[int],
    now: datetime | None = None,
) -> None:
    """Save one answer while the attempt is open (refused after the deadline)."""
    now = now or clock.now()
    attempt = _own_attempt(session, viewer, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise QuizError("already_submitted")
    if now > attempt.deadline_at:
        raise QuizError("time_up")
    clean = _validate(session, attempt_id, {question_id: option_ids})
    session.execute(
        update(AttemptAnswer)
        .where(col(AttemptAnswer.attempt_id) == attempt_id, col(AttemptAnswer.question_id) == question_id)
        .values(chosen=_csv(clean[question_id]), answered_at=now)
    )


@dataclass(frozen=True)
class SubmitResult:
    attempt: QuizAttempt
    already: bool  # it had been submitted before: nothing changed
    late: bool  # submitted after the deadline: scored with what was saved by then
    passed: bool
    grade: float | None
    certificate: Certificate | None


def submit_attempt(
    session: Session,
    viewer: Viewer,
    *,
    attempt_id: int,
    answers: dict[int, list[int]],
    now: datetime | None = None,
) -> SubmitResult:
    """Submit an attempt once. Answers given after the deadline are ignored and the attempt is scored as it
    stood at the deadline; a second submit returns the first result unchanged."""
    now = now or clock.now()
    attempt = _own_attempt(session, viewer, attempt_id)
    clean = _validate(session, attempt_id, answers)
    late = now > attempt.deadline_at
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        return _result(session, attempt, already=True, late=False, now=now)
    claimed = finalize(session, attempt, now=now, answers=None if late else clean)
    session.refresh(attempt)
    return _result(session, attempt, already=not claimed, late=late and claimed, now=now)


def finalize(
    session: Session,
    attempt: QuizAttempt,
    *,
    now: datetime,
    answers: dict[int, set[int]] | None = None,
    auto: bool = False,
) -> bool:
    """Close an open attempt exactly once, store ``answers`` (only when on time), score it and issue a
    certificate if the grade now passes. Returns False if it was already closed.

    Everything is read and scored first; the write is one short transaction that starts with the conditional
    UPDATE claiming the attempt, so a second submit (or the scheduler) racing this one changes nothing.
    """
    at = min(now, attempt.deadline_at)
    status = AttemptStatus.AUTO_SUBMITTED if auto or now > attempt.deadline_at else AttemptStatus.SUBMITTED
    rows = session.exec(
        select(
            col(AttemptAnswer.id),
            col(AttemptAnswer.question_id),
            col(AttemptAnswer.chosen),
            col(AttemptAnswer.answered_at),
        )
        .where(col(AttemptAnswer.attempt_id) == attempt.id)
        .order_by(col(AttemptAnswer.position))
    ).all()
    q_ids = [r[1] for r in rows]
    correct_opts = pd.DataFrame(
        session.exec(
            select(col(QuestionOption.question_id), col(QuestionOption.id)).where(
                col(QuestionOption.question_id).in_(q_ids), col(QuestionOption.correct)
            )
        ).all(),
        columns=["question_id", "id"],
    )
    key = correct_opts.groupby("question_id")["id"].apply(set).to_dict()
    given = answers or {}
    chosen = [given.get(q, _ids(saved)) for _, q, saved, _ in rows]
    correct = [key.get(q, set()) for q in q_ids]
    right, score = score_answers(chosen, correct)
    course = must_get(session, Course, attempt.course_id)
    before = standing(session, course=course, worker_id=attempt.worker_id, now=at)
    new_grade = grade(before.scores + [score], course.grading_method)
    certified_since_start = (
        before.certificate is not None and before.certificate.issued_at >= attempt.started_at
    )

    claimed = rowcount(
        session.execute(
            update(QuizAttempt)
            .where(
                col(QuizAttempt.id) == attempt.id, col(QuizAttempt.status) == AttemptStatus.IN_PROGRESS.value
            )
            .values(status=status.value, submitted_at=at, score=score, correct_count=right)
        )
    )
    if not claimed:  # nothing was written before the claim: nothing to undo
        return False
    session.execute(
        update(table_of(AttemptAnswer))
        .where(table_of(AttemptAnswer).c.id == bindparam("answer_id"))
        .values(
            chosen=bindparam("new_chosen"),
            answered_at=bindparam("new_answered_at"),
            correct=bindparam("new_correct"),
        ),
        [
            {
                "answer_id": ans_id,
                "new_chosen": _csv(c) if c else None,
                "new_answered_at": at if q in given else answered_at,
                "new_correct": bool(c) and c == k,
            }
            for (ans_id, q, _saved, answered_at), c, k in zip(rows, chosen, correct, strict=True)
        ],
    )
    if new_grade is not None and new_grade >= course.pass_mark and not certified_since_start:
        insert_ignore(
            session,
            Certificate,
            [
                {
                    "course_id": course.id,
                    "worker_id": attempt.worker_id,
                    "attempt_id": attempt.id,
                    "score": new_grade,
                    "issued_at": at,
                    "valid_until": add_months(at, course.validity_months),
                }
            ],
            conflict=["attempt_id"],
        )
    return True


def auto_submit_expired(session: Session, *, now: datetime | None = None) -> int:
    """Close every open attempt whose deadline has passed, scored as at the deadline."""
    now = now or clock.now()
    expired = session.exec(
        select(QuizAttempt).where(
            col(QuizAttempt.status) == AttemptStatus.IN_PROGRESS.value, col(QuizAttempt.deadline_at) < now
        )
    ).all()
    return sum(finalize(session, a, now=now, auto=True) for a in expired)


def _result(
    session: Session, attempt: QuizAttempt, *, already: bool, late: bool, now: datetime
) -> SubmitResult:
    course = must_get(session, Course, attempt.course_id)
    cert = session.exec(select(Certificate).where(col(Certificate.attempt_id) == attempt.id)).first()
    st = standing(session, course=course, worker_id=attempt.worker_id, now=now)
    g = grade(st.scores, course.grading_method) if cert is None else cert.score
    return SubmitResult(
        attempt, already, late, passed=(attempt.score or 0) >= course.pass_mark, grade=g, certificate=cert
    )


def review_allowed(session: Session, attempt: QuizAttempt, *, now: datetime | None = None) -> bool:
    course = must_get(session, Course, attempt.course_id)
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        return False
    if course.review_policy == ReviewPolicy.NEVER.value:
        return False
    if course.review_policy == ReviewPolicy.AFTER_PASS.value:
        return (
            session.exec(
                select(col(Certificate.id)).where(
                    col(Certificate.course_id) == course.id, col(Certificate.worker_id) == attempt.worker_id
                )
            ).first()
            is not None
        )
    return True
