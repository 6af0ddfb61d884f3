"""The one list of screens: file, menu label key, icon, and the roles that may open each.

Both the access guard and the menu read it, so a page cannot appear in a menu its role may not open,
and the authorization tests iterate over it. A listed page whose file does not exist yet is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.models import Role

ROOT = Path(__file__).resolve().parents[1]
# Roles: worker, manager, and the three separated administrator duties (三员分立, core.models.Role): the system
# administrator (A) has the managers' pages district-wide and the configuration; the security administrator (S)
# roles, accounts and sessions; the audit administrator (U) the audit trail and nothing else. Nobody but U opens
# the audit page.
W, M, A, S, U = Role.WORKER, Role.MANAGER, Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR
EVERYONE = set(Role)


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the repository root, as st.page_link wants it
    label: str  # i18n key
    icon: str
    roles: frozenset[Role]
    section: str  # i18n key of the menu section
    in_menu: bool = True

    @property
    def exists(self) -> bool:
        return (ROOT / self.path).exists()

    def admits(self, duties: frozenset[Role]) -> bool:
        """Whether a viewer acting in ``duties`` (``Viewer.duties``) may open the page."""
        return bool(self.roles & duties)

    @property
    def url_path(self) -> str:
        return "" if self.path == "app.py" else Path(self.path).stem


def _p(path: str, label: str, icon: str, roles: set[Role], section: str, in_menu: bool = True) -> PageSpec:
    return PageSpec(path, label, icon, frozenset(roles), section, in_menu)


PAGES: tuple[PageSpec, ...] = (
    _p("app.py", "menu.home", ":material/home:", EVERYONE, "menu.section.main"),
    # A worker's day, phone first.
    _p("pages/my_learning.py", "menu.my_learning", ":material/school:", {W}, "menu.section.main"),
    _p("pages/my_training.py", "menu.my_training", ":material/timer:", {W}, "menu.section.main"),
    _p("pages/quiz.py", "menu.quiz", ":material/quiz:", {W}, "menu.section.main", in_menu=False),
    _p(
        "pages/checkin.py",
        "menu.checkin",
        ":material/qr_code_scanner:",
        {W},
        "menu.section.main",
        in_menu=False,
    ),
    _p("pages/my_tasks.py", "menu.my_tasks", ":material/task_alt:", {W}, "menu.section.main"),
    _p("pages/report_event.py", "menu.report_event", ":material/add_alert:", {W}, "menu.section.main"),
    _p("pages/my_scorecard.py", "menu.my_scorecard", ":material/insights:", {W}, "menu.section.main"),
    _p("pages/inbox.py", "menu.inbox", ":material/inbox:", EVERYONE, "menu.section.main"),
    _p("pages/my_data.py", "menu.my_data", ":material/badge:", {W}, "menu.section.main"),
    _p(
        "pages/notify_prefs.py",
        "menu.notify_prefs",
        ":material/notifications:",
        EVERYONE,
        "menu.section.main",
        in_menu=False,
    ),
    _p("pages/account.py", "menu.account", ":material/lock_person:", set(Role), "menu.section.main"),
    # Training (managers).
    _p("pages/catalog.py", "menu.courses", ":material/menu_book:", {M, A}, "menu.section.training"),
    _p("pages/attendance.py", "menu.attendance", ":material/how_to_reg:", {M, A}, "menu.section.training"),
    _p(
        "pages/quiz_results.py", "menu.quiz_results", ":material/fact_check:", {M, A}, "menu.section.training"
    ),
    _p(
        "pages/training_plan.py",
        "menu.training_plan",
        ":material/event_note:",
        {M, A},
        "menu.section.training",
    ),
    # Field data.
    _p("pages/field_import.py", "menu.field_import", ":material/upload_file:", {M, A}, "menu.section.field"),
    _p("pages/events.py", "menu.events", ":material/report:", {M, A}, "menu.section.field"),
    _p("pages/rentals.py", "menu.rentals", ":material/apartment:", {M, A}, "menu.section.field"),
    _p("pages/data_quality.py", "menu.data_quality", ":material/rule:", {M, A}, "menu.section.field"),
    # Evaluation and dispatch.
    _p("pages/scorecards.py", "menu.scorecards", ":material/leaderboard:", {M, A}, "menu.section.evaluation"),
    _p("pages/scorecard.py", "menu.scorecard", ":material/person_search:", {M, A}, "menu.section.evaluation"),
    _p("pages/dispatch.py", "menu.dispatch", ":material/assignment_ind:", {M, A}, "menu.section.evaluation"),
    _p("pages/warnings.py", "menu.warnings", ":material/crisis_alert:", {M, A}, "menu.section.evaluation"),
    _p("pages/skill_gaps.py", "menu.skill_gaps", ":material/trending_up:", {M, A}, "menu.section.evaluation"),
    # Administration.
    _p("pages/workers.py", "menu.workers", ":material/groups:", {M, A}, "menu.section.admin"),
    _p("pages/corrections.py", "menu.corrections", ":material/edit_note:", {M, A}, "menu.section.admin"),
    _p("pages/org.py", "menu.org", ":material/account_tree:", {A}, "menu.section.admin"),
    _p("pages/users.py", "menu.users", ":material/manage_accounts:", {A, S}, "menu.section.admin"),
    _p("pages/metrics.py", "menu.metrics", ":material/functions:", {A}, "menu.section.admin"),
    _p("pages/schemes.py", "menu.schemes", ":material/tune:", {A}, "menu.section.admin"),
    _p(
        "pages/notify_channels.py",
        "menu.notify_channels",
        ":material/campaign:",
        {M, A},
        "menu.section.admin",
    ),
    _p("pages/jobs.py", "menu.jobs", ":material/schedule:", {A}, "menu.section.admin"),
    _p("pages/audit.py", "menu.audit", ":material/history:", {U}, "menu.section.admin"),
    _p("pages/web_sessions.py", "menu.sessions", ":material/devices:", {S}, "menu.section.admin"),
    _p("pages/api_clients.py", "menu.api_clients", ":material/api:", {A}, "menu.section.admin"),
)
BY_PATH = {p.path: p for p in PAGES}


@lru_cache(maxsize=128)
def spec_for(file: str) -> PageSpec:
    """The spec of a page given its ``__file__`` (remembered: the guard asks on every run)."""
    path = Path(file).resolve()
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    if rel not in BY_PATH:
        raise KeyError(f"{rel} is not listed in ui/pages.py")
    return BY_PATH[rel]


def pages_for(duties: Role | frozenset[Role]) -> list[PageSpec]:
    """The pages a role (or a viewer's ``duties``, several where combined duties are allowed) may open."""
    return list(_pages_for(frozenset({duties}) if isinstance(duties, Role) else duties))


@lru_cache(maxsize=64)
def _pages_for(duties: frozenset[Role]) -> tuple[PageSpec, ...]:
    """Looked up once per server process (the menu is drawn on every run; the page files do not change)."""
    return tuple(p for p in PAGES if p.admits(duties) and p.exists)
