"""A small hand-made district for scoring tests (frames shaped like the cross-area contracts)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from evaluation.scoring.compute import VALUE_COLS, ScoringInputs
from evaluation.scoring.scheme import Scheme

REGISTRY = pd.DataFrame(
    [
        {
            "code": "coll",
            "name_zh": "采集率",
            "name_en": "Collection",
            "unit": "%",
            "direction": "higher",
            "kind": "ratio",
        },
        {
            "code": "rework",
            "name_zh": "返工率",
            "name_en": "Rework",
            "unit": "%",
            "direction": "lower",
            "kind": "ratio",
        },
        {
            "code": "acc",
            "name_zh": "准确率",
            "name_en": "Accuracy",
            "unit": "%",
            "direction": "higher",
            "kind": "ratio",
        },
        {
            "code": "haz",
            "name_zh": "隐患上报数",
            "name_en": "Hazards",
            "unit": "count",
            "direction": "higher",
            "kind": "count",
        },
    ]
)

GRADES = [
    {"code": "excellent", "name_zh": "优秀", "name_en": "Excellent", "min_score": 90, "max_share": 0.34},
    {"code": "good", "name_zh": "良好", "name_en": "Good", "min_score": 80},
    {"code": "pass", "name_zh": "合格", "name_en": "Pass", "min_score": 60},
    {"code": "fail", "name_zh": "不合格", "name_en": "Fail", "min_score": 0},
]


def scheme_dict(**over) -> dict:
    d = {
        "code": "t",
        "name_zh": "测试",
        "name_en": "Test",
        "dimensions": [
            {
                "code": "d1",
                "name_zh": "采集",
                "name_en": "Collection",
                "components": [
                    {
                        "code": "c_coll",
                        "name_zh": "采集率",
                        "name_en": "Collection",
                        "metric": "coll",
                        "weight": 40,
                        "normalisation": {"method": "linear", "floor": 60, "target": 100},
                    },
                    {
                        "code": "c_acc",
                        "name_zh": "准确率",
                        "name_en": "Accuracy",
                        "metric": "acc",
                        "weight": 20,
                        "normalisation": {"method": "percentile", "cohort": "community"},
                    },
                ],
            },
            {
                "code": "d2",
                "name_zh": "办理",
                "name_en": "Handling",
                "components": [
                    {
                        "code": "c_rework",
                        "name_zh": "返工率",
                        "name_en": "Rework",
                        "metric": "rework",
                        "weight": 20,
                        "normalisation": {
                            "method": "bands",
                            "bands": [{"threshold": 2, "score": 1.0}, {"threshold": 5, "score": 0.5}],
                        },
                    },
                    {
                        "code": "c_haz",
                        "name_zh": "隐患",
                        "name_en": "Hazards",
                        "metric": "haz",
                        "weight": 20,
                        "fairness": "per_100_households",
                        "normalisation": {"method": "linear", "floor": 0, "target": 10},
                    },
                ],
            },
        ],
        "adjustments": [
            {
                "code": "falsification",
                "name_zh": "弄虚作假",
                "name_en": "Falsification",
                "points_per_case": -5,
            },
            {"code": "commendation", "name_zh": "表彰", "name_en": "Commendation", "points_per_case": 2},
        ],
        "bonus_cap": 5,
        "grades": GRADES,
    }
    d.update(over)
    return d


def scheme(**over) -> Scheme:
    return Scheme.from_dict(scheme_dict(**over), version=1)


def single_scheme(**over) -> Scheme:
    """One linear component (collection 60 → 100) carrying all the weight: easy roll-up arithmetic."""
    d = scheme_dict(**over)
    d["dimensions"] = [
        {
            "code": "d1",
            "name_zh": "采集",
            "name_en": "C",
            "components": [
                {
                    "code": "c_coll",
                    "name_zh": "采集率",
                    "name_en": "Collection",
                    "metric": "coll",
                    "weight": 100,
                    "normalisation": {"method": "linear", "floor": 60, "target": 100},
                }
            ],
        }
    ]
    return Scheme.from_dict(d, version=1)


WORKERS = pd.DataFrame(
    [
        # worker 1, 2 in community 10; 3, 4 in community 20; all in subdistrict 1.
        {
            "worker_id": 1,
            "name": "甲一",
            "community_id": 10,
            "subdistrict_id": 1,
            "party_member": True,
            "hire_date": date(2018, 1, 1),
            "households": 200,
        },
        {
            "worker_id": 2,
            "name": "甲二",
            "community_id": 10,
            "subdistrict_id": 1,
            "party_member": False,
            "hire_date": date(2018, 1, 1),
            "households": 400,
        },
        {
            "worker_id": 3,
            "name": "乙一",
            "community_id": 20,
            "subdistrict_id": 1,
            "party_member": False,
            "hire_date": date(2020, 6, 16),
            "households": 100,
        },  # joined mid-June: 15 of 30 days
        {
            "worker_id": 4,
            "name": "乙二",
            "community_id": 20,
            "subdistrict_id": 1,
            "party_member": False,
            "hire_date": date(2018, 1, 1),
            "households": 300,
        },  # no data at all
    ]
)


def v(worker: int, period: str, metric: str, num: float, den: float | None) -> dict:
    return {"worker_id": worker, "period": period, "metric": metric, "numerator": num, "denominator": den}


JUNE = [
    v(1, "2020-06", "coll", 45, 50),
    v(1, "2020-06", "rework", 1, 50),
    v(1, "2020-06", "acc", 19, 20),
    v(1, "2020-06", "haz", 16, None),
    # two imports for worker 2 in one month: Σ40/Σ50 = 80%, not the mean of 75% and 100%
    v(2, "2020-06", "coll", 30, 40),
    v(2, "2020-06", "coll", 10, 10),
    v(2, "2020-06", "rework", 4, 100),
    v(2, "2020-06", "acc", 18, 20),
    v(2, "2020-06", "haz", 40, None),
    v(3, "2020-06", "coll", 28, 40),
    v(3, "2020-06", "acc", 17, 20),
    v(3, "2020-06", "haz", 3, None),
]

ADJUSTMENTS = pd.DataFrame(
    [
        {"worker_id": 1, "period": "2020-06", "code": "commendation", "cases": 3},
        {"worker_id": 2, "period": "2020-06", "code": "falsification", "cases": 1},
    ]
)


def inputs(
    values: list[dict] | None = None,
    adjustments: pd.DataFrame | None = None,
    workers: pd.DataFrame | None = None,
) -> ScoringInputs:
    return ScoringInputs(
        workers=(WORKERS if workers is None else workers).copy(),
        values=pd.DataFrame(JUNE if values is None else values, columns=VALUE_COLS),
        registry=REGISTRY.copy(),
        adjustments=(
            pd.DataFrame(columns=["worker_id", "period", "code", "cases"])
            if adjustments is None
            else adjustments
        ),
    )
