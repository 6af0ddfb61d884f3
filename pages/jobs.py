"""Admin: the scheduled jobs, when each runs next, and running one now."""

import pandas as pd
import streamlit as st
from sqlalchemy import inspect, text
from sqlmodel import Session

from core.i18n import catalog
from core.scheduler import ALREADY_RUNNING, job_specs, run_now
from ui import resources
from ui.guard import require
from ui.state import lang, tr

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
                # A job's own description is the fallback for jobs that have no translated one yet.
                tr("jobs.description"): [
                    tr(f"jobs.desc.{s.id}") if f"jobs.desc.{s.id}" in catalog(lang()) else s.description
                    for s in specs
                ],
                tr("jobs.trigger"): [", ".join(f"{k}={v}" for k, v in s.trigger.items()) for s in specs],
                # a catch-up run queued at start ("<id>@start") comes before the regular trigger
                tr("jobs.next_run"): [
                    min(
                        (t for t in (next_runs.get(s.id), next_runs.get(f"{s.id}@start")) if t is not None),
                        default=None,
                    )
                    for s in specs
                ],
            }
        ),
        hide_index=True,
    )
    job_id = st.selectbox(tr("jobs.pick"), [s.id for s in specs])
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
            )
        else:
            st.info(tr("jobs.result_other", result=result))
