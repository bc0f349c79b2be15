"""Demo data of the surveys domain: the standard questionnaire, six bimonthly city waves of
2026 with synthetic responses (about 40 per street), a provincial wave of imported results,
telephone frames for every street, and the computed estimates.

Synthetic answers: each street has a lasting level (county effect + street effect) and a trend
over the year; each respondent a personal level; each rated item an item effect and noise. The
latent 0–100 value is cut into 满意 / 基本满意 / 一般 / 不满意 (a few 不了解). Older residents are
over-represented among respondents (as on the telephone), so raking matters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session, select

from participation.core.crypto import Vault
from participation.geography.models import AGE_GROUPS, SEXES, PopulationCell
from participation.surveys.estimates import compute_wave_results
from participation.surveys.models import FrameNumber, Response, WaveResult, WaveSource
from participation.surveys.questionnaire import QuestionnaireForm
from participation.surveys.service import (
    WaveInput,
    create_questionnaire,
    create_wave,
    street_populations,
    transition_wave,
)
from participation.surveys.standard import standard_definition

PER_STREET = 40
PERIODS = [
    ("2026年第1期（1–2月）", date(2026, 1, 1), date(2026, 2, 28)),
    ("2026年第2期（3–4月）", date(2026, 3, 1), date(2026, 4, 30)),
    ("2026年第3期（5–6月）", date(2026, 5, 1), date(2026, 6, 30)),
    ("2026年第4期（7–8月）", date(2026, 7, 1), date(2026, 8, 31)),
    ("2026年第5期（9–10月）", date(2026, 9, 1), date(2026, 10, 31)),
    ("2026年第6期（11–12月）", date(2026, 11, 1), date(2026, 12, 31)),
]
# Item effects (points) on the latent scale: some services are rated lower than others.
ITEM_EFFECTS = {
    "street_cleaning": 4.0,
    "waste_collection": 1.0,
    "toilet_cleanliness": -6.0,
    "street_vending": -8.0,
    "signs_ads": -1.0,
    "parking_order": -10.0,
    "road_condition": -3.0,
    "street_lighting": 5.0,
    "drainage": -4.0,
    "parks": 6.0,
    "street_trees": 4.0,
    "enforcement_conduct": -2.0,
    "hotline_handling": -5.0,
}
COMMENTS = [
    "希望加强夜间占道经营管理",
    "小区周边停车太乱",
    "公厕卫生有改善",
    "路灯有几盏不亮",
    "垃圾清运及时，点赞",
    "",
]


def _category(latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cats = np.where(
        latent >= 86, "1", np.where(latent >= 70, "2", np.where(latent >= 55, "3", "4"))
    )
    dont_know = rng.random(latent.shape) < 0.04
    return np.where(dont_know, "9", cats)


def _street_cells(session: Session) -> dict[str, np.ndarray]:
    """Population shares of the 8 sex × age cells per street."""
    shares: dict[str, np.ndarray] = {}
    order = [(s, a) for s in SEXES for a in AGE_GROUPS]
    index = {k: i for i, k in enumerate(order)}
    raw: dict[str, np.ndarray] = {}
    for cell in session.exec(select(PopulationCell)):
        vec = raw.setdefault(cell.unit_code, np.zeros(len(order)))
        vec[index[(cell.sex, cell.age_group)]] = cell.population
    for code, vec in raw.items():
        shares[code] = vec / vec.sum() if vec.sum() else np.full(len(order), 1 / len(order))
    return shares


def _frames(session: Session, vault: Vault, streets: list[str], rng: np.random.Generator) -> int:
    """Synthetic telephone frames: 40 mobile and 20 landline numbers per street."""
    rows: list[dict[str, Any]] = []
    prefixes = ["135", "136", "137", "138", "139", "150", "151", "158", "187", "188"]
    for s, code in enumerate(streets):
        for k in range(40):
            phone = f"+86{prefixes[k % 10]}{s:04d}{k:04d}"
            rows.append({"street_code": code, "frame_type": "mobile", "phone": phone})
        for k in range(20):
            phone = f"+86539{7 + k % 2}{s:03d}{k:03d}"
            rows.append({"street_code": code, "frame_type": "landline", "phone": phone})
    session.execute(
        insert(FrameNumber),
        [
            {
                "street_code": r["street_code"],
                "frame_type": r["frame_type"],
                "phone_enc": vault.encrypt(r["phone"]),
                "phone_hash": vault.keyed_hash(r["phone"]),
                "do_not_call": False,
            }
            for r in rows
        ],
    )
    return len(rows)


def _responses(
    form: QuestionnaireForm,
    wave_id: int,
    wave_no: int,
    period: tuple[date, date],
    streets: list[str],
    street_level: dict[str, float],
    cells: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    n = PER_STREET * len(streets)
    street_of = np.repeat(np.array(streets), PER_STREET)
    level = np.array([street_level[s] for s in street_of])
    # respondents: older people answer the phone more often (non-response bias)
    bias = np.tile(np.array([0.7, 0.9, 1.1, 1.4]), 2)
    sex_age = np.empty(n, dtype=int)
    for i, code in enumerate(streets):
        p = cells[code] * bias
        sex_age[i * PER_STREET : (i + 1) * PER_STREET] = rng.choice(8, PER_STREET, p=p / p.sum())
    sexes = np.array(SEXES)[sex_age // 4]
    ages = np.array(AGE_GROUPS)[sex_age % 4]
    age_effect = np.array([-3.0, -1.0, 1.0, 4.0])[sex_age % 4]
    person = rng.normal(0, 8, n)
    trend = 1.3 * wave_no
    base = 81.0 + level + trend + person + age_effect
    answers: dict[str, np.ndarray] = {}
    for item, effect in ITEM_EFFECTS.items():
        answers[item] = _category(base + effect + rng.normal(0, 11, n), rng)
    overall = _category(base + rng.normal(0, 6, n), rng)
    toilet_used = np.where(rng.random(n) < 0.35, "1", "2")
    hotline_used = np.where(rng.random(n) < 0.12, "1", "2")
    other_phone = np.where(rng.random(n) < 0.55, "1", "2")
    years = rng.integers(0, 60, n)
    mode_web = rng.random(n) < 0.15
    frame_landline = (~mode_web) & (rng.random(n) < 0.35)
    comment_pick = rng.integers(0, len(COMMENTS), n)
    start = datetime.combine(period[0], datetime.min.time(), tzinfo=UTC)
    span = (period[1] - period[0]).days
    offsets = rng.integers(0, max(span, 1) * 24 * 3600, n)
    durations = rng.normal(330, 60, n).clip(120, 900)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        a: dict[str, Any] = {
            "resident": "1",
            "years_lived": int(years[i]),
            "toilet_used": str(toilet_used[i]),
            "hotline_used": str(hotline_used[i]),
            "overall": str(overall[i]),
            "sex": str(sexes[i]),
            "age_group": str(ages[i]),
            "other_phone": str(other_phone[i]),
        }
        for item in ITEM_EFFECTS:
            if item == "toilet_cleanliness" and a["toilet_used"] != "1":
                continue
            if item == "hotline_handling" and a["hotline_used"] != "1":
                continue
            a[item] = str(answers[item][i])
        if a["hotline_used"] == "1":
            a["hotline_issues"] = ["sanitation"] if i % 2 else ["vending", "noise"]
        if COMMENTS[comment_pick[i]]:
            a["comment"] = COMMENTS[comment_pick[i]]
        result = form.score(a)
        done = start + timedelta(seconds=int(offsets[i]))
        rows.append(
            {
                "wave_id": wave_id,
                "street_code": str(street_of[i]),
                "mode": "web" if mode_web[i] else "phone",
                "answers": a,
                "complete": True,
                "sex": a["sex"],
                "age_group": a["age_group"],
                "frame_type": "landline" if frame_landline[i] else "mobile",
                "score": result.score,
                "satisfied": result.satisfied,
                "started_at": done - timedelta(seconds=float(durations[i])),
                "completed_at": done,
                "duration_seconds": float(durations[i]),
            }
        )
    return rows


def build_demo(session: Session, ctx: Any) -> None:
    """Add the surveys demo data (see the module docstring)."""
    rng: np.random.Generator = ctx.rng
    questionnaire = create_questionnaire(session, standard_definition())
    form = QuestionnaireForm(questionnaire.definition)
    populations = street_populations(session)
    streets = sorted(populations)
    cells = _street_cells(session)
    counties = sorted({s[:6] for s in streets})
    county_effect = dict(zip(counties, rng.normal(0, 3, len(counties)), strict=True))
    street_level = {s: county_effect[s[:6]] + float(rng.normal(0, 5)) for s in streets}
    frames = _frames(session, Vault(ctx.settings), streets, rng)
    total = 0
    for number, (name, start, end) in enumerate(PERIODS):
        wave = create_wave(
            session,
            WaveInput(
                name=name,
                questionnaire_id=questionnaire.id,
                period_start=start,
                period_end=end,
                field_start=start + timedelta(days=20),
                field_end=end - timedelta(days=5),
                modes=("phone", "web"),
                target_per_street=PER_STREET,
            ),
        )
        assert wave.id is not None
        transition_wave(session, wave.id, "fielding", "administrator")
        rows = _responses(form, wave.id, number, (start, end), streets, street_level, cells, rng)
        session.execute(insert(Response), rows)
        transition_wave(session, wave.id, "closed", "administrator")
        compute_wave_results(session, wave.id)
        if number < len(PERIODS) - 1:
            transition_wave(session, wave.id, "published", "administrator")
        total += len(rows)
    # the provincial assessment of the first half-year, imported as results
    provincial = create_wave(
        session,
        WaveInput(
            name="2026年上半年山东省城市管理满意度测评",
            questionnaire_id=None,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            source=WaveSource.PROVINCIAL.value,
            modes=("phone",),
            target_per_street=20,
        ),
    )
    assert provincial.id is not None
    results: list[dict[str, Any]] = []
    z = 1.959963984540054
    for code in streets:
        score = float(np.clip(76 + street_level[code] + rng.normal(0, 3), 40, 99))
        se = float(rng.uniform(2.5, 4.0))
        results.append(
            {
                "wave_id": provincial.id,
                "unit_code": code,
                "level": "street",
                "n": 20,
                "mean": round(score, 2),
                "se": round(se, 2),
                "ci_low": round(score - z * se, 2),
                "ci_high": round(min(100.0, score + z * se), 2),
                "dimensions": {},
                "method": "imported",
                "model_based": False,
            }
        )
    for county in counties:
        members = [r["mean"] for r in results if r["unit_code"].startswith(county)]
        results.append(
            {
                "wave_id": provincial.id,
                "unit_code": county,
                "level": "county",
                "n": 20 * len(members),
                "mean": round(float(np.mean(members)), 2),
                "se": None,
                "dimensions": {},
                "method": "imported",
                "model_based": False,
            }
        )
    session.execute(insert(WaveResult), results)
    for status in ("fielding", "closed", "published"):
        transition_wave(session, provincial.id, status, "administrator")
    session.flush()
    ctx.echo(
        f"  surveys: questionnaire v1, {len(PERIODS)} city waves ({total} responses), "
        f"1 provincial wave, {frames} frame numbers, estimates computed"
    )
