"""Admin: the scheduled jobs, when each runs next, and running one now."""

import pandas as pd
import streamlit as st
from sqlalchemy import inspect, text
from sqlmodel import Session

from core.scheduler import ALREADY_RUNNING, job_specs, run_now
from ui import resources
from ui.guard import require
from ui.jobs_view import description, next_run_text, trigger_text
from ui.state import tr

viewer = require(__file__)

st.title(tr("jobs.title"))
service = resources.scheduler()
if service is None:
    st.info(tr("jobs.disabled"))
elif service.running:
    st.success(tr("jobs.running_here"))
else:
    st.warning(tr("jobs.standby"))

specs = job_specs()
next_runs: dict[str, object] = {}
engine = resources.engine()
if inspect(engine).has_table("apscheduler_jobs"):
    with Session(engine) as session:
        for job_id, ts in session.exec(text("SELECT id, next_run_time FROM apscheduler_jobs")).all():
            next_runs[job_id] = (
                pd.to_datetime(ts, unit="s", utc=True).tz_convert("Asia/Shanghai") if ts else None
            )
if not specs:
    st.info(tr("jobs.none"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                tr("jobs.id"): [s.id for s in specs],
                tr("jobs.description"): [description(s.id) for s in specs],
                tr("jobs.trigger"): [trigger_text(s.trigger) for s in specs],
                # a catch-up run queued at start ("<id>@start") comes before the regular trigger
                tr("jobs.next_run"): [
                    next_run_text(next_runs.get(s.id), next_runs.get(f"{s.id}@start")) for s in specs
                ],
            }
        ),
        hide_index=True,
        placeholder="",
    )
    labels = {s.id: description(s.id) for s in specs}
    job_id = st.selectbox(tr("jobs.pick"), list(labels), format_func=labels.get)
    if st.button(tr("jobs.run_now"), type="primary", icon=":material/play_arrow:"):
        # Through the scheduler's own path: the job's lock (never twice at once), its retry, its unit of work.
        with st.status(tr("jobs.running", id=job_id)) as status:
            result = run_now(job_id)
            status.update(label=tr("jobs.done", id=job_id), state="complete")
        if result is ALREADY_RUNNING:
            st.warning(tr("jobs.already_running", id=job_id))
        elif result is None:
            st.info(tr("jobs.result_none"))
        elif isinstance(result, bool | int | float):
            st.info(tr("jobs.result_count", n=result))
        elif isinstance(result, dict):
            st.info(tr("jobs.result_parts"))
            st.dataframe(
                pd.DataFrame(
                    {tr("jobs.result_what"): list(result), tr("jobs.result_n"): list(result.values())}
                ),
                hide_index=True,
                placeholder="",
            )
        else:
            st.info(tr("jobs.result_other", result=result))
