"""The scoring scheme as a typed model: dimensions → components → one metric each, with weights,
a normalisation per component, deductions/bonuses, grade bands and the period roll-up rule.

The scheme is stored as JSON (``ScoringScheme.definition``, one row per version) and parsed here;
``Scheme.from_dict`` is the one place a definition is validated, so a bad edit on the admin page and
a bad file both get the same message.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import GridwiseError
from core.settings import DATA_DIR

DEFAULT_PATH = DATA_DIR / "scoring_default.json"

METHODS = ("bands", "linear", "percentile")
COHORTS = ("community", "subdistrict", "all")
FAIRNESS = (None, "per_100_households", "expected_volume")
YEAR_RULES = ("mean_of_quarters", "half_40_year_end_60")
DIRECTIONS = ("higher", "lower")


class SchemeError(GridwiseError):
    """A scheme definition that cannot be used, with what to fix (``score.err.scheme.…``)."""

    prefix = "score.err.scheme."


@dataclass(frozen=True)
class Band:
    """``threshold`` in the metric's unit; ``score`` the share of the weight (0–1) earned at it.

    For a higher-is-better metric a value ≥ threshold earns the band; for lower-is-better, ≤.
    """

    threshold: float
    score: float


@dataclass(frozen=True)
class Normalisation:
    method: str = "linear"
    # linear: 0 at ``floor``, full marks at ``target`` (both in the metric's unit; for a
    # lower-is-better metric target < floor, e.g. rework 2% → full, 20% → nothing).
    target: float | None = None
    floor: float | None = None
    bands: tuple[Band, ...] = ()
    cohort: str = "community"  # percentile only

    def describe(self) -> str:
        if self.method == "linear":
            return f"linear {self.floor:g} → {self.target:g}"
        if self.method == "bands":
            return "bands " + ", ".join(f"{b.threshold:g}:{b.score:g}" for b in self.bands)
        return f"percentile in {self.cohort}"


@dataclass(frozen=True)
class Component:
    code: str
    name_zh: str
    name_en: str
    metric: str  # metric registry code (field metric or training figure)
    weight: float
    normalisation: Normalisation
    # None = the metric's own value; per_100_households / expected_volume only for count metrics.
    fairness: str | None = None


@dataclass(frozen=True)
class Dimension:
    code: str
    name_zh: str
    name_en: str
    components: tuple[Component, ...]

    @property
    def weight(self) -> float:
        return sum(c.weight for c in self.components)


@dataclass(frozen=True)
class Adjustment:
    """A deduction (points < 0) or bonus (points > 0) per case; ``cap`` bounds its total (absolute)."""

    code: str
    name_zh: str
    name_en: str
    points_per_case: float
    cap: float | None = None
    veto: bool = False  # one case forces the lowest grade (一票否决)


@dataclass(frozen=True)
class GradeBand:
    code: str
    name_zh: str
    name_en: str
    min_score: float
    max_share: float | None = None  # e.g. 优秀 at most 20% of those scored


@dataclass(frozen=True)
class Scheme:
    code: str
    name_zh: str
    name_en: str
    dimensions: tuple[Dimension, ...]
    adjustments: tuple[Adjustment, ...] = ()
    bonus_cap: float = 5.0  # all bonuses together
    grades: tuple[GradeBand, ...] = ()
    year_rule: str = "mean_of_quarters"
    # A card whose data covers less than this share of the weight cannot earn a capped (评优) grade
    # such as 优秀: its total rests on too few components (数据不全不得评优).
    min_coverage: float = 0.6
    version: int = 0  # filled from the stored row; 0 = not stored
    notes: str = ""

    # -- views ---------------------------------------------------------------------------------
    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(c for d in self.dimensions for c in d.components)

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.components)

    def component_table(self) -> list[dict[str, Any]]:
        """One flat row per component (for tables, and for the vectorised scorer)."""
        rows = []
        for d in self.dimensions:
            for c in d.components:
                n = c.normalisation
                rows.append(
                    {
                        "dimension": d.code,
                        "dimension_zh": d.name_zh,
                        "dimension_en": d.name_en,
                        "component": c.code,
                        "name_zh": c.name_zh,
                        "name_en": c.name_en,
                        "metric": c.metric,
                        "weight": float(c.weight),
                        "method": n.method,
                        "target": n.target,
                        "floor": n.floor,
                        "cohort": n.cohort,
                        "fairness": c.fairness,
                        "rule": n.describe(),
                    }
                )
        return rows

    def grade_for(self, score: float) -> str:
        for g in sorted(self.grades, key=lambda g: -g.min_score):
            if score >= g.min_score:
                return g.code
        return self.grades[-1].code if self.grades else ""

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("version")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, registry_directions: dict[str, str] | None = None, version: int = 0
    ) -> Scheme:
        """Parse and validate; ``registry_directions`` (metric → higher/lower) checks that linear and
        band rules point the way the metric improves."""
        try:
            dims = tuple(
                Dimension(
                    d["code"],
                    d["name_zh"],
                    d["name_en"],
                    tuple(
                        Component(
                            c["code"],
                            c["name_zh"],
                            c["name_en"],
                            c["metric"],
                            float(c["weight"]),
                            _norm(c.get("normalisation") or {}),
                            c.get("fairness"),
                        )
                        for c in d["components"]
                    ),
                )
                for d in data["dimensions"]
            )
            scheme = cls(
                code=data["code"],
                name_zh=data["name_zh"],
                name_en=data["name_en"],
                dimensions=dims,
                adjustments=tuple(
                    Adjustment(
                        a["code"],
                        a["name_zh"],
                        a["name_en"],
                        float(a["points_per_case"]),
                        None if a.get("cap") is None else float(a["cap"]),
                        bool(a.get("veto", False)),
                    )
                    for a in data.get("adjustments", [])
                ),
                bonus_cap=float(data.get("bonus_cap", 5.0)),
                grades=tuple(
                    GradeBand(
                        g["code"],
                        g["name_zh"],
                        g["name_en"],
                        float(g["min_score"]),
                        None if g.get("max_share") is None else float(g["max_share"]),
                    )
                    for g in data.get("grades", [])
                ),
                year_rule=data.get("year_rule", "mean_of_quarters"),
                min_coverage=float(data.get("min_coverage", 0.6)),
                notes=data.get("notes", ""),
                version=version,
            )
        except KeyError as exc:
            raise SchemeError("missing_field", field=exc.args[0]) from exc
        except (TypeError, ValueError) as exc:
            if isinstance(exc, SchemeError):
                raise
            raise SchemeError("malformed", detail=str(exc)) from exc
        scheme.validate(registry_directions)
        return scheme

    @classmethod
    def from_json(cls, text: str, **kw: Any) -> Scheme:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemeError("json", line=exc.lineno, col=exc.colno, msg=exc.msg) from exc
        return cls.from_dict(data, **kw)

    def validate(self, registry_directions: dict[str, str] | None = None) -> None:
        comps = self.components
        if not comps:
            raise SchemeError("no_components")
        codes = [c.code for c in comps]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise SchemeError("duplicate_codes", codes=", ".join(sorted(dup)))
        if abs(self.total_weight - 100) > 1e-6:
            raise SchemeError("weights_sum", total=f"{self.total_weight:g}")
        for c in comps:
            n = c.normalisation
            if c.weight <= 0:
                raise SchemeError("weight_positive", code=c.code)
            if n.method not in METHODS:
                raise SchemeError("method", code=c.code, methods=", ".join(METHODS), method=n.method)
            if c.fairness not in FAIRNESS:
                raise SchemeError("fairness", code=c.code, choices=", ".join(str(f) for f in FAIRNESS[1:]))
            direction = (registry_directions or {}).get(c.metric)
            if registry_directions is not None and direction is None:
                raise SchemeError("unknown_metric", code=c.code, metric=c.metric)
            if n.method == "linear":
                if n.target is None or n.floor is None or n.target == n.floor:
                    raise SchemeError("linear_ends", code=c.code)
                if direction == "higher" and n.target < n.floor:
                    raise SchemeError("higher_target", code=c.code, metric=c.metric)
                if direction == "lower" and n.target > n.floor:
                    raise SchemeError("lower_target", code=c.code, metric=c.metric)
            elif n.method == "bands":
                if not n.bands:
                    raise SchemeError("bands_empty", code=c.code)
                if any(not 0 <= b.score <= 1 for b in n.bands):
                    raise SchemeError("band_score", code=c.code)
            elif n.cohort not in COHORTS:
                raise SchemeError("cohort", code=c.code, cohorts=", ".join(COHORTS))
        if self.year_rule not in YEAR_RULES:
            raise SchemeError("year_rule", rules=", ".join(YEAR_RULES))
        if not self.grades:
            raise SchemeError("no_grades")
        for g in self.grades:
            if g.max_share is not None and not 0 < g.max_share <= 1:
                raise SchemeError("grade_cap", grade=g.code)
        if not 0 <= self.min_coverage <= 1:
            raise SchemeError("min_coverage")
        if self.bonus_cap < 0:
            raise SchemeError("bonus_cap")


def _norm(d: dict[str, Any]) -> Normalisation:
    return Normalisation(
        method=d.get("method", "linear"),
        target=None if d.get("target") is None else float(d["target"]),
        floor=None if d.get("floor") is None else float(d["floor"]),
        bands=tuple(Band(float(b["threshold"]), float(b["score"])) for b in d.get("bands", [])),
        cohort=d.get("cohort", "community"),
    )


def default_scheme() -> Scheme:
    """The shipped default (DOMAIN.md §1.3), unversioned."""
    return Scheme.from_json(DEFAULT_PATH.read_text(encoding="utf-8"))
