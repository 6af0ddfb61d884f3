"""定时任务 in words: a job's description and its schedule in the reader's language (not ``trigger=cron, …``)."""

from __future__ import annotations

from typing import Any

from ui.state import lang, tr


def _time(hour: Any, minute: Any) -> str:
    return f"{int(hour):02d}:{int(minute or 0):02d}"


def trigger_text(trigger: dict[str, Any]) -> str:
    """An APScheduler trigger (the JobSpec's kwargs) as a schedule a person reads."""
    kind = trigger.get("trigger")
    rest = {k: v for k, v in trigger.items() if k != "trigger"}
    if kind == "interval" and set(rest) == {"minutes"}:
        return tr("jobs.trigger.minutes", n=rest["minutes"])
    if kind == "interval" and set(rest) == {"hours"}:
        return tr("jobs.trigger.hours", n=rest["hours"])
    if kind == "cron" and set(rest) == {"hour", "minute"}:
        if str(rest["hour"]) == "*":
            return tr("jobs.trigger.hourly", minute=rest["minute"])
        return tr("jobs.trigger.daily", time=_time(rest["hour"], rest["minute"]))
    if kind == "cron" and set(rest) == {"month", "day", "hour", "minute"}:
        months = ("、" if lang() == "zh" else ", ").join(str(rest["month"]).split(","))
        return tr(
            "jobs.trigger.months", months=months, day=rest["day"], time=_time(rest["hour"], rest["minute"])
        )
    return tr("jobs.trigger.other")


def description(job_id: str) -> str:
    return tr(f"jobs.desc.{job_id}")


def next_run_text(*times: Any) -> str:
    """The earliest of a job's queued runs (its trigger's, a catch-up run queued at start), or "—"."""
    queued = [t for t in times if t is not None]
    return f"{min(queued):%Y-%m-%d %H:%M}" if queued else tr("jobs.not_scheduled")
