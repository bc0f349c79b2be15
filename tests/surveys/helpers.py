"""Shared helpers of the surveys tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from participation.surveys.models import Wave
from participation.surveys.service import (
    WaveInput,
    create_questionnaire,
    create_wave,
    transition_wave,
)
from participation.surveys.standard import example_answers, standard_definition

STREET = "371302002"  # 银雀山街道


def fielding_wave(session: Session, modes: tuple[str, ...] = ("phone", "web", "open_link")) -> Wave:
    """The standard questionnaire and a city wave in the field."""
    questionnaire = create_questionnaire(session, standard_definition())
    wave = create_wave(
        session,
        WaveInput(
            name="2026年第1期",
            questionnaire_id=questionnaire.id,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 28),
            modes=modes,
        ),
    )
    assert wave.id is not None
    transition_wave(session, wave.id, "fielding", "administrator")
    session.commit()
    return wave


def full_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid set of answers to the standard questionnaire."""
    return example_answers(**overrides)
