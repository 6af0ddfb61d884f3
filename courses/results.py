"""Quiz results for managers: attempts, answers per question, item analysis and the Excel export.

Item analysis (classical test theory, as Moodle's quiz statistics report):
- facility index F = share of attempts answering the item right (0–1; very high or very low says little);
- discrimination index D = F(upper group) − F(lower group), the groups being the top and bottom 27%
  (Kelley, k = round(0.27 n), at least 1) of the attempts that saw the item, ranked by the attempt's score
  without this item (the "rest score"; otherwise an item with short quizzes discriminates on its own
  points: a coin-flip item came out at D = 0.5 on the demo data). D < 0.2 means the item
  hardly separates those who know from those who do not; D < 0 usually means a wrong key or a trap.
Questions are drawn at random, so each item is analysed over the attempts that included it.
"""

from __future__ import annotations

import io
import math
from datetime import datetime

import pandas as pd
from sqlalchemy import Select
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from core.models import OrgUnit, Worker
from core.scope import Viewer, worker_scope_clause
from core.tabular import safe_frame
from courses._sql import frame, require_manager
from courses.models import AttemptAnswer, AttemptStatus, Course, Question, QuizAttempt

GROUP_SHARE = 0.27
MIN_ATTEMPTS_FOR_D = 4  # below this the upper and lower groups are one attempt each: not worth showing
WEAK_DISCRIMINATION = 0.2


def attempts_frame(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """One row per submitted attempt of workers in scope."""
    require_manager(viewer)
    stmt: Select = (
        sa_select(
            col(QuizAttempt.id).label("attempt_id"),
            col(QuizAttempt.worker_id),
            col(Worker.employee_no),
            col(Worker.name),
            col(OrgUnit.name_zh).label("community_zh"),
            col(OrgUnit.name_en).label("community_en"),
            col(QuizAttempt.number),
            col(QuizAttempt.status),
            col(QuizAttempt.started_at),
            col(QuizAttempt.submitted_at),
            col(QuizAttempt.correct_count),
            col(QuizAttempt.question_count),
            col(QuizAttempt.score),
            col(Course.pass_mark),
        )
        .join(Worker, col(Worker.id) == col(QuizAttempt.worker_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Worker.community_id))
        .join(Course, col(Course.id) == col(QuizAttempt.course_id))
        .where(
            col(QuizAttempt.course_id) == course_id,
            worker_scope_clause(viewer),
            col(QuizAttempt.status) != AttemptStatus.IN_PROGRESS.value,
        )
        .order_by(col(QuizAttempt.submitted_at).desc(), col(QuizAttempt.id).desc())
    )
    if since is not None:
        stmt = stmt.where(col(QuizAttempt.submitted_at) >= since)
    if until is not None:
        stmt = stmt.where(col(QuizAttempt.submitted_at) < until)
    df = frame(session, stmt)
    df["passed"] = df["score"] >= df["pass_mark"]
    return df


def answers_frame(
    session: Session,
    viewer: Viewer,
    *,
    course_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """One row per answered item of a submitted attempt in scope: attempt_id, score, question, correct."""
    require_manager(viewer)
    stmt = (
        sa_select(
            col(AttemptAnswer.attempt_id),
            col(QuizAttempt.score),
            col(AttemptAnswer.question_id),
            col(Question.code),
            col(Question.kind),
            col(Question.text_zh),
            col(Question.text_en),
            col(AttemptAnswer.correct),
        )
        .join(QuizAttempt, col(QuizAttempt.id) == col(AttemptAnswer.attempt_id))
        .join(Question, col(Question.id) == col(AttemptAnswer.question_id))
        .join(Worker, col(Worker.id) == col(QuizAttempt.worker_id))
        .where(
            col(QuizAttempt.course_id) == course_id,
            worker_scope_clause(viewer),
            col(QuizAttempt.status) != AttemptStatus.IN_PROGRESS.value,
        )
    )
    if since is not None:
        stmt = stmt.where(col(QuizAttempt.submitted_at) >= since)
    if until is not None:
        stmt = stmt.where(col(QuizAttempt.submitted_at) < until)
    df = frame(session, stmt)
    df["correct"] = df["correct"].fillna(False).astype(bool)
    return df


def item_analysis(answers: pd.DataFrame) -> pd.DataFrame:
    """Facility and discrimination per question from ``answers`` (attempt_id, score, question_id, correct,
    and any descriptive columns such as code/text), worst first: lowest discrimination, then the facility
    furthest from 0.5. Columns added: n, facility, discrimination, group_size, needs_review."""
    cols = ["question_id", "n", "facility", "discrimination", "group_size", "needs_review"]
    if answers.empty:
        return pd.DataFrame(columns=cols)
    df = answers.copy()
    df["correct"] = df["correct"].astype(float)
    per_attempt = df.groupby("attempt_id")["question_id"].transform("size")
    # Rounded: scores are stored to 0.1, and float noise must not break ties against attempt id order.
    df["rest"] = (df["score"] - df["correct"] * 100.0 / per_attempt).round(1)
    df = df.sort_values(["question_id", "rest", "attempt_id"], ascending=[True, False, True])
    g = df.groupby("question_id", sort=False)
    df["n"] = g["correct"].transform("size")
    df["rank"] = g.cumcount()  # 0 = the best attempt that saw this item
    df["k"] = (df["n"] * GROUP_SHARE).apply(lambda x: max(1, math.floor(x + 0.5)))
    upper = df[df["rank"] < df["k"]].groupby("question_id")["correct"].mean()
    lower = df[df["rank"] >= df["n"] - df["k"]].groupby("question_id")["correct"].mean()
    out = g.agg(n=("correct", "size"), facility=("correct", "mean"), group_size=("k", "first"))
    out["discrimination"] = (upper - lower).reindex(out.index)
    out.loc[out["n"] < MIN_ATTEMPTS_FOR_D, "discrimination"] = float("nan")
    out["needs_review"] = (
        (out["discrimination"] < WEAK_DISCRIMINATION) | (out["facility"] < 0.2) | (out["facility"] > 0.95)
    )
    desc = [c for c in answers.columns if c not in ("attempt_id", "score", "correct") and c != "question_id"]
    info = answers.drop_duplicates("question_id").set_index("question_id")[desc]
    out = out.join(info).reset_index()
    out["_d"] = out["discrimination"].fillna(float("inf"))
    out["_f"] = (out["facility"] - 0.5).abs()
    out = out.sort_values(["_d", "_f"], ascending=[True, False]).drop(columns=["_d", "_f"])
    return out[cols + desc].reset_index(drop=True)


def excel_report(
    *,
    course: Course,
    attempts: pd.DataFrame,
    items: pd.DataFrame,
    answers: pd.DataFrame,
    labels: dict[str, str],
) -> bytes:
    """An .xlsx with three sheets: attempts, item analysis, and the answer matrix (attempt × question)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        safe_frame(attempts).rename(columns=labels).to_excel(
            xw, sheet_name=labels.get("sheet.attempts", "attempts"), index=False
        )
        safe_frame(items).rename(columns=labels).to_excel(
            xw, sheet_name=labels.get("sheet.items", "items"), index=False
        )
        if not answers.empty:
            matrix = answers.pivot_table(index="attempt_id", columns="code", values="correct", aggfunc="max")
            matrix.astype(float).to_excel(xw, sheet_name=labels.get("sheet.matrix", "matrix"))
        for ws in xw.book.worksheets:
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in list(col)[:200])
                ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width + 2))
    return buf.getvalue()
