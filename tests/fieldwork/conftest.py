"""Fixtures of the fieldwork tests: a small questionnaire with skip logic, a wave in the field
and released telephone cases, created through the tables (never the demo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from participation.core.crypto import Vault
from participation.geography.models import Unit
from participation.settings import Settings
from participation.surveys.models import Questionnaire, SampleCase, Wave

STREETS = ("371302001", "371302002", "371302003", "371302004")


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh_CN": zh, "en": en}


SAT = {
    "choices": [
        {"value": "1", "label": _t("满意", "Satisfied"), "score": 100, "satisfied": True},
        {"value": "2", "label": _t("基本满意", "Fairly satisfied"), "score": 80, "satisfied": True},
        {
            "value": "3",
            "label": _t("不太满意", "Not very satisfied"),
            "score": 40,
            "satisfied": False,
        },
        {"value": "4", "label": _t("不满意", "Dissatisfied"), "score": 0, "satisfied": False},
        {"value": "9", "label": _t("不了解", "Don't know"), "score": None},
    ]
}


def definition() -> dict[str, Any]:
    """A short questionnaire: screening, two rated items, a skip, sex and age group."""
    return {
        "languages": ["zh_CN", "en"],
        "scales": {"satisfaction": SAT},
        "dimensions": {},
        "items": [
            {"name": "intro", "type": "note", "label": _t("您好，这是满意度调查。", "Hello.")},
            {
                "name": "resident",
                "type": "select_one",
                "label": _t("您是否居住在本街道？", "Do you live in this street?"),
                "choices": [
                    {"value": "1", "label": _t("是", "Yes"), "eligible": True},
                    {"value": "2", "label": _t("否", "No"), "eligible": False},
                ],
                "required": True,
                "screening": True,
            },
            {
                "name": "cleaning",
                "type": "select_one",
                "scale": "satisfaction",
                "label": _t("道路清扫", "Street cleaning"),
                "required": True,
            },
            {
                "name": "toilet_used",
                "type": "select_one",
                "label": _t("是否使用过公厕？", "Used a public toilet?"),
                "choices": [
                    {"value": "1", "label": _t("是", "Yes")},
                    {"value": "2", "label": _t("否", "No")},
                ],
                "required": True,
            },
            {
                "name": "toilet",
                "type": "select_one",
                "scale": "satisfaction",
                "label": _t("公厕管理", "Public toilets"),
                "required": True,
                "relevant": "${toilet_used} = '1'",
            },
            {
                "name": "lighting",
                "type": "select_one",
                "scale": "satisfaction",
                "label": _t("路灯照明", "Street lighting"),
                "required": True,
            },
            {
                "name": "sex",
                "type": "select_one",
                "label": _t("性别", "Sex"),
                "required": True,
                "choices": [
                    {"value": "male", "label": _t("男", "Male")},
                    {"value": "female", "label": _t("女", "Female")},
                ],
            },
            {
                "name": "age_group",
                "type": "select_one",
                "label": _t("年龄段", "Age group"),
                "required": True,
                "choices": [
                    {"value": g, "label": _t(g, g)} for g in ("18-29", "30-44", "45-59", "60+")
                ],
            },
        ],
        "settings": {"form_id": "fw_test", "title": _t("测试问卷", "Test questionnaire")},
    }


@dataclass
class FieldWave:
    """A wave in the field with its cases."""

    wave_id: int
    questionnaire_id: int
    case_ids: list[int] = field(default_factory=list)
    phones: dict[int, str] = field(default_factory=dict)


def add_units(session: Session, streets: tuple[str, ...] = STREETS) -> None:
    """The minimal unit tree above ``streets``."""
    if session.get(Unit, "37") is None:
        session.add(Unit(code="37", name="山东省", level="province"))
        session.add(Unit(code="3713", name="临沂市", level="city", parent_code="37"))
        session.add(Unit(code="371302", name="兰山区", level="county", parent_code="3713"))
        session.flush()
    for i, code in enumerate(streets):
        if session.get(Unit, code) is None:
            session.add(
                Unit(code=code, name=f"测试街道{i + 1}", level="street", parent_code="371302")
            )
    session.flush()


def make_field(
    session: Session,
    settings: Settings,
    *,
    per_street: int = 5,
    streets: tuple[str, ...] = STREETS,
    target: int = 10,
    fieldwork: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> FieldWave:
    """A fielding wave with ``per_street`` released cases in each street (committed)."""
    add_units(session, streets)
    questionnaire = Questionnaire(
        code="fw_test", title_zh="测试问卷", definition=definition(), locked=True
    )
    session.add(questionnaire)
    session.flush()
    assert questionnaire.id is not None
    wave = Wave(
        name="测试波次",
        questionnaire_id=questionnaire.id,
        period_start=date(2027, 1, 1),
        period_end=date(2027, 2, 28),
        modes=["phone"],
        status="fielding",
        target_per_street=target,
        settings={"fieldwork": fieldwork or {}},
    )
    session.add(wave)
    session.flush()
    assert wave.id is not None
    vault = Vault(settings)
    out = FieldWave(wave_id=wave.id, questionnaire_id=questionnaire.id)
    n = 0
    for code in streets:
        for _ in range(per_street):
            n += 1
            phone = f"+86138{n:08d}"
            case = SampleCase(
                wave_id=wave.id,
                street_code=code,
                phone_enc=vault.encrypt(phone),
                phone_hash=vault.keyed_hash(phone),
                released=True,
            )
            session.add(case)
            session.flush()
            assert case.id is not None
            out.case_ids.append(case.id)
            out.phones[case.id] = phone
    session.commit()
    return out


@pytest.fixture
def field_wave(session: Session, settings: Settings) -> FieldWave:
    """A fielding wave with 5 released cases in each of 4 streets."""
    return make_field(session, settings)
