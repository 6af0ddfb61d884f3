"""Managers: smart task assignment (智能派单) — the queue, one task's ranking with reasons, assign or
override with a reason, "assign all open" as an optimal batch, a map, and dispatch quality."""

from datetime import datetime, timedelta

import pandas as pd
import pydeck as pdk
import streamlit as st
from sqlmodel import Session

from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame
from evaluation.assignment import quality, service
from evaluation.assignment.charts import points_chart, quality_chart
from evaluation.assignment.explain import exclusion_reasons, explain, reason_sentences
from evaluation.assignment.rank import (
    COMPONENTS,
    course_titles,
    item_courses,
    load_presets,
    preset_for_priority,
)
from evaluation.field.registry import field_now
from ui import dispatch_cache, resources
from ui.guard import require
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
PRESETS = load_presets()
preset_names = {c: pick(lang(), p.name_zh, p.name_en) for c, p in PRESETS.items()}
ITEMS = item_courses().set_index("item_code")


def _apply_preset(code: str) -> None:
    """Put a preset's weights on the sliders (the sliders then tune from there)."""
    st.session_state["assign_preset"] = code
    for c in COMPONENTS:
        st.session_state[f"assign_w_{c}"] = int(PRESETS[code].weight(c))


def _on_preset() -> None:
    _apply_preset(st.session_state["assign_preset"] or "routine")


if "assign_preset" not in st.session_state:
    _apply_preset("routine")


def _course_title(code: object) -> str:
    titles = course_titles().set_index("code")
    if isinstance(code, str) and code in titles.index:
        return pick(L, titles.at[code, "title_zh"], titles.at[code, "title_en"])
    return str(code)


LOG_ROWS = 500  # the decision log shows the newest rows; the override table above covers them all


@st.cache_data(ttl=300, show_spinner=False)
def _quality_inputs(scope: tuple, start_day, end_day, _viewer):  # noqa: ANN001, ANN202
    """Dispatched events, override report and decision log for the period (cached per scope and day —
    ``scope`` is the viewer's identity, hashed; ``_viewer`` is not — and cleared after every assignment
    this page makes)."""
    start = datetime.combine(start_day, datetime.min.time())
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time())
    with Session(resources.engine()) as session:
        return (quality.dispatched_events(session, _viewer, start=start, end=end),
                service.override_report(session, _viewer, since=start),
                service.decisions_frame(session, _viewer, since=start))


ITEM_NAMES = {code: pick(L, zh, en) for code, zh, en in zip(ITEMS.index, ITEMS["item_zh"], ITEMS["item_en"],
                                                               strict=True)}


@st.cache_data(ttl=300, show_spinner=False)
def _quality_figures(scope: tuple, start_day, end_day, group: str | None, now: datetime, _viewer):  # noqa: ANN001, ANN202
    """``quality.quality_figures`` of the cached dispatched events (overall, by item, by community)."""
    events = _quality_inputs(scope, start_day, end_day, _viewer)[0]
    return quality.quality_figures(events, group, now=now)


def _item_name(code: object) -> str:
    return ITEM_NAMES.get(code, "") if isinstance(code, str) else ""


def _title(row: pd.Series) -> str:
    return pick(L, row["title_zh"], row["title_en"])


st.title(tr("assign.title"))
st.caption(tr("assign.caption"))

with Session(resources.engine()) as session:
    # Tasks are judged at the field clock (the demo's pinned date in a demo database), to the minute: the queue
    # and the context are read once per minute and cached (ui/dispatch_cache.py), shared by the tabs.
    NOW = field_now(session).replace(second=0, microsecond=0)
queue, ctx = dispatch_cache.board(viewer, NOW)

# The first visit (or a task that left the queue) selects the most urgent unassigned task and its preset.
# Widgets whose option labels depend on the language get a key per language: Streamlit keeps a keyed
# widget's formatted labels across a language switch. The chosen task itself is kept in "assign_current".
TASK_KEY = f"assign_task_{L}"
if not queue.empty and st.session_state.get("assign_current") not in set(queue["task_id"]):
    st.session_state["assign_current"] = queue["task_id"].iloc[0]
    _apply_preset(preset_for_priority(queue["priority"].iloc[0]).code)

queue_tab, batch_tab, map_tab, quality_tab = st.tabs(
    [tr("assign.tab.queue"), tr("assign.tab.batch"), tr("assign.tab.map"), tr("assign.tab.quality")])

# --- weights: a preset, then sliders that tune it; every change reranks at once --------------------
with st.sidebar:
    st.caption(tr("assign.weights"))
    st.segmented_control(tr("assign.preset"), list(PRESETS), key="assign_preset", on_change=_on_preset,
                         format_func=preset_names.get)
    base = PRESETS[st.session_state["assign_preset"] or "routine"]
    st.caption(pick(L, base.note_zh, base.note_en))
    for c in COMPONENTS:
        st.slider(tr(f"assign.component.{c}"), 0, 60, key=f"assign_w_{c}", step=1)
preset = base.tuned(**{c: float(st.session_state[f"assign_w_{c}"]) for c in COMPONENTS})

with queue_tab:
    if queue.empty:
        st.info(tr("assign.queue.empty"))
    else:
        open_n = int(queue["unassigned"].sum())
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(tr("assign.queue.open"), len(queue))
        c2.metric(tr("assign.queue.unassigned"), open_n)
        c3.metric(tr("assign.queue.urgent"), int(((queue["priority_rank"] == 1) & queue["unassigned"]).sum()))
        c4.metric(tr("assign.queue.overdue"), int((queue["due_at"] < pd.Timestamp(NOW)).sum()))
        f1, f2 = st.columns([2, 1])
        # format_func reads a dict built here: Streamlit may call it outside this script run.
        kind_names = {k: tr(f"assign.kind.{k}") for k in ("event", "verification", "patrol")}
        kinds = f1.multiselect(tr("assign.queue.kinds"), list(kind_names), default=list(kind_names),
                               format_func=kind_names.get, key=f"assign_kinds_{L}")
        only_open = f2.toggle(tr("assign.queue.only_unassigned"), value=True, key="assign_only_open")
        shown = queue[queue["kind"].isin(kinds) & (queue["unassigned"] | (not only_open))]
        table = pd.DataFrame({
            tr("assign.col.priority"): shown["priority"].map(lambda p: tr(f"assign.priority.{p}")),
            tr("assign.col.kind"): shown["kind"].map(lambda k: tr(f"assign.kind.{k}")),
            tr("assign.col.task"): [pick(L, z, e) for z, e in zip(shown["title_zh"], shown["title_en"], strict=True)],
            tr("assign.col.community"): [pick(L, z, e) for z, e in
                                         zip(shown["community_zh"], shown["community_en"], strict=True)],
            tr("assign.col.due"): shown["due_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("—"),
            tr("assign.col.assignee"): shown["assignee_name"].fillna("—"),
        })
        st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * max(len(table), 1)))
        st.caption(tr("common.rows", n=len(table)))

        if shown.empty:
            st.info(tr("assign.queue.none_matching"))
        else:
            labels = {r.task_id: f"{tr(f'assign.priority.{r.priority}')} · {pick(L, r.title_zh, r.title_en)} · "
                                 f"{pick(L, r.community_zh, r.community_en)}"
                      for r in shown.itertuples(index=False)}

            def _on_task() -> None:
                task_id = st.session_state[TASK_KEY]
                st.session_state["assign_current"] = task_id
                prio = queue.set_index("task_id").at[task_id, "priority"] if task_id in set(queue["task_id"]) else None
                _apply_preset(preset_for_priority(prio).code)

            if st.session_state.get("assign_current") not in labels:
                st.session_state["assign_current"] = next(iter(labels))
            st.session_state[TASK_KEY] = st.session_state["assign_current"]
            task_id = st.selectbox(tr("assign.pick_task"), list(labels), format_func=labels.get, key=TASK_KEY,
                                   on_change=_on_task)
            task, ranked, excluded = dispatch_cache.recommend(viewer, NOW, task_id, preset,
                                                              queue[queue["task_id"] == task_id].iloc[0])
            st.subheader(_title(task))
            meta = [tr(f"assign.kind.{task['kind']}"), tr(f"assign.priority.{task['priority']}")]
            if isinstance(task["item_code"], str):
                meta.append(f"{task['item_code']} {_item_name(task['item_code'])}")
                course = ITEMS.at[task["item_code"], "qualification_course"] if task["item_code"] in ITEMS.index else None
                meta.append(tr("assign.requires", course=_course_title(course)) if isinstance(course, str)
                            else tr("assign.requires_none"))
            if pd.notna(task["assignee_id"]):
                meta.append(tr("assign.currently", name=queue.set_index("task_id").at[task_id, "assignee_name"]))
            st.caption(" · ".join(meta))
            st.caption(tr("assign.using_preset", preset=pick(L, base.name_zh, base.name_en),
                          weights=" ".join(f"{tr(f'assign.component.{c}')} {int(preset.weight(c))}"
                                           for c in COMPONENTS)))

            if ranked.empty:
                st.warning(tr("assign.no_candidates"))
            else:
                ranked = ranked.assign(why=explain(ranked, L))
                top = ranked.iloc[0]
                st.success(tr("assign.recommended", name=top["name"], score=f"{top['score']:.1f}",
                              grid=pick(L, top["grid_zh"], top["grid_en"])))
                st.dataframe(pd.DataFrame({
                    tr("assign.col.rank"): ranked["rank"],
                    tr("assign.col.worker"): ranked["name"],
                    tr("assign.col.grid"): [pick(L, z, e) for z, e in zip(ranked["grid_zh"], ranked["grid_en"], strict=True)],
                    tr("assign.col.tier"): ranked["tier"].map(lambda v: tr(f"assign.tier.{v}")),
                    tr("assign.col.score"): ranked["score"],
                    tr("assign.col.distance"): ranked["distance_km"].round(1),
                    tr("assign.col.why"): ranked["why"],
                }), hide_index=True, width="stretch",
                    column_config={tr("assign.col.why"): st.column_config.TextColumn(width="large"),
                                   tr("assign.col.score"): st.column_config.NumberColumn(format="%.1f"),
                                   tr("assign.col.distance"): st.column_config.NumberColumn(format="%.1f")})
                # The top three, one sentence per reason, strongest first: what a manager reads to decide.
                sentences = reason_sentences(ranked.head(3), L)
                order = ranked.head(3)[[f"pts_{c}" for c in COMPONENTS]].abs().to_numpy().argsort(axis=1)[:, ::-1]
                for col, (i, cand) in zip(st.columns(3), ranked.head(3).iterrows(), strict=False):
                    with col.container(border=True):
                        st.markdown(f"**{cand['rank']}. {cand['name']}** · {cand['score']:.1f}")
                        st.markdown("\n".join(f"- {sentences.iloc[i][f'why_{COMPONENTS[j]}']}" for j in order[i]))
                st.altair_chart(points_chart(ranked, L), width="stretch")

            if not excluded.empty:
                with st.expander(tr("assign.excluded", n=len(excluded)), expanded=ranked.empty):
                    st.dataframe(pd.DataFrame({
                        tr("assign.col.worker"): excluded["name"],
                        tr("assign.col.grid"): [pick(L, z, e) for z, e in
                                                zip(excluded["grid_zh"], excluded["grid_en"], strict=True)],
                        tr("assign.col.rule"): excluded["rule"].map(lambda r: tr(f"assign.rulename.{r}")),
                        tr("assign.col.reason"): exclusion_reasons(excluded, L),
                    }), hide_index=True, width="stretch")

            # Assign: the recommendation, or someone else with a reason. Hard rules stay hard.
            choosable = pd.concat([ranked, excluded[excluded["rule"].isin(["farther_tier", "at_cap"])]],
                                  ignore_index=True) if not excluded.empty else ranked
            if not choosable.empty:
                names = dict(zip(choosable["worker_id"], choosable["name"], strict=True))
                rank_of = dict(zip(ranked["worker_id"], ranked["rank"], strict=True)) if not ranked.empty else {}
                recommended = int(ranked["worker_id"].iloc[0]) if not ranked.empty else None

                choice_labels = {int(w): tr("assign.choice_ranked", rank=rank_of[w], name=names[w]) if w in rank_of
                                 else tr("assign.choice_excluded", name=names[w]) for w in choosable["worker_id"]}

                with st.form(f"assign_form_{task_id}", border=True):
                    chosen = st.selectbox(tr("assign.assign_to"), [int(w) for w in choosable["worker_id"]],
                                          format_func=choice_labels.get, key=f"assign_choice_{task_id}_{L}")
                    reason = st.text_input(tr("assign.override_reason"), key=f"assign_reason_{task_id}",
                                           placeholder=tr("assign.override_placeholder"))
                    go = st.form_submit_button(tr("assign.assign_button"), type="primary")
                if go:
                    try:
                        with resources.unit_of_work() as session:
                            decision = service.assign(session, viewer, task_id=task_id, worker_id=chosen,
                                                      preset=preset, override_reason=reason, now=NOW)
                    except service.AssignmentError as exc:
                        st.error(tr(exc.key, **exc.params))
                    except ValueError as exc:
                        st.error(str(exc))
                    else:
                        st.session_state["assign_flash"] = tr(
                            "assign.done_override" if decision.overridden else "assign.done", name=names[chosen])
                        st.session_state.pop("assign_current", None)
                        _quality_inputs.clear()
                        _quality_figures.clear()
                        dispatch_cache.clear()
                        st.rerun()
    if msg := st.session_state.pop("assign_flash", None):
        st.toast(msg, icon=":material/check_circle:")

with batch_tab:
    # The batch has its own preset (routine by default): the sidebar follows whichever task is open.
    batch_code = st.segmented_control(tr("assign.batch.preset"), list(PRESETS), default="routine",
                                      key=f"assign_batch_preset_{L}", format_func=preset_names.get) or "routine"
    st.caption(tr("assign.batch.caption", preset=preset_names[batch_code]))
    if st.button(tr("assign.batch.propose"), icon=":material/auto_awesome:", key="assign_batch_propose"):
        with st.status(tr("assign.batch.working"), expanded=False) as status:
            with Session(resources.engine()) as session:
                st.session_state["assign_proposal"] = service.propose_batch(session, viewer, batch_code, ctx=ctx)
            status.update(label=tr("assign.batch.ready"), state="complete")
    proposal = st.session_state.get("assign_proposal")
    if proposal is not None:
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(tr("assign.batch.tasks"), proposal.n_tasks)
        c2.metric(tr("assign.batch.proposed"), len(proposal.assigned))
        c3.metric(tr("assign.batch.total"), f"{proposal.total_score:,.1f}")
        c4.metric(tr("assign.batch.first_choice"),
                  "—" if proposal.assigned.empty else f"{proposal.first_choice_share:.0%}")
        if not proposal.assigned.empty:
            a = proposal.assigned
            st.dataframe(pd.DataFrame({
                tr("assign.col.priority"): a["priority"].map(lambda p: tr(f"assign.priority_rank.{int(p)}")),
                tr("assign.col.task"): [pick(L, z, e) for z, e in zip(a["title_zh"], a["title_en"], strict=True)],
                tr("assign.col.worker"): a["name"],
                tr("assign.col.score"): a["score"],
                tr("assign.col.choice"): a["rank_in_task"],
                tr("assign.col.why"): explain(a, L, top=3),
            }), hide_index=True, width="stretch", height=min(420, 38 + 35 * len(a)),
                column_config={tr("assign.col.score"): st.column_config.NumberColumn(format="%.1f")})
        if not proposal.unassigned.empty:
            u = proposal.unassigned
            st.warning(tr("assign.batch.left", n=len(u)))
            st.dataframe(pd.DataFrame({
                tr("assign.col.priority"): u["priority"].map(lambda p: tr(f"assign.priority_rank.{int(p)}")),
                tr("assign.col.task"): [pick(L, z, e) for z, e in zip(u["title_zh"], u["title_en"], strict=True)],
                tr("assign.col.reason"): u["reason"].map(lambda r: tr(f"assign.reason.unassigned.{r}")),
            }), hide_index=True, width="stretch", height=min(300, 38 + 35 * len(u)))
        b1, b2 = st.columns(2)
        if b1.button(tr("assign.batch.confirm"), type="primary", disabled=proposal.assigned.empty,
                     key="assign_batch_confirm", icon=":material/done_all:"):
            with resources.unit_of_work() as session:
                result = service.commit_batch(session, viewer, proposal, now=NOW)
            st.session_state.pop("assign_proposal", None)
            _quality_inputs.clear()
            _quality_figures.clear()
            dispatch_cache.clear()
            st.session_state["assign_batch_done"] = tr("assign.batch.done", **result)
            st.rerun()
        if b2.button(tr("assign.batch.discard"), key="assign_batch_discard"):
            st.session_state.pop("assign_proposal", None)
            st.rerun()
    if done := st.session_state.pop("assign_batch_done", None):
        st.success(done)

with map_tab:
    ctx_workers = ctx.workers
    points = queue.dropna(subset=["lat", "lon"])
    as_table = st.toggle(tr("assign.map.as_table"), value=points.empty, key="assign_map_table")
    if points.empty and ctx_workers.dropna(subset=["lat", "lon"]).empty:
        st.info(tr("assign.map.empty"))
    elif as_table:
        st.dataframe(pd.DataFrame({
            tr("assign.col.task"): [pick(L, z, e) for z, e in zip(points["title_zh"], points["title_en"], strict=True)],
            tr("assign.col.priority"): points["priority"].map(lambda p: tr(f"assign.priority.{p}")),
            "lat": points["lat"].round(5), "lon": points["lon"].round(5),
            tr("assign.col.assignee"): points["assignee_name"].fillna("—"),
        }), hide_index=True, width="stretch")
    else:
        colour = {1: [214, 39, 40, 200], 2: [255, 127, 14, 180], 3: [148, 103, 189, 180]}
        tasks_layer = points.assign(
            colour=points["priority_rank"].map(colour),
            label=[pick(L, z, e) for z, e in zip(points["title_zh"], points["title_en"], strict=True)])
        workers_layer = ctx_workers.dropna(subset=["lat", "lon"]).assign(
            label=lambda w: w["name"] + " · " + w[f"grid_{L}"])
        deck = pdk.Deck(
            layers=[
                pdk.Layer("ScatterplotLayer", workers_layer[["lon", "lat", "label"]], get_position="[lon, lat]",
                          get_fill_color=[31, 119, 180, 140], get_radius=60, pickable=True),
                pdk.Layer("ScatterplotLayer", tasks_layer[["lon", "lat", "label", "colour"]], get_position="[lon, lat]",
                          get_fill_color="colour", get_radius=90, pickable=True),
            ],
            initial_view_state=pdk.ViewState(latitude=float(points["lat"].mean() if not points.empty else 22.59),
                                             longitude=float(points["lon"].mean() if not points.empty else 114.48),
                                             zoom=11),
            tooltip={"text": "{label}"}, map_style=None,
        )
        st.pydeck_chart(deck, height=520)
        st.caption(tr("assign.map.legend"))

with quality_tab:
    periods = {"all": None, "365": 365, "90": 90, "30": 30}
    period_names = {p: tr(f"assign.q.period_{p}") for p in periods}
    period = st.segmented_control(tr("assign.q.period"), list(periods), default="all", key=f"assign_q_period_{L}",
                                  format_func=period_names.get)
    days = periods.get(period or "all")
    today = NOW.date()
    start_day = today - timedelta(days=days) if days else today.replace(year=2000)
    scope_key = (resources.engine().url.render_as_string(), viewer.user_id, viewer.role.value,
                 viewer.scope_level.value, viewer.scope_unit_id)
    events, overrides, decisions = _quality_inputs(scope_key, start_day, today, viewer)
    if events.empty:
        st.info(tr("assign.q.empty"))
    else:
        overall = _quality_figures(scope_key, start_day, today, None, NOW, viewer).iloc[0]
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(tr("assign.q.first_dispatch_accuracy"), f"{overall['first_dispatch_accuracy']:.1%}",
                  help=tr("assign.q.first_dispatch_help"))
        c2.metric(tr("assign.q.avg_sign_hours"), "—" if pd.isna(overall["avg_sign_hours"])
                  else tr("assign.q.hours", h=f"{overall['avg_sign_hours']:.1f}"), help=tr("assign.q.sign_help"))
        c3.metric(tr("assign.q.overdue_rate"), "—" if pd.isna(overall["overdue_rate"])
                  else f"{overall['overdue_rate']:.1%}", help=tr("assign.q.overdue_help"))
        c4.metric(tr("assign.q.dispatched"), int(overall["dispatched"]))
        by_item = _quality_figures(scope_key, start_day, today, "item_code", NOW, viewer)
        by_item["item"] = by_item["item_code"].map(lambda c: f"{c} {_item_name(c)}")
        st.altair_chart(quality_chart(by_item.nlargest(15, "dispatched"), L), width="stretch")

        def _figures(frame: pd.DataFrame, label_col: str, label: str) -> pd.DataFrame:
            return pd.DataFrame({
                label: frame[label_col], tr("assign.q.dispatched"): frame["dispatched"],
                tr("assign.q.first_dispatch_accuracy"): frame["first_dispatch_accuracy"],
                tr("assign.q.avg_sign_hours"): frame["avg_sign_hours"].round(1),
                tr("assign.q.overdue_rate"): frame["overdue_rate"],
            })

        pct = st.column_config.NumberColumn(format="percent")
        cfg = {tr("assign.q.first_dispatch_accuracy"): pct, tr("assign.q.overdue_rate"): pct}
        st.subheader(tr("assign.q.by_item"))
        st.dataframe(_figures(by_item.sort_values("dispatched", ascending=False), "item", tr("assign.col.item")),
                     hide_index=True, width="stretch", column_config=cfg)
        by_comm = _quality_figures(scope_key, start_day, today, "community_id", NOW, viewer)
        with Session(resources.engine()) as session:
            comms = units_frame(session, viewer, OrgLevel.COMMUNITY).set_index("id")
        by_comm["community"] = by_comm["community_id"].map(
            lambda c: pick(L, comms.at[c, "name_zh"], comms.at[c, "name_en"]) if c in comms.index else str(c))
        st.subheader(tr("assign.q.by_community"))
        st.dataframe(_figures(by_comm.sort_values("dispatched", ascending=False), "community",
                              tr("assign.col.community")), hide_index=True, width="stretch", column_config=cfg)

    st.subheader(tr("assign.q.overrides"))
    if overrides.empty:
        st.caption(tr("assign.q.no_decisions"))
    else:
        total, over = int(overrides["decisions"].sum()), int(overrides["overrides"].sum())
        st.metric(tr("assign.q.override_rate"), f"{over / total:.0%}", tr("assign.q.of_decisions", n=total),
                  delta_color="off")
        st.dataframe(pd.DataFrame({
            tr("assign.col.item"): overrides["item_code"].map(lambda c: f"{c} {_item_name(c)}" if isinstance(c, str)
                                                               else tr(f"assign.category.{c}")),
            tr("assign.q.decisions"): overrides["decisions"], tr("assign.q.overrides_n"): overrides["overrides"],
            tr("assign.q.override_rate"): overrides["override_rate"],
        }), hide_index=True, width="stretch",
            column_config={tr("assign.q.override_rate"): st.column_config.NumberColumn(format="percent")})
    if not decisions.empty:
        with st.expander(tr("assign.q.decision_log", n=len(decisions))):
            if len(decisions) > LOG_ROWS:
                st.caption(tr("assign.q.log_newest", n=LOG_ROWS))
                decisions = decisions.head(LOG_ROWS)
            st.dataframe(pd.DataFrame({
                tr("assign.q.when"): decisions["decided_at"], tr("assign.col.task"): decisions["task_id"],
                tr("assign.col.item"): decisions["item_code"].map(_item_name),
                tr("assign.q.recommended"): decisions["recommended_name"],
                tr("assign.q.chosen"): decisions["chosen_name"],
                tr("assign.override_reason"): decisions["override_reason"].fillna(""),
                tr("assign.preset"): decisions["preset"].map(
                    lambda c: pick(L, PRESETS[c].name_zh, PRESETS[c].name_en) if c in PRESETS else c),
                tr("assign.q.source"): decisions["source"].map(lambda s: tr(f"assign.source.{s}")),
                tr("assign.q.by"): decisions["decided_by_name"].fillna("—"),
            }), hide_index=True, width="stretch")
