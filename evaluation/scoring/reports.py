"""Excel workbooks: the scorecard export (scores, components, raw figures, scheme version) and the
monthly bulletin (通报: ranking, grade distribution, party comparison, frequent event items, overdue)."""

from __future__ import annotations

import io
from datetime import date, datetime, time

import pandas as pd
from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select
from sqlmodel import col as sql_col

from core import clock
from core.i18n import col, pick, t
from core.models import OrgUnit
from core.tabular import safe_frame
from core.taxonomy import item_name
from evaluation.field.models import Event
from evaluation.scoring.periods import parse_period
from evaluation.scoring.scheme import Scheme

CARD_COLS = [
    "rank",
    "employee_no",
    "name",
    "subdistrict",
    "community",
    "party_member",
    "total",
    "grade",
    "base",
    "bonus",
    "deduction",
    "coverage",
    "missing_components",
    "prorated",
    "community_rank",
    "community_n",
]
COMP_COLS = [
    "employee_no",
    "name",
    "dimension",
    "component_name",
    "metric",
    "numerator",
    "denominator",
    "value",
    "unit",
    "rule",
    "score",
    "weight",
    "eff_weight",
    "points",
    "missing",
    "formula",
]


def _lang_cols(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = df.copy()
    for base in ("community", "subdistrict"):
        src = f"{base}_{lang}" if f"{base}_{lang}" in out else f"{base}_zh"
        if src in out:
            out[base] = out[src]
    return out


def grade_names(scheme: Scheme, lang: str) -> dict[str, str]:
    return {g.code: pick(lang, g.name_zh, g.name_en) for g in scheme.grades}


def cards_table(cards: pd.DataFrame, scheme: Scheme, lang: str) -> pd.DataFrame:
    """Cards ready for a table or a sheet, localised column headers, sorted by rank."""
    df = _lang_cols(cards, lang)
    df["grade"] = df["grade"].map(grade_names(scheme, lang)).fillna("")
    if "missing_components" in df:
        names = {c.code: pick(lang, c.name_zh, c.name_en) for c in scheme.components}
        sep = "、" if lang == "zh" else ", "
        df["missing_components"] = [
            sep.join(names.get(x, x) for x in str(v).split(",") if x) for v in df["missing_components"]
        ]
    cols = [c for c in CARD_COLS if c in df.columns]
    df = df.sort_values(["rank", "employee_no"] if "employee_no" in df else ["rank"], na_position="last")[
        cols
    ]
    return df.rename(columns={c: t(f"score.col.{c}", lang) for c in cols})


def components_table(comps: pd.DataFrame, cards: pd.DataFrame, lang: str) -> pd.DataFrame:
    meta = cards[["worker_id"] + [c for c in ("employee_no", "name") if c in cards.columns]]
    df = comps.merge(meta, on="worker_id", how="left")
    df["component_name"] = df[col(lang, "name")]
    df["dimension"] = df[col(lang, "dimension")]
    cols = [c for c in COMP_COLS if c in df.columns]
    return df[cols].rename(columns={c: t(f"score.col.{c}", lang) for c in cols})


def workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(xw, sheet_name=name[:31], index=False)  # no formula injection
            ws = xw.sheets[name[:31]]
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in list(col)[:200])
                ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width * 1.6))
    return buf.getvalue()


def scorecards_workbook(
    cards: pd.DataFrame,
    comps: pd.DataFrame,
    scheme: Scheme,
    period: str,
    lang: str,
    scheme_id: int | None = None,
) -> bytes:
    about = pd.DataFrame(
        {
            t("score.col.field", lang): [
                t("score.period", lang),
                t("score.scheme", lang),
                t("score.scheme_version", lang),
                t("score.col.workers", lang),
            ],
            t("score.col.value", lang): [
                period,
                pick(lang, scheme.name_zh, scheme.name_en),
                f"{scheme.code} v{scheme.version}" + (f" (#{scheme_id})" if scheme_id else ""),
                int(cards["scored"].sum()) if "scored" in cards else len(cards),
            ],
        }
    )
    return workbook(
        {
            t("score.sheet.about", lang): about,
            t("score.sheet.scores", lang): cards_table(cards, scheme, lang),
            t("score.sheet.components", lang): components_table(comps, cards, lang),
        }
    )


# ---------------------------------------------------------------------------------------------
# bulletin


def grade_distribution(cards: pd.DataFrame, scheme: Scheme, lang: str) -> pd.DataFrame:
    """Workers per community × grade (a calibration table)."""
    df = _lang_cols(cards[cards["scored"].astype(bool)], lang)
    names = grade_names(scheme, lang)
    tab = pd.crosstab(df["community"], df["grade"]).reindex(
        columns=[g.code for g in scheme.grades], fill_value=0
    )
    tab["n"] = tab.sum(axis=1)
    tab["mean"] = df.groupby("community")["total"].mean().round(2)
    tab = tab.rename(
        columns={**names, "n": t("score.col.workers", lang), "mean": t("score.col.mean_total", lang)}
    )
    return tab.reset_index().rename(columns={"community": t("score.col.community", lang)})


def event_items(session: Session, period: str, lang: str, top: int = 10) -> pd.DataFrame:
    """The most frequent event items reported in the month, and overdue counts per community."""

    p = parse_period(period)
    lo, hi = datetime.combine(p.start, time()), datetime.combine(p.end, time.max)
    rows = session.exec(
        select(Event.item_code, func.count())
        .where(sql_col(Event.reported_at).between(lo, hi))
        .group_by(Event.item_code)
        .order_by(func.count().desc())
        .limit(top)
    ).all()
    df = pd.DataFrame(rows, columns=["item_code", "events"])
    df.insert(1, "item", df["item_code"].map(lambda code: item_name(code, lang)))
    return df.rename(
        columns={
            "item_code": t("score.col.item_code", lang),
            "item": t("score.col.item", lang),
            "events": t("score.col.events", lang),
        }
    )


def overdue_counts(session: Session, period: str, lang: str) -> pd.DataFrame:
    """Events due in the month closed late or still open past the deadline, per community."""

    p = parse_period(period)
    lo, hi = datetime.combine(p.start, time()), datetime.combine(p.end, time.max)
    closed_at, due_at = sql_col(Event.closed_at), sql_col(Event.due_at)
    late = or_(and_(closed_at.is_not(None), closed_at > due_at), and_(closed_at.is_(None), due_at < hi))
    name = getattr(OrgUnit, col(lang, "name"))
    rows = session.exec(
        select(name, func.count(), func.sum(case((late, 1), else_=0)))
        .join(OrgUnit, sql_col(OrgUnit.id) == Event.community_id)
        .where(due_at.between(lo, hi), sql_col(Event.postponed).is_(False))
        .group_by(name)
        .order_by(func.sum(case((late, 1), else_=0)).desc())
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            t("score.col.community", lang),
            t("score.col.events_due", lang),
            t("score.col.overdue", lang),
        ],
    )


def comparison_table(comp: pd.DataFrame, lang: str) -> pd.DataFrame:
    df = comp.assign(name=comp[col(lang, "name")])
    cols = ["name", "metric", "party", "all", "gap_pp", "non_party", "n_party", "n_all"]
    out = df[cols].round(2)
    return out.rename(columns={c: t(f"score.col.{c}", lang) for c in cols})


def bulletin_workbook(
    session: Session,
    *,
    period: str,
    cards: pd.DataFrame,
    comparison: pd.DataFrame,
    scheme: Scheme,
    revision: int,
    lang: str = "zh",
    generated: date | None = None,
) -> bytes:
    scored = cards[cards["scored"].astype(bool)]
    about = pd.DataFrame(
        {
            t("score.col.field", lang): [
                t("score.period", lang),
                t("score.revision", lang),
                t("score.scheme_version", lang),
                t("score.col.workers", lang),
                t("score.col.mean_total", lang),
                t("score.generated", lang),
            ],
            t("score.col.value", lang): [
                period,
                revision,
                f"{scheme.code} v{scheme.version}",
                len(scored),
                round(float(scored["total"].mean()), 2) if len(scored) else None,
                str(generated or clock.today()),
            ],
        }
    )
    return workbook(
        {
            t("score.sheet.about", lang): about,
            t("score.sheet.ranking", lang): cards_table(scored, scheme, lang),
            t("score.sheet.grades", lang): grade_distribution(cards, scheme, lang),
            t("score.sheet.party", lang): comparison_table(comparison, lang),
            t("score.sheet.items", lang): event_items(session, period, lang),
            t("score.sheet.overdue", lang): overdue_counts(session, period, lang),
        }
    )
