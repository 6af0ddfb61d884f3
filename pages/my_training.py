"""Worker (phone first): my study hours this year against my plan, what is compulsory and by when, and
"continue where you left off" with the lesson reader (opening stores the time; done is checked by the server)."""

from datetime import date

import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from courses.training.lessons import complete_lesson, continue_lesson, course_lessons, open_lesson
from courses.training.supervision import my_standing
from evaluation.field.registry import field_now
from ui import resources
from ui.errors import refusals
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
with Session(resources.engine()) as _s:
    today = field_now(_s).date()  # a demo database is pinned to its own "today" (2020-09-30)
year = today.year

st.title(tr("training.my.title"))
if viewer.worker_id is None:
    st.warning(tr("training.my.no_worker"))
    st.stop()

with Session(resources.engine()) as session:
    me, due = my_standing(session, viewer, year=year, as_of=today)
    nxt = continue_lesson(session, viewer)

st.subheader(tr("training.my.hours", year=year))
if me is None or float(me["required_year"]) == 0:
    st.info(tr("training.my.no_plan", year=year))
else:
    st.metric(  # to 2 decimals, as the ledger keeps them: a 5-minute lesson moves the figure
        tr("training.col.credited"),
        f"{me['credited']:.2f} h",
        delta=f"{me['credited'] - me['required_to_date']:+.2f} h",
        help=tr("training.my.delta_help", day=today.isoformat()),
    )
    st.progress(
        min(1.0, float(me["credited"]) / float(me["required_year"])),
        text=tr(
            "training.my.of_year",
            credited=f"{me['credited']:.2f}",
            required=f"{me['required_year']:.0f}",
            to_date=f"{me['required_to_date']:.1f}",
            day=today.isoformat(),  # "today" is the demo's pinned day in a demo database: say which
        ),
    )
    if me["behind"]:
        st.warning(tr("training.my.behind"))
    if me["preservice_hours"] > 0:
        deadline = me["preservice_deadline"].date()
        box = st.error if me["preservice_overdue"] else st.info
        box(
            tr(
                "training.my.preservice",
                credited=f"{me['preservice_credited']:.1f}",
                required=f"{me['preservice_hours']:.0f}",
                day=deadline.isoformat(),
            )
        )

st.subheader(tr("training.my.compulsory"))
if due.empty:
    st.info(tr("training.my.no_compulsory"))
for c in due.itertuples():
    day: date = c.due.date()
    with st.container(border=True):
        st.markdown(f"**{pick(L, c.title_zh, c.title_en)}**")
        key = (
            "training.my.completed"
            if c.completed
            else ("training.my.overdue" if c.overdue else "training.my.due_by")
        )
        (st.error if c.overdue else st.caption)(tr(key, day=day.isoformat()))
        if c.needs_zh:
            st.warning(tr("training.my.needs_first", course=pick(L, c.needs_zh, c.needs_en)))

st.subheader(tr("training.my.continue"))
finished = st.session_state.pop("training_finished", None)  # the lesson just done, said after the rerun
if finished:
    total = 0.0 if me is None else float(me["credited"])
    st.success(
        tr(
            "training.my.done_ok",
            title=pick(L, finished["title_zh"], finished["title_en"]),
            minutes=finished["minutes"],
            year=year,
            credited=f"{total:.2f}",
        ),
        icon=":material/task_alt:",
    )
if nxt is None:
    st.info(tr("training.my.no_lessons"))
    st.stop()
st.markdown(
    f"**{pick(L, nxt['course_zh'], nxt['course_en'])}** · "
    + tr("training.my.lesson_of", n=nxt["position"], total=nxt["lessons_total"], done=nxt["lessons_done"])
)
reading = st.session_state.get("training_reading")
if reading != nxt["lesson_id"]:
    if st.button(
        tr("training.my.open", title=pick(L, nxt["title_zh"], nxt["title_en"])),
        type="primary",
        width="stretch",
        key="open_lesson",
    ):
        with resources.unit_of_work() as session:
            open_lesson(session, viewer, lesson_id=nxt["lesson_id"])
        st.session_state["training_reading"] = nxt["lesson_id"]
        st.rerun()
    st.stop()

with Session(resources.engine()) as session:
    lessons = course_lessons(session, viewer, course_id=nxt["course_id"])
lesson = lessons[lessons["id"] == nxt["lesson_id"]].iloc[0]
with st.container(border=True):
    st.markdown(f"### {pick(L, lesson['title_zh'], lesson['title_en'])}")
    st.markdown(pick(L, lesson["body_md_zh"], lesson["body_md_en"]))
    if lesson["video_url"]:
        st.link_button(tr("training.my.video"), lesson["video_url"], width="stretch")
st.caption(tr("training.my.min_read", minutes=max(1, int(lesson["min_read_seconds"]) // 60)))
if st.button(tr("training.my.done"), type="primary", width="stretch", key="lesson_done"):
    with refusals(level="warning") as refused:
        with resources.unit_of_work() as session:
            # The hours count on the page's today (a demo database's pinned day: the year shown above).
            complete_lesson(session, viewer, lesson_id=int(lesson["id"]), credit_on=today)
    if not refused:
        st.session_state.pop("training_reading", None)
        st.session_state["training_finished"] = {
            "title_zh": lesson["title_zh"],
            "title_en": lesson["title_en"],
            "minutes": int(lesson["credit_minutes"]),
        }
        st.rerun()
