"""The demo district: a deterministic, Dapeng-like org with workers and sign-in accounts.

Areas extend the demo with their own data (courses, field data, …) through ``DEMO_EXTENSIONS``:
each names a ``module:function`` taking a ``DemoContext``, imported only when seeding, so core does
not depend on the areas built on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from core.auth import hash_password
from core.errors import GridwiseError
from core.instance import demo_mode, refuse_seed_outside_demo
from core.models import AppSetting, OrgLevel, OrgUnit, Role, User, Worker, WorkerStatus, row_id
from core.org import add_unit
from core.plugins import provided

# The one published password of every demo account. It lives here (demo code) and in tests/bench only: it is
# never stored in clear (the accounts listed on the sign-in page are stored without it) and shown only in demo
# mode (GRIDWISE_DEMO=true); a production instance refuses to start while demo accounts exist
# (core.instance.check_instance).
DEMO_PASSWORD = "Demo@2020"
DEMO_SETTING = "demo_seed"

# Extension seeders, run in order after the org and accounts exist.
DEMO_EXTENSIONS: tuple[str, ...] = (
    "courses.demo:seed",
    "courses.training.demo:seed",
    "evaluation.demo:seed",
    "evaluation.scoring.remedial:seed_demo",
    "core.rights:seed_demo",
    "evaluation.scoring.served:seed_demo",
    "courses.training.demo:seed_progress",
)

# 大鹏新区: 3 办事处 and their 社区 (25 in all), with a rough centre for each subdistrict.
SUBDISTRICTS: list[tuple[str, str, str, float, float, list[tuple[str, str]]]] = [
    (
        "KY",
        "葵涌办事处",
        "Kuichong",
        22.633,
        114.420,
        [
            ("葵涌社区", "Kuichong"),
            ("三溪社区", "Sanxi"),
            ("溪涌社区", "Xichong"),
            ("土洋社区", "Tuyang"),
            ("官湖社区", "Guanhu"),
            ("坝光社区", "Baguang"),
            ("高源社区", "Gaoyuan"),
            ("径心社区", "Jingxin"),
            ("葵丰社区", "Kuifeng"),
        ],
    ),
    (
        "DP",
        "大鹏办事处",
        "Dapeng",
        22.593,
        114.478,
        [
            ("大鹏社区", "Dapeng"),
            ("王母社区", "Wangmu"),
            ("鹏城社区", "Pengcheng"),
            ("岭澳社区", "Ling'ao"),
            ("水头社区", "Shuitou"),
            ("布新社区", "Buxin"),
            ("下沙社区", "Xiasha"),
        ],
    ),
    (
        "NA",
        "南澳办事处",
        "Nan'ao",
        22.540,
        114.530,
        [
            ("南澳社区", "Nan'ao"),
            ("水头沙社区", "Shuitousha"),
            ("东山社区", "Dongshan"),
            ("新大社区", "Xinda"),
            ("西涌社区", "Xichong (Nan'ao)"),
            ("东涌社区", "Dongchong"),
            ("南隆社区", "Nanlong"),
            ("半天云社区", "Bantianyun"),
            ("鹅公社区", "Egong"),
        ],
    ),
]
DISTRICT_CODE = "440307"
PARTY_MEMBERS = 54  # the article: 54 名党员网格员, 54 个"党员网格"

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉鹏宇飞燕志海波俊峰亮晨婷雪琳佳欣怡晓嘉浩彬楠丹凤梅琴云斌鑫颖慧坤荣"
)


@dataclass
class DemoContext:
    """What an extension seeder gets: the session, a seeded RNG and the org it builds on."""

    session: Session
    seed: int
    rng: np.random.Generator
    scale: float  # 1.0 = the article's volumes; tests use a small fraction
    start: date  # first day of the demo period
    months: int
    workers: (
        pd.DataFrame
    )  # id, employee_no, name, party_member, grid_id, community_id, subdistrict_id, hire_date
    grids: pd.DataFrame  # id, code, community_id, subdistrict_id, lat, lon, households
    manager_user_id: int
    log: Callable[[str], None] = print
    accounts: list[dict[str, str]] = field(default_factory=list)

    def month_starts(self) -> list[date]:
        out, y, m = [], self.start.year, self.start.month
        for _ in range(self.months):
            out.append(date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def _name(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(_GIVEN, size=int(rng.choice([1, 2], p=[0.3, 0.7]))))
    return str(rng.choice(_SURNAMES)) + given


def is_demo(session: Session) -> bool:
    return session.get(AppSetting, DEMO_SETTING) is not None


def demo_accounts(session: Session) -> list[dict[str, str]]:
    """The accounts to list on the sign-in page, with the published password: empty unless this is a demo
    instance (GRIDWISE_DEMO=true) whose database holds demo data."""
    setting = session.get(AppSetting, DEMO_SETTING) if demo_mode() else None
    if setting is None:
        return []
    return [{**a, "password": DEMO_PASSWORD} for a in json.loads(setting.value).get("accounts", [])]


def _build_org(session: Session, rng: np.random.Generator) -> tuple[list[OrgUnit], OrgUnit]:
    district = add_unit(
        session,
        code=DISTRICT_CODE,
        name_zh="大鹏新区",
        name_en="Dapeng New District",
        level=OrgLevel.DISTRICT,
        lat=22.59,
        lon=114.48,
    )
    grids: list[OrgUnit] = []
    xiasha: OrgUnit | None = None
    for s_idx, (_abbr, s_zh, s_en, lat, lon, communities) in enumerate(SUBDISTRICTS, start=1):
        sub = add_unit(
            session,
            code=f"{DISTRICT_CODE}{s_idx:03d}",
            name_zh=s_zh,
            name_en=f"{s_en} Subdistrict",
            level=OrgLevel.SUBDISTRICT,
            parent=district,
            lat=lat,
            lon=lon,
        )
        for c_idx, (c_zh, c_en) in enumerate(communities, start=1):
            c_lat = lat + float(rng.normal(0, 0.018))
            c_lon = lon + float(rng.normal(0, 0.022))
            comm = add_unit(
                session,
                code=f"{sub.code}{c_idx:03d}",
                name_zh=c_zh,
                name_en=f"{c_en} Community",
                level=OrgLevel.COMMUNITY,
                parent=sub,
                lat=c_lat,
                lon=c_lon,
            )
            if c_zh == "下沙社区":
                xiasha = comm
            for g_idx in range(1, int(rng.integers(10, 15)) + 1):
                grids.append(
                    add_unit(
                        session,
                        code=f"{comm.code}{g_idx:03d}",
                        name_zh=f"{c_zh[:-2]}第{g_idx:02d}网格",
                        name_en=f"{c_en} Grid {g_idx:02d}",
                        level=OrgLevel.GRID,
                        parent=comm,
                        lat=round(c_lat + float(rng.normal(0, 0.004)), 6),
                        lon=round(c_lon + float(rng.normal(0, 0.005)), 6),
                        households=int(rng.integers(180, 520)),
                    )
                )
    assert xiasha is not None
    return grids, xiasha


def seed_demo(
    session: Session,
    *,
    seed: int = 2020,
    scale: float = 1.0,
    extensions: tuple[str, ...] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, str]]:
    """Fill an empty database with the demo district; return the demo accounts created.

    Deterministic for a given seed. Refuses outside demo mode (``GRIDWISE_DEMO``) and on a database that
    already holds workers.
    """
    refuse_seed_outside_demo()
    if session.exec(select(Worker.id).limit(1)).first() is not None:
        raise GridwiseError("core.err.demo_not_empty")
    rng = np.random.default_rng(seed)
    grids, xiasha = _build_org(session, rng)
    log(f"org: {len(grids)} grids")

    # One worker per grid (一格一员); 54 party members spread over the district.
    party_idx = set(rng.choice(len(grids), size=min(PARTY_MEMBERS, len(grids)), replace=False).tolist())
    communities = {g.parent_id for g in grids}
    parent_of = {u.id: u.parent_id for u in session.exec(select(OrgUnit)).all()}
    workers: list[Worker] = []
    for i, grid in enumerate(grids):
        hire = date(2012, 6, 1) + timedelta(days=int(rng.integers(0, 365 * 8)))
        workers.append(
            Worker(
                employee_no=f"DP{i + 1:04d}",
                name=_name(rng),
                grid_id=row_id(grid.id),
                community_id=row_id(grid.parent_id),
                subdistrict_id=row_id(parent_of[grid.parent_id]),
                party_member=i in party_idx,
                hire_date=hire,
                status=WorkerStatus.ACTIVE.value,
                phone=f"1{rng.choice([3, 5, 8])}{rng.integers(0, 10)}{rng.integers(10_000_000, 99_999_999)}",
                gender=str(rng.choice(["男", "女"])),
            )
        )
    session.add_all(workers)
    session.flush()
    log(f"workers: {len(workers)} in {len(communities)} communities, {len(party_idx)} party members")

    # Accounts: the same demo password for everyone, hashed once (argon2 hashes carry their salt).
    pw = hash_password(DEMO_PASSWORD)
    # One account per administrator duty (三员分立): ``admin`` is the system administrator.
    admin = User(
        username="admin", display_name="系统管理员", password_hash=pw, role=Role.SYSADMIN.value, is_demo=True
    )
    secadmin = User(
        username="secadmin",
        display_name="安全管理员",
        password_hash=pw,
        role=Role.SECADMIN.value,
        is_demo=True,
    )
    auditor = User(
        username="auditor", display_name="审计管理员", password_hash=pw, role=Role.AUDITOR.value, is_demo=True
    )
    manager = User(
        username="manager",
        display_name="新区网格管理中心",
        password_hash=pw,
        role=Role.MANAGER.value,
        is_demo=True,
    )
    xiasha_mgr = User(
        username="xiasha",
        display_name="下沙社区网格站",
        password_hash=pw,
        role=Role.MANAGER.value,
        scope_unit_id=xiasha.id,
        is_demo=True,
    )
    session.add_all([admin, secadmin, auditor, manager, xiasha_mgr])
    session.add_all(
        [
            User(
                username=w.employee_no.lower(),
                display_name=w.name,
                password_hash=pw,
                role=Role.WORKER.value,
                worker_id=w.id,
                is_demo=True,
            )
            for w in workers
        ]
    )
    session.flush()

    listed_workers = [w for w in workers if w.community_id == xiasha.id][:2] + [
        w for w in workers if w.party_member
    ][:1]
    accounts = [  # stored in the demo_seed setting without the password (demo_accounts adds it)
        {"username": "admin", "role": "sysadmin", "name": admin.display_name},
        {"username": "secadmin", "role": "secadmin", "name": secadmin.display_name},
        {"username": "auditor", "role": "auditor", "name": auditor.display_name},
        {"username": "manager", "role": "manager", "name": manager.display_name},
        {"username": "xiasha", "role": "manager", "name": xiasha_mgr.display_name},
    ] + [{"username": w.employee_no.lower(), "role": "worker", "name": w.name} for w in listed_workers]

    ctx = DemoContext(
        session=session,
        seed=seed,
        rng=rng,
        scale=scale,
        start=date(2020, 1, 1),
        months=9,
        workers=pd.DataFrame(
            [
                {
                    "id": w.id,
                    "employee_no": w.employee_no,
                    "name": w.name,
                    "party_member": w.party_member,
                    "grid_id": w.grid_id,
                    "community_id": w.community_id,
                    "subdistrict_id": w.subdistrict_id,
                    "hire_date": w.hire_date,
                }
                for w in workers
            ]
        ),
        grids=pd.DataFrame(
            [
                {
                    "id": g.id,
                    "code": g.code,
                    "community_id": g.parent_id,
                    "subdistrict_id": parent_of[g.parent_id],
                    "lat": g.lat,
                    "lon": g.lon,
                    "households": g.households,
                }
                for g in grids
            ]
        ),
        manager_user_id=manager.id or 0,
        log=log,
        accounts=accounts,
    )
    for spec in DEMO_EXTENSIONS if extensions is None else extensions:
        log(f"seeding {spec} …")
        provided(spec)(ctx)
        session.flush()
    session.add(
        AppSetting(
            key=DEMO_SETTING,
            value=json.dumps({"seed": seed, "scale": scale, "accounts": ctx.accounts}, ensure_ascii=False),
        )
    )
    return [{**a, "password": DEMO_PASSWORD} for a in ctx.accounts]
