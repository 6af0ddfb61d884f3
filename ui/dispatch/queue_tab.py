"""The queue tab: open tasks in scope, one task's ranked candidates with their reasons, and the assign form
(the recommendation, or another worker the policy allows, with a reason)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core.i18n import col, pick
from core.scope import Viewer
from evaluation.assignment import service
from evaluation.assignment.charts import points_rows, points_spec
from evaluation.assignment.explain import exclusion_reasons, explain, reason_sentences
from evaluation.assignment.rank import COMPONENTS, Preset, preset_for_priority
from ui import dispatch_cache, resources
from ui.cells import table_height
from ui.chart_specs import draw_chart
from ui.dispatch.common import (
    ITEMS,
    apply_preset,
    course_title,
    forget_after_assignment,
    item_label,
    title,
)
from ui.errors import refusals
from ui.options import distinct_labels
from ui.state import lang, lang_key, tr

KINDS = ("event", "verification", "patrol")


def _names(frame: pd.DataFrame, stem: str) -> list[str]:
    return [pick(lang(), z, e) for z, e in zip(frame[f"{stem}_zh"], frame[f"{stem}_en"], strict=True)]


def _queue_table(queue: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The figures above the queue, the kind/open filters, and the queue as filtered (returned)."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("assign.queue.open"), len(queue))
    c2.metric(tr("assign.queue.unassigned"), int(queue["unassigned"].sum()))
    c3.metric(tr("assign.queue.urgent"), int(((queue["priority_rank"] == 1) & queue["unassigned"]).sum()))
    c4.metric(tr("assign.queue.overdue"), int((queue["due_at"] < pd.Timestamp(now)).sum()))
    f1, f2 = st.columns([2, 1])
    kind_names = {k: tr(f"assign.kind.{k}") for k in KINDS}  # a dict: Streamlit may call format_func later
    kinds = f1.multiselect(
        tr("assign.queue.kinds"),
        list(kind_names),
        default=list(kind_names),
        format_func=kind_names.get,
        key=lang_key("assign_kinds"),
        placeholder=tr("common.choose_many"),
    )
    only_open = f2.toggle(tr("assign.queue.only_unassigned"), value=True, key="assign_only_open")
    shown = queue[queue["kind"].isin(kinds) & (queue["unassigned"] | (not only_open))]
    table = pd.DataFrame(
        {
            tr("assign.col.warned"): shown["warned"].map({True: tr("assign.warned"), False: ""}),
            tr("assign.col.priority"): shown["priority"].map(lambda p: tr(f"assign.priority.{p}")),
            tr("assign.col.kind"): shown["kind"].map(lambda k: tr(f"assign.kind.{k}")),
            tr("assign.col.task"): _names(shown, "title"),
            tr("assign.col.community"): _names(shown, "community"),
            tr("assign.col.due"): shown["due_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("—"),
            tr("assign.col.assignee"): shown["assignee_name"].fillna("—"),
        }
    )
    if not table.empty:  # else render() says nothing matches (an empty table reads "empty" in English)
        st.dataframe(table, hide_index=True, width="stretch", height=table_height(len(table)), placeholder="")
        st.caption(tr("common.rows", n=len(table)))
    return shown


def _pick_task(queue: pd.DataFrame, shown: pd.DataFrame) -> str:
    """The task select box; a new task puts its priority's preset on the sliders."""
    L = lang()
    labels = distinct_labels(
        {
            r.task_id: f"{tr(f'assign.priority.{r.priority}')} · {pick(L, r.title_zh, r.title_en)} · "
            f"{pick(L, r.community_zh, r.community_en)}"
            for r in shown.itertuples(index=False)
        }
    )
    key = lang_key("assign_task")

    def on_task() -> None:
        task_id = st.session_state[key]
        st.session_state["assign_current"] = task_id
        prio = (
            queue.set_index("task_id").at[task_id, "priority"] if task_id in set(queue["task_id"]) else None
        )
        apply_preset(preset_for_priority(prio).code)

    if st.session_state.get("assign_current") not in labels:
        st.session_state["assign_current"] = next(iter(labels))
    st.session_state[key] = st.session_state["assign_current"]
    return st.selectbox(
        tr("assign.pick_task"), list(labels), format_func=labels.get, key=key, on_change=on_task
    )


def _task_header(task: pd.Series, queue: pd.DataFrame, base: Preset, preset: Preset) -> None:
    st.subheader(title(task))
    meta = [tr(f"assign.kind.{task['kind']}"), tr(f"assign.priority.{task['priority']}")]
    if isinstance(task["item_code"], str):
        meta.append(f"{task['item_code']} {item_label(task['item_code'])}")
        course = (
            ITEMS.at[task["item_code"], "qualification_course"] if task["item_code"] in ITEMS.index else None
        )
        meta.append(
            tr("assign.requires", course=course_title(course))
            if isinstance(course, str)
            else tr("assign.requires_none")
        )
    if pd.notna(task["assignee_id"]):
        meta.append(
            tr("assign.currently", name=queue.set_index("task_id").at[task["task_id"], "assignee_name"])
        )
    st.caption(" · ".join(meta))
    st.caption(
        tr(
            "assign.using_preset",
            preset=pick(lang(), base.name_zh, base.name_en),
            weights=" ".join(f"{tr(f'assign.component.{c}')} {int(preset.weight(c))}" for c in COMPONENTS),
        )
    )


def _candidates(ranked: pd.DataFrame, excluded: pd.DataFrame) -> None:
    L = lang()
    if ranked.empty:
        st.warning(tr("assign.no_candidates"))
    else:
        top = ranked.iloc[0]
        st.success(
            tr(
                "assign.recommended",
                name=top["name"],
                score=f"{top['score']:.1f}",
                grid=pick(L, top["grid_zh"], top["grid_en"]),
            )
        )
        sentences = reason_sentences(ranked, L)
        st.dataframe(
            pd.DataFrame(
                {
                    tr("assign.col.rank"): ranked["rank"],
                    tr("assign.col.worker"): ranked["name"],
                    tr("assign.col.grid"): ranked[col(L, "grid")],
                    tr("assign.col.tier"): ranked["tier"].map(lambda v: tr(f"assign.tier.{v}")),
                    tr("assign.col.score"): ranked["score"],
                    tr("assign.col.distance"): ranked["distance_km"].round(1),
                    tr("assign.col.why"): explain(ranked, L, sentences=sentences),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                tr("assign.col.why"): st.column_config.TextColumn(width="large"),
                tr("assign.col.score"): st.column_config.NumberColumn(format="%.1f"),
                tr("assign.col.distance"): st.column_config.NumberColumn(format="%.1f"),
            },
            placeholder="",
        )
        # The top three, one sentence per reason, strongest first: what a manager reads to decide.
        order = ranked.head(3)[[f"pts_{c}" for c in COMPONENTS]].abs().to_numpy().argsort(axis=1)[:, ::-1]
        for column, (i, cand) in zip(st.columns(3), ranked.head(3).iterrows(), strict=False):
            with column.container(border=True):
                st.markdown(f"**{cand['rank']}. {cand['name']}** · {cand['score']:.1f}")
                st.markdown("\n".join(f"- {sentences.iloc[i][f'why_{COMPONENTS[j]}']}" for j in order[i]))
        # the spec is built once per language (ui/chart_specs.py); each task draws its own rows with it
        draw_chart(points_rows(ranked, L), ("dispatch_points", L), lambda: points_spec(L))
    if not excluded.empty:
        with st.expander(tr("assign.excluded", n=len(excluded)), expanded=ranked.empty):
            st.dataframe(
                pd.DataFrame(
                    {
                        tr("assign.col.worker"): excluded["name"],
                        tr("assign.col.grid"): excluded[col(L, "grid")],
                        tr("assign.col.rule"): excluded["rule"].map(lambda r: tr(f"assign.rulename.{r}")),
                        tr("assign.col.reason"): exclusion_reasons(excluded, L),
                    }
                ),
                hide_index=True,
                width="stretch",
                placeholder="",
            )


def _assign_form(
    viewer: Viewer, task_id: str, ranked: pd.DataFrame, excluded: pd.DataFrame, preset: Preset, now: datetime
) -> None:
    """Assign: the recommendation, or someone the policy allows (service.choosable) with a reason."""
    choosable = service.choosable(ranked, excluded)
    if choosable.empty:
        return
    names = dict(zip(choosable["worker_id"], choosable["name"], strict=True))
    rank_of = dict(zip(ranked["worker_id"], ranked["rank"], strict=True)) if not ranked.empty else {}
    labels = distinct_labels(  # two excluded workers may share a name
        {
            int(w): tr("assign.choice_ranked", rank=rank_of[w], name=names[w])
            if w in rank_of
            else tr("assign.choice_excluded", name=names[w])
            for w in choosable["worker_id"]
        }
    )
    with st.form(f"assign_form_{task_id}", border=True):
        chosen = st.selectbox(
            tr("assign.assign_to"),
            list(labels),
            format_func=labels.get,
            key=lang_key(f"assign_choice_{task_id}"),
        )
        reason = st.text_input(
            tr("assign.override_reason"),
            key=f"assign_reason_{task_id}",
            placeholder=tr("assign.override_placeholder"),
        )
        go = st.form_submit_button(tr("assign.assign_button"), type="primary")
    if not go:
        return
    with refusals() as refused:
        with resources.unit_of_work() as session:
            decision = service.assign(
                session,
                viewer,
                task_id=task_id,
                worker_id=chosen,
                preset=preset,
                override_reason=reason,
                now=now,
            )
    if not refused:
        st.session_state["assign_flash"] = tr(
            "assign.done_override" if decision.overridden else "assign.done", name=names[chosen]
        )
        st.session_state.pop("assign_current", None)
        forget_after_assignment()
        st.rerun()


def render(viewer: Viewer, queue: pd.DataFrame, now: datetime, base: Preset, preset: Preset) -> None:
    if queue.empty:
        st.info(tr("assign.queue.empty"))
    else:
        shown = _queue_table(queue, now)
        if shown.empty:
            st.info(tr("assign.queue.none_matching"))
        else:
            task_id = _pick_task(queue, shown)
            task, ranked, excluded = dispatch_cache.recommend(
                viewer, now, task_id, preset, queue[queue["task_id"] == task_id].iloc[0]
            )
            _task_header(task, queue, base, preset)
            _candidates(ranked, excluded)
            _assign_form(viewer, task_id, ranked, excluded, preset, now)
    if msg := st.session_state.pop("assign_flash", None):
        st.toast(msg, icon=":material/check_circle:")
