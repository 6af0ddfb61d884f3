"""Worker: take a course's quiz — one question per screen (phone first), answers saved as you go, the
deadline kept by the server; then the result, the certificate and a review of mistakes."""

import streamlit as st
from sqlmodel import Session

from core import clock
from core.errors import GridwiseError
from core.i18n import pick
from courses.learner import my_courses
from courses.models import QuestionKind
from courses.quizzes import attempt_questions, review_allowed, save_answer, start_attempt, submit_attempt
from ui import resources
from ui.countdown import countdown
from ui.errors import error_text
from ui.guard import require
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

viewer = require(__file__)
L = lang()
RESULT_KEY = "quiz_last_result"

st.title(tr("courses.quiz.title"))
raw = st.query_params.get("course", "")
with Session(resources.engine()) as session:
    mine = my_courses(session, viewer)
if mine.empty:
    st.info(tr("courses.my.no_courses"))
    st.stop()
ids = mine["course_id"].astype(int).tolist()
course_id = int(raw) if raw.isdigit() and int(raw) in ids else None
if course_id is None:
    titles = distinct_labels(  # two courses may share a title
        {int(r.course_id): pick(L, r.title_zh, r.title_en) for r in mine.itertuples()}
    )
    course_id = st.selectbox(tr("courses.quiz.pick_course"), ids, format_func=titles.get)
c = mine.set_index("course_id").loc[course_id]
st.subheader(pick(L, c["title_zh"], c["title_en"]))


def show_result(attempt_id: int) -> None:
    with Session(resources.engine()) as session:
        attempt, questions = attempt_questions(session, viewer, attempt_id)
        can_review = review_allowed(session, attempt)
    passed = (attempt.score or 0) >= c["pass_mark"]
    a, b = st.columns(2)
    a.metric(tr("courses.quiz.score"), f"{attempt.score:.0f}")
    b.metric(tr("courses.quiz.right"), f"{attempt.correct_count}/{attempt.question_count}")
    (st.success if passed else st.warning)(
        tr("courses.quiz.passed" if passed else "courses.quiz.failed", pass_mark=c["pass_mark"])
    )
    if not can_review:
        st.caption(tr("courses.quiz.no_review"))
        return
    wrong = [q for q in questions if not q["correct"]]
    st.markdown(f"#### {tr('courses.quiz.review')} ({len(wrong)})")
    if not wrong:
        st.caption(tr("courses.quiz.all_right"))
    for q in wrong:
        with st.container(border=True):
            st.markdown(pick(L, q["text_zh"], q["text_en"]))
            for o in q["options"]:
                mark = (
                    ":green[:material/check_circle:]"
                    if o["correct"]
                    else ":red[:material/cancel:]"
                    if o["id"] in q["chosen"]
                    else ":gray[:material/radio_button_unchecked:]"
                )
                st.markdown(f"{mark} {pick(L, o['text_zh'], o['text_en'])}")
            explanation = pick(L, q["explanation_zh"], q["explanation_en"])
            if explanation:
                st.caption(explanation)


last = st.session_state.get(RESULT_KEY)
if last and last["course_id"] == course_id:
    if last.get("late"):
        st.warning(tr("courses.quiz.late"))
    if last.get("already"):
        st.info(tr("courses.quiz.already"))
    if last.get("certificate_until"):
        st.success(
            tr("courses.quiz.certificate", until=last["certificate_until"]),
            icon=":material/workspace_premium:",
        )
    show_result(last["attempt_id"])
    if st.button(tr("courses.quiz.done"), width="stretch"):
        del st.session_state[RESULT_KEY]
        st.switch_page("pages/my_learning.py")
    st.stop()

attempt_id = c["in_progress_id"]
if attempt_id != attempt_id or attempt_id is None:  # NaN: nothing in progress
    st.markdown(
        tr(
            "courses.quiz.rules",
            n=int(c["quiz_questions"]),
            minutes=int(c["time_limit_minutes"]),
            pass_mark=int(c["pass_mark"]),
            left=int(c["attempts_left"]),
            max=int(c["max_attempts"]),
            method=tr(f"courses.grading.{c['grading_method']}"),
        )
    )
    if int(c["attempts_left"]) <= 0:
        st.warning(tr("courses.err.no_attempts_left", n=int(c["max_attempts"])))
        st.stop()

    def start() -> None:
        """Start in the click's callback: the run it makes already shows question 1 (no second run)."""
        try:
            resources.unit_of_work_retrying(
                lambda session: start_attempt(session, viewer, course_id=course_id)
            )
        except GridwiseError as exc:
            st.session_state["quiz_error"] = error_text(exc)

    st.button(tr("courses.quiz.start"), type="primary", width="stretch", on_click=start)
    if err := st.session_state.pop("quiz_error", None):
        st.error(err)
    st.stop()


@st.fragment
def answering(attempt_id: int) -> None:
    """The open attempt, one question at a time. A fragment: moving between questions reruns only this
    part, not the guard, the menu and the course list above. The options sit in a form, so choosing one
    costs the server nothing; 上一题/下一题/交卷 save the choice in their callbacks, before the run that
    draws the next question. (Runs only when the worker clicks: the earlier auto-rerunning timer fragment
    raced the page's runs under load, see git log.)"""
    if RESULT_KEY in st.session_state:  # submitted by the 交卷 callback: the whole page shows the result
        st.rerun()
    with Session(resources.engine()) as session:
        attempt, questions = attempt_questions(session, viewer, attempt_id)
    # The time left as of this run (every move between questions runs it again); the deadline is the server's.
    left = (attempt.deadline_at - clock.now()).total_seconds()
    if left <= 0:
        st.error(tr("courses.quiz.time_up"))
    else:  # ticks in the browser (CSS), no server run
        countdown(
            left,
            c["time_limit_minutes"] * 60,
            tr("courses.quiz.countdown", clock="{clock}", deadline=f"{attempt.deadline_at:%H:%M}"),
        )
    pos_key = f"quiz_{attempt_id}_pos"
    # A new browser session (a reload, another tab or server process) resumes at the first unanswered question:
    # the answers themselves are in the database (save_answer), only the position is per browser session.
    first_open = next((i for i, x in enumerate(questions) if not x["chosen"]), len(questions) - 1)
    pos = min(st.session_state.get(pos_key, first_open), len(questions) - 1)
    q = questions[pos]
    answered = sum(1 for x in questions if x["chosen"])
    st.caption(tr("courses.quiz.progress", i=pos + 1, n=len(questions), answered=answered))
    kind_label = tr(f"courses.kind.{q['kind']}")
    st.markdown(f"**{pos + 1}. [{kind_label}]** {pick(L, q['text_zh'], q['text_en'])}")
    options = [o["id"] for o in q["options"]]
    label_of = distinct_labels({o["id"]: pick(L, o["text_zh"], o["text_en"]) for o in q["options"]})
    multiple = q["kind"] == QuestionKind.MULTIPLE.value
    radio_key = f"q{attempt_id}_{q['question_id']}"

    def current_choice() -> list[int]:
        """What the form held when a button was clicked (session state: callbacks run before the rerun)."""
        if multiple:
            return [o for o in options if st.session_state.get(f"{radio_key}_{o}")]
        value = st.session_state.get(radio_key)
        return [value] if value is not None else []

    def save_and_go(step: int) -> None:
        chosen = current_choice()
        try:
            if chosen and set(chosen) != q["chosen"]:
                resources.unit_of_work_retrying(
                    lambda session: save_answer(
                        session,
                        viewer,
                        attempt_id=attempt_id,
                        question_id=q["question_id"],
                        option_ids=chosen,
                    )
                )
            st.session_state[pos_key] = max(0, min(len(questions) - 1, pos + step))
        except GridwiseError as exc:
            st.session_state["quiz_error"] = error_text(exc)

    confirm_key = f"quiz_{attempt_id}_confirm"

    def answers_now() -> dict[int, list[int]]:
        answers = {x["question_id"]: list(x["chosen"]) for x in questions if x["chosen"]}
        if chosen := current_choice():
            answers[q["question_id"]] = chosen
        return answers

    def ask_submit() -> None:
        """交卷 spends an attempt: with questions unanswered, keep the choice made here and ask first."""
        unanswered = len(questions) - len(answers_now())
        if unanswered:
            save_and_go(0)
            st.session_state[confirm_key] = unanswered
        else:
            submit()

    def back_to_unanswered() -> None:
        st.session_state.pop(confirm_key, None)
        st.session_state[pos_key] = first_open

    def submit() -> None:
        st.session_state.pop(confirm_key, None)
        answers = answers_now()
        try:
            result = resources.unit_of_work_retrying(
                lambda session: submit_attempt(session, viewer, attempt_id=attempt_id, answers=answers)
            )
            until = f"{result.certificate.valid_until:%Y-%m-%d}" if result.certificate else None
        except GridwiseError as exc:
            st.session_state["quiz_error"] = error_text(exc)
            return
        st.session_state[RESULT_KEY] = {
            "course_id": course_id,
            "attempt_id": attempt_id,
            "late": result.late,
            "already": result.already,
            "certificate_until": until,
        }

    with st.form(f"quiz_{attempt_id}", border=False, enter_to_submit=False):
        if multiple:
            for o in options:
                st.checkbox(label_of[o], value=o in q["chosen"], key=f"{radio_key}_{o}")
        else:
            current = next(iter(q["chosen"]), None)
            st.radio(
                tr("courses.quiz.answer"),
                options,
                format_func=label_of.get,
                label_visibility="collapsed",
                index=options.index(current) if current in options else None,
                key=lang_key(radio_key),
            )
        prev_col, next_col = st.columns(2)
        prev_col.form_submit_button(
            tr("courses.quiz.prev"), on_click=save_and_go, args=(-1,), disabled=pos == 0, width="stretch"
        )
        next_col.form_submit_button(
            tr("courses.quiz.next"),
            on_click=save_and_go,
            args=(1,),
            disabled=pos == len(questions) - 1,
            type="primary",
            width="stretch",
        )
        if err := st.session_state.pop("quiz_error", None):
            st.error(err)
        st.divider()
        last_question = pos == len(questions) - 1
        # Away from 下一题 on a phone: a quiet link-like button until the last question.
        st.form_submit_button(
            tr("courses.quiz.submit") if last_question else tr("courses.quiz.submit_early"),
            on_click=ask_submit,
            width="stretch" if last_question else "content",
            type="primary" if last_question else "tertiary",
        )
    if unanswered := st.session_state.get(confirm_key):
        with st.container(border=True):
            st.warning(
                tr("courses.quiz.confirm_unanswered", n=unanswered, left=int(c["attempts_left"]) - 1),
                icon=":material/warning:",
            )
            back, anyway = st.columns(2)
            back.button(
                tr("courses.quiz.keep_answering"),
                on_click=back_to_unanswered,
                type="primary",
                width="stretch",
                key=f"quiz_{attempt_id}_back",
            )
            anyway.button(
                tr("courses.quiz.submit_anyway"),
                on_click=submit,
                width="stretch",
                key=f"quiz_{attempt_id}_anyway",
            )


answering(int(attempt_id))
