"""Pure rules of the courses area, against hand-computed values: recurrence, grading, scoring, check-in
codes, attendance thresholds and warnings, item analysis."""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import pytest

from courses.attendance import attendance_warnings, checkin_code, code_matches
from courses.attendance_import import classify, union_minutes
from courses.quizzes import add_months, grade, score_answers
from courses.results import item_analysis
from courses.training_sessions import ScheduleError, occurrences


def test_a_one_off_session_is_one_occurrence():
    """Test that a session without weekdays happens once, on its day."""
    assert occurrences(date(2020, 3, 3), time(14), time(16)) == [
        (datetime(2020, 3, 3, 14), datetime(2020, 3, 3, 16))
    ]


def test_weekly_recurrence_on_given_weekdays_until_a_date_inclusive():
    """Test that Mon+Thu from Wed 2020-03-04 until Thu 2020-03-19 gives Thu 5, Mon 9, Thu 12, Mon 16, Thu 19."""
    got = occurrences(date(2020, 3, 4), time(9, 30), time(11), (0, 3), date(2020, 3, 19))
    assert [s.date() for s, _ in got] == [
        date(2020, 3, 5),
        date(2020, 3, 9),
        date(2020, 3, 12),
        date(2020, 3, 16),
        date(2020, 3, 19),
    ]
    assert all(s.time() == time(9, 30) and e.time() == time(11) for s, e in got)


@pytest.mark.parametrize(
    "args",
    [
        (date(2020, 3, 4), time(16), time(14), (), None),  # ends before it starts
        (date(2020, 3, 4), time(9), time(10), (0,), None),  # weekly without an end date
        (date(2020, 3, 4), time(9), time(10), (6,), date(2020, 3, 7)),  # no Sunday in Wed..Sat
        (date(2020, 1, 1), time(9), time(10), (0, 1, 2, 3, 4, 5, 6), date(2021, 12, 31)),  # too many
    ],
)
def test_impossible_schedules_are_refused(args):
    """Test that impossible schedules raise a ScheduleError with a reason."""
    with pytest.raises(ScheduleError):
        occurrences(*args)


def test_grading_methods():
    """Test highest / last / average over attempts 60, 90, 75."""
    assert grade([60, 90, 75], "highest") == 90
    assert grade([60, 90, 75], "last") == 75
    assert grade([60, 90, 75], "average") == 75
    assert grade([70, 85], "average") == 77.5
    assert grade([], "highest") is None


def test_multiple_choice_is_all_or_nothing():
    """Test that a partial or over-complete multiple-choice answer scores nothing; blank is wrong."""
    key = [{1}, {5, 6}, {9}, {12}]
    assert score_answers([{1}, {5, 6}, {9}, {12}], key) == (4, 100.0)
    assert score_answers([{1}, {5}, {9}, set()], key) == (2, 50.0)
    assert score_answers([{2}, {5, 6, 7}, {9}, {12}], key) == (2, 50.0)
    assert score_answers([{1}, {5, 6}, set(), set()], key[:3] + [{12}]) == (2, 50.0)
    assert score_answers([{1}, {5, 6}, {9}], [{1}, {5, 6}, {8}]) == (2, 66.7)


def test_certificate_months_clamp_to_month_end():
    """Test that 31 Jan + 1 month is 29 Feb in a leap year and 12 months is the same day next year."""
    assert add_months(datetime(2020, 1, 31, 10), 1) == datetime(2020, 2, 29, 10)
    assert add_months(datetime(2020, 3, 4, 10, 5), 12) == datetime(2021, 3, 4, 10, 5)
    assert add_months(datetime(2020, 11, 30), 3) == datetime(2021, 2, 28)


def test_check_in_code_is_six_digits_rotates_and_accepts_the_previous_step():
    """Test that the code has six digits, changes per minute, and the last minute's code still works."""
    secret = "00112233445566778899aabbccddeeff"
    t0 = datetime(2020, 3, 3, 14, 0, 10)
    c0, c1 = checkin_code(secret, t0), checkin_code(secret, datetime(2020, 3, 3, 14, 1, 10))
    assert len(c0) == 6 and c0.isdigit() and c0 != c1
    assert checkin_code(secret, datetime(2020, 3, 3, 14, 0, 59)) == c0  # same step
    assert code_matches(secret, c0, datetime(2020, 3, 3, 14, 1, 30))  # previous step accepted
    assert not code_matches(secret, c0, datetime(2020, 3, 3, 14, 2, 30))  # two steps later: expired
    assert checkin_code("ff" * 16, t0) != c0  # per-session secret


def test_attendance_thresholds_classify_minutes():
    """Test that with present ≥ 80% and late ≥ 50% of a 120-minute session, 96/95/60/59 minutes classify."""
    kw = {"present_min_pct": 80, "late_min_pct": 50}
    assert classify(96, 120, **kw) == "present"
    assert classify(95, 120, **kw) == "late"
    assert classify(60, 120, **kw) == "late"
    assert classify(59, 120, **kw) == "absent"


def test_union_minutes_counts_rejoins_once_and_clips_to_the_session():
    """Test that overlapping joins count once and time outside the session does not count."""
    start, end = datetime(2020, 3, 3, 14), datetime(2020, 3, 3, 16)
    iv = pd.DataFrame(
        {
            "join_at": pd.to_datetime(["2020-03-03 13:50", "2020-03-03 14:30", "2020-03-03 15:30"]),
            "leave_at": pd.to_datetime(["2020-03-03 14:40", "2020-03-03 15:00", "2020-03-03 16:30"]),
        }
    )
    # 14:00–15:00 (the first two merge, clipped at 14:00) + 15:30–16:00 (clipped) = 90 minutes
    assert union_minutes(iv, start, end) == 90


def _att(rows):
    return pd.DataFrame(rows, columns=["worker_id", "held", "attended", "excused", "remaining"]).assign(
        rate=lambda d: d["attended"] / (d["held"] - d["excused"]).where(d["held"] - d["excused"] > 0)
    )


def test_attendance_warnings_after_a_minimum_and_who_cannot_recover():
    """Test the warning list with 80% after 3 sessions: hand-computed best possible rates."""
    df = _att(
        [
            (1, 5, 3, 0, 5),  # 60% now; best (3+5)/(5+5) = 80% → warned, can recover
            (2, 5, 2, 0, 2),  # 40%; best 4/7 = 57% → warned, cannot recover
            (3, 2, 0, 0, 1),  # below the minimum of 3, but best 1/3 → cannot recover → listed
            (4, 4, 4, 1, 0),  # 4/3 counted → fine
            (5, 6, 5, 1, 0),  # 5/5 = 100% → fine
            (6, 2, 1, 0, 8),  # 50% but only 2 sessions and best 9/10 → not yet
        ]
    )
    w = attendance_warnings(df, min_rate=0.8, min_sessions=3).set_index("worker_id")
    assert set(w.index) == {1, 2, 3}
    assert w.loc[1, "can_recover"] and w.loc[1, "best_possible_rate"] == pytest.approx(0.8)
    assert not w.loc[2, "can_recover"] and w.loc[2, "best_possible_rate"] == pytest.approx(4 / 7)
    assert not w.loc[3, "can_recover"]
    assert list(w.index[:2]) in ([2, 3], [3, 2])  # the unrecoverable come first


def test_item_analysis_against_hand_computed_values():
    """Test facility and discrimination on a 10-attempt, 3-item quiz worked out by hand.

    Items A, B, C; each attempt sees all three, so score = 100·right/3 and the rest score for an item is
    the attempt's right answers on the other two items. With n = 10, k = round(2.7) = 3.
    """
    # attempt: (A, B, C) right?
    table = {
        1: (1, 1, 1),
        2: (1, 1, 0),
        3: (1, 1, 1),
        4: (1, 0, 1),
        5: (1, 1, 0),
        6: (0, 1, 1),
        7: (1, 0, 0),
        8: (0, 0, 1),
        9: (1, 0, 0),
        10: (0, 0, 1),
    }
    rows = []
    for a, marks in table.items():
        for q, ok in zip(("A", "B", "C"), marks, strict=True):
            rows.append(
                {"attempt_id": a, "score": 100 * sum(marks) / 3, "question_id": q, "code": q, "correct": ok}
            )
    out = item_analysis(pd.DataFrame(rows)).set_index("question_id")
    assert out.loc["A", "facility"] == pytest.approx(0.7)
    assert out.loc["B", "facility"] == pytest.approx(0.5)
    assert out.loc["C", "facility"] == pytest.approx(0.6)
    assert (out["group_size"] == 3).all()
    # A: rest = B+C → attempts by rest desc (ties by id): 1(2),3(2),2(1)|…|7(0),9(0),10(1)?
    #   rest: 1:2 2:1 3:2 4:1 5:1 6:2 7:0 8:1 9:0 10:1 → order 1,3,6,2,4,5,8,10,7,9
    #   upper {1,3,6}: A = 1,1,0 → 2/3; lower {10,7,9}: A = 0,1,1 → 2/3; D = 0
    assert out.loc["A", "discrimination"] == pytest.approx(0.0)
    # B: rest = A+C → 1:2 2:1 3:2 4:2 5:1 6:1 7:1 8:1 9:1 10:1 → order 1,3,4,2,5,6,7,8,9,10
    #   upper {1,3,4}: B = 1,1,0 → 2/3; lower {8,9,10}: B = 0,0,0 → 0; D = 2/3
    assert out.loc["B", "discrimination"] == pytest.approx(2 / 3)
    # C: rest = A+B → 1:2 2:2 3:2 4:1 5:2 6:1 7:1 8:0 9:1 10:0 → order 1,2,3,5,4,6,7,9,8,10
    #   upper {1,2,3}: C = 1,0,1 → 2/3; lower {9,8,10}: C = 0,1,1 → 2/3; D = 0
    assert out.loc["C", "discrimination"] == pytest.approx(0.0)
    # worst first: D = 0 items before B; between A (|0.7−0.5| = 0.2) and C (0.1), A is further from 0.5
    assert list(out.index) == ["A", "C", "B"]
    assert out.loc["A", "needs_review"] and not out.loc["B", "needs_review"]


def test_item_analysis_needs_enough_attempts_for_discrimination():
    """Test that with fewer than 4 attempts discrimination is left blank rather than invented."""
    rows = [
        {"attempt_id": a, "score": s, "question_id": 1, "code": "Q", "correct": c}
        for a, s, c in ((1, 100, 1), (2, 0, 0), (3, 100, 1))
    ]
    out = item_analysis(pd.DataFrame(rows))
    assert out.loc[0, "facility"] == pytest.approx(2 / 3) and pd.isna(out.loc[0, "discrimination"])


def test_week_calendar_chart_shows_only_that_week_morning_on_top():
    """Test that the calendar keeps the chosen week's sessions, labels days in the page's language and
    puts the morning at the top."""
    from courses.charts import calendar_chart

    sessions = pd.DataFrame(
        {
            "start_at": pd.to_datetime(["2020-03-02 09:30", "2020-03-04 14:00", "2020-03-10 09:00"]),
            "end_at": pd.to_datetime(["2020-03-02 11:00", "2020-03-04 15:30", "2020-03-10 10:00"]),
            "course_zh": ["信息采集", "消防", "信息采集"],
            "course_en": ["Info", "", "Info"],
            "status": ["closed", "cancelled", "scheduled"],
            "seated": [300, 20, 5],
        }
    )
    labels = {"weekday.0": "周一", "weekday.2": "周三", "status.cancelled": "已取消"}
    spec = calendar_chart(sessions, week_of=date(2020, 3, 4), lang="en", labels=labels).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["day"] for r in rows] == ["03-02 周一", "03-04 周三"]
    assert [r["course"] for r in rows] == ["Info", "消防"]  # falls back to zh without an English title
    blocks = spec["layer"][0]
    assert blocks["encoding"]["y"]["scale"]["reverse"] is True
    assert blocks["encoding"]["x"]["scale"]["domain"][0] == "03-02 周一"


def test_week_calendar_draws_a_cancelled_session_grey_and_labelled():
    """Test that a cancelled session is drawn apart from live ones: grey, out of the course colours, with a
    dashed outline and its status (已取消) written on the block."""
    from courses.charts import calendar_chart

    sessions = pd.DataFrame(
        {
            "start_at": pd.to_datetime(["2020-03-02 09:30", "2020-03-04 14:00"]),
            "end_at": pd.to_datetime(["2020-03-02 11:00", "2020-03-04 15:30"]),
            "course_zh": ["信息采集", "消防"],
            "course_en": ["Info", "Fire"],
            "status": ["scheduled", "cancelled"],
            "seated": [30, 20],
        }
    )
    labels = {"status.cancelled": "已取消", "status.scheduled": "已排期"}
    spec = calendar_chart(sessions, week_of=date(2020, 3, 4), lang="zh", labels=labels).to_dict()
    blocks, words = spec["layer"]
    test = "(datum.status === '已取消')"
    assert blocks["encoding"]["color"]["condition"] == {"test": test, "value": "#e0e0e0"}
    assert blocks["encoding"]["color"]["field"] == "course"
    assert blocks["encoding"]["strokeDash"]["condition"]["value"] == [4, 3]
    assert words["mark"]["type"] == "text" and words["encoding"]["text"]["field"] == "status"
    assert words["transform"] == [{"filter": test}]
