"""Explanations a manager can read: one sentence per preference with its signed points, and the rule
that excluded a worker, in the user's language (data/locales/*/assign.json).

Works on the frames ``pairs.score_pairs`` / ``one_task.rank_task`` return.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from core.i18n import pick, t
from evaluation.assignment.rank import COMPONENTS, course_titles, shipped_items


def signed_points(value: float) -> str:
    """+30, −8, +0 (a real minus sign; one decimal only when it matters)."""
    v = round(float(value), 1)
    text = f"{abs(v):.0f}" if abs(v - round(v)) < 0.05 else f"{abs(v):.1f}"
    return ("−" if v < 0 and text not in ("0", "0.0") else "+") + text


@lru_cache(maxsize=1)
def _course_titles() -> dict[str, tuple[str, str]]:
    titles = course_titles()
    return {c: (z, e) for c, z, e in zip(titles["code"], titles["title_zh"], titles["title_en"], strict=True)}


@lru_cache(maxsize=1)
def _category_names() -> dict[str, tuple[str, str]]:
    cats = shipped_items().drop_duplicates("category_code")
    return {
        c: (z, e)
        for c, z, e in zip(cats["category_code"], cats["category_zh"], cats["category_en"], strict=True)
    }


def _course_name(codes: pd.Series, lang: str) -> list[str]:
    titles = _course_titles()
    out = []
    for c in codes:
        z, e = titles.get(c, (None, None)) if isinstance(c, str) else (None, None)
        out.append(
            pick(lang, z if isinstance(z, str) else None, e if isinstance(e, str) else None) or (c or "")
        )
    return out


def _category_name(frame: pd.DataFrame, lang: str) -> list[str]:
    cats = _category_names()
    out = []
    for c in frame["category_code"]:
        z, e = cats.get(c, (None, None)) if isinstance(c, str) else (None, None)
        name = pick(lang, z if isinstance(z, str) else None, e if isinstance(e, str) else None)
        out.append(name or t(f"assign.category.{c}", lang))
    return out


def _pct(x: float) -> str:
    return f"{x:.0%}"


def reason_sentences(frame: pd.DataFrame, lang: str, *, points: bool = True) -> pd.DataFrame:
    """One sentence per preference (columns ``why_<component>``) with its signed points (without them for a
    worker, to whom "+30" means nothing: ``points=False``)."""
    out = pd.DataFrame(index=frame.index)
    if frame.empty:
        for c in COMPONENTS:
            out[f"why_{c}"] = pd.Series(dtype=str)
        return out
    pts = {c: [signed_points(v) if points else "" for v in frame[f"pts_{c}"]] for c in COMPONENTS}
    tier_key = {0: "assign.why.grid_own", 1: "assign.why.grid_adjacent", 2: "assign.why.grid_community"}
    out["why_grid"] = [
        t(tier_key[int(tr_)], lang, pts=p) for tr_, p in zip(frame["tier"], pts["grid"], strict=True)
    ]
    out["why_distance"] = [
        t("assign.why.distance", lang, km=f"{d:.1f}", pts=p)
        if pd.notna(d)
        else t("assign.why.distance_unknown", lang, pts=p)
        for d, p in zip(frame["distance_km"], pts["distance"], strict=True)
    ]
    course = _course_name(frame["skill_course"], lang)
    skill = []
    for name, best, cert, until, passed, p, code in zip(
        course,
        frame["s_best"],
        frame["s_cert_valid"],
        frame["s_cert_until"],
        frame["s_passed"],
        pts["skill"],
        frame["skill_course"],
        strict=True,
    ):
        if not isinstance(code, str):
            skill.append(t("assign.why.skill_no_course", lang, pts=p))
        elif cert:
            skill.append(
                t(
                    "assign.why.skill_cert",
                    lang,
                    course=name,
                    until=f"{until:%Y-%m-%d}",
                    score=f"{best:.0f}" if pd.notna(best) else "—",
                    pts=p,
                )
            )
        elif pd.notna(best) and bool(passed):
            skill.append(t("assign.why.skill_passed", lang, course=name, score=f"{best:.0f}", pts=p))
        elif pd.notna(best):
            skill.append(t("assign.why.skill_failed", lang, course=name, score=f"{best:.0f}", pts=p))
        else:
            skill.append(t("assign.why.skill_none", lang, course=name, pts=p))
    out["why_skill"] = skill
    cat = _category_name(frame, lang)
    out["why_performance"] = [
        t(
            "assign.why.perf_history",
            lang,
            category=c,
            n=int(n),
            ontime=_pct(o),
            rework=_pct(r),
            satisfied=_pct(s),
            pts=p,
        )
        if n > 0
        else t("assign.why.perf_new", lang, category=c, pts=p)
        for c, n, o, r, s, p in zip(
            cat,
            frame["handled"],
            frame["ontime_rate"],
            frame["rework_rate"],
            frame["satisfaction_rate"],
            pts["performance"],
            strict=True,
        )
    ]
    out["why_load"] = [
        t("assign.why.load", lang, n=int(n), cap=int(c), pts=p)
        for n, c, p in zip(frame["open_tasks"], frame["open_task_cap"], pts["load"], strict=True)
    ]
    out["why_fairness"] = [
        t("assign.why.fairness", lang, n=int(n), avg=f"{a:.1f}", pts=p)
        for n, a, p in zip(frame["tasks_last_30d"], frame["community_mean_30d"], pts["fairness"], strict=True)
    ]
    return out if points else out.apply(lambda column: column.str.strip())


def explain(
    frame: pd.DataFrame,
    lang: str,
    *,
    top: int | None = None,
    points: bool = True,
    sentences: pd.DataFrame | None = None,
) -> pd.Series:
    """The reasons of each candidate as one line, strongest first: "同一网格 +30；距离 0.4 公里 +14；…".

    ``top`` keeps the strongest few (by absolute points), as shown to the worker in My tasks, where
    ``points=False`` leaves the points out (a manager's measure, not the worker's). ``sentences``: the
    frame's ``reason_sentences`` with these ``points`` when the caller has them already.
    """
    if frame.empty:
        return pd.Series(dtype=str, index=frame.index)
    if sentences is None:
        sentences = reason_sentences(frame, lang, points=points)
    points = frame[[f"pts_{c}" for c in COMPONENTS]].abs().to_numpy()
    order = np.argsort(-points, axis=1, kind="stable")
    whys = sentences[[f"why_{c}" for c in COMPONENTS]].to_numpy()
    sep = "；" if lang == "zh" else "; "
    n = top or len(COMPONENTS)
    return pd.Series([sep.join(whys[i, order[i, :n]]) for i in range(len(frame))], index=frame.index)


def exclusion_reasons(frame: pd.DataFrame, lang: str) -> pd.Series:
    """For each excluded pair, the rule that excluded the worker as a sentence."""
    if frame.empty:
        return pd.Series(dtype=str, index=frame.index)
    course = _course_name(frame["qualification_course"], lang)
    out = []
    for rule, status, name, until, best, n, cap, level, wstatus in zip(
        frame["rule"],
        frame["qual_status"],
        course,
        frame["q_cert_until"],
        frame["q_best"],
        frame["open_tasks"],
        frame["open_task_cap"],
        frame["tier_level"],
        frame["status"],
        strict=True,
    ):
        if rule == "inactive":
            out.append(
                t(
                    "assign.rule.inactive",
                    lang,
                    status=t(f"assign.status.{wstatus}", lang)
                    if wstatus in ("on_leave", "left")
                    else str(wstatus),
                )
            )
        elif rule == "in_training":
            out.append(t("assign.rule.in_training", lang))
        elif rule == "not_qualified" and status == "expired":
            out.append(t("assign.rule.cert_expired", lang, course=name, until=f"{until:%Y-%m-%d}"))
        elif rule == "not_qualified" and status == "failed":
            out.append(t("assign.rule.quiz_failed", lang, course=name, score=f"{best:.0f}"))
        elif rule == "not_qualified":
            out.append(t("assign.rule.untrained", lang, course=name))
        elif rule == "at_cap":
            out.append(t("assign.rule.at_cap", lang, n=int(n), cap=int(cap)))
        else:
            out.append(t("assign.rule.farther_tier_0" if level == 0 else "assign.rule.farther_tier_1", lang))
    return pd.Series(out, index=frame.index)
