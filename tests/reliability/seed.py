"""Data for the reliability tests and the soak benchmark: a fielding wave (phone and web) with
invitations whose earlier pages are answered, released telephone cases, staff accounts.

Everything is written straight into the database named by ``url`` (the servers read it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.accounts.service import create_user
from participation.core.crypto import Vault
from participation.db import make_engine
from participation.settings import load_settings
from participation.surveys.models import Invitation, Response, SampleCase, Wave
from participation.surveys.service import (
    WaveInput,
    create_questionnaire,
    create_wave,
    form_of,
    transition_wave,
)
from participation.surveys.standard import example_answers, standard_definition
from participation.surveys.websurvey import hash_token, pages_of

STREETS = ("371302001", "371302002", "371302003", "371302004")
PASSWORD = "reliability-pass-1"
ANSWERS: dict[str, Any] = example_answers(
    years_lived="8", parking_order="2", road_condition="1", drainage="2", age_group="45-59"
)


@dataclass
class Field:
    """A fielding wave; the form data that submits the last page of an invitation."""

    wave_id: int
    last_page: int
    last_answers: dict[str, Any]
    case_ids: list[int] = field(default_factory=list)

    def submit_data(self, csrf: str) -> dict[str, Any]:
        """Form fields of a final submit (``_csrf_token`` included)."""
        return {"_csrf_token": csrf, "_page": str(self.last_page), "_action": "submit"} | dict(
            self.last_answers
        )


def _units(session: Session) -> None:
    from tests.fieldwork.conftest import add_units

    add_units(session, STREETS)


def make_field(url: str, env: dict[str, str], *, cases: int = 0) -> Field:
    """The standard questionnaire and a wave in the field (phone round the clock, web), with
    ``cases`` released telephone cases spread over the streets."""
    engine = make_engine(url)
    settings = load_settings(
        database_url=url,
        data_keys=env["PARTICIPATION_DATA_KEYS"],
        hash_key=env["PARTICIPATION_HASH_KEY"],
        secret_key=env["PARTICIPATION_SECRET_KEY"],
    )
    vault = Vault(settings)
    with Session(engine, expire_on_commit=False) as session:
        _units(session)
        questionnaire = create_questionnaire(session, standard_definition())
        wave = create_wave(
            session,
            WaveInput(
                name="reliability",
                questionnaire_id=questionnaire.id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 12, 31),
                modes=("phone", "web"),
            ),
        )
        assert wave.id is not None
        transition_wave(session, wave.id, "fielding", "administrator")
        stored = session.get(Wave, wave.id)
        assert stored is not None
        stored.target_per_street = 100000
        stored.settings = {
            **(stored.settings or {}),
            "fieldwork": {"call_start": "00:00", "call_end": "00:00", "claim_minutes": 60},
        }
        session.add(stored)
        pages = pages_of(form_of(questionnaire))
        last = {i.name for i in pages[-1]}
        out = Field(wave.id, len(pages) - 1, {k: v for k, v in ANSWERS.items() if k in last})
        for n in range(cases):
            phone = f"+86139{n:08d}"
            row = SampleCase(
                wave_id=wave.id,
                street_code=STREETS[n % len(STREETS)],
                phone_enc=vault.encrypt(phone),
                phone_hash=vault.keyed_hash(phone),
                released=True,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            out.case_ids.append(row.id)
        session.commit()
    engine.dispose()
    return out


def invitations(url: str, fielded: Field, count: int) -> list[str]:
    """``count`` invitations of the wave whose earlier pages are answered; their raw tokens."""
    engine = make_engine(url)
    earlier = {k: v for k, v in ANSWERS.items() if k not in fielded.last_answers}
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    with Session(engine) as session:
        session.execute(
            insert(Invitation),
            [
                {
                    "wave_id": fielded.wave_id,
                    "street_code": STREETS[k % len(STREETS)],
                    "token_hash": hash_token(t),
                    "status": "started",
                    "partial_answers": earlier,
                    "locale": "zh_CN",
                }
                for k, t in enumerate(tokens)
            ],
        )
        session.commit()
    engine.dispose()
    return tokens


def users(url: str, role: Role, count: int, prefix: str, unit_code: str | None = None) -> list[str]:
    """``count`` accounts of ``role`` (password :data:`PASSWORD`); their usernames."""
    engine = make_engine(url)
    names = [f"{prefix}{i}" for i in range(count)]
    with Session(engine) as session:
        for name in names:
            create_user(session, username=name, password=PASSWORD, role=role, unit_code=unit_code)
        session.commit()
    engine.dispose()
    return names


def responses_per_token(url: str, tokens: list[str]) -> dict[str, int]:
    """How many responses each token's invitation holds."""
    engine = make_engine(url)
    by_hash = {hash_token(t): t for t in tokens}
    with Session(engine) as session:
        rows = session.exec(
            select(Invitation.token_hash, func.count(col(Response.id)))
            .join(Response, col(Response.invitation_id) == Invitation.id, isouter=True)
            .where(col(Invitation.token_hash).in_(list(by_hash)))
            .group_by(col(Invitation.token_hash))
        ).all()
    engine.dispose()
    return {by_hash[h]: int(n) for h, n in rows}


def reports(
    url: str,
    env: dict[str, str],
    kinds: list[tuple[str, str]],
    *,
    phone: str = "13812345678",
) -> tuple[list[int], int]:
    """Reports filed by one resident (``phone``) and verified as true by a street official:
    one per (category, severity) in ``kinds``, 2 km apart so none is a duplicate. Their ids
    and the official's id."""
    from participation.reports import service as reports_service

    engine = make_engine(url)
    settings = load_settings(
        database_url=url,
        data_keys=env["PARTICIPATION_DATA_KEYS"],
        hash_key=env["PARTICIPATION_HASH_KEY"],
        secret_key=env["PARTICIPATION_SECRET_KEY"],
    )
    ids: list[int] = []
    with Session(engine, expire_on_commit=False) as session:
        _units(session)
        reports_service.ensure_catalogue(session)
        official = create_user(
            session,
            username=f"verifier{secrets.token_hex(3)}",
            password=PASSWORD,
            role=Role.OFFICIAL,
            unit_code=STREETS[1],
        )
        session.commit()
        for k, (category, severity) in enumerate(kinds):
            report = reports_service.file_report(
                session,
                settings,
                reports_service.ReportInput(
                    category_code=category,
                    description="路边问题",
                    lat=35.06 + 0.018 * k,
                    lon=118.343,
                    street_code=STREETS[1],
                    phone=phone,
                ),
            )
            session.commit()
            reports_service.verify(session, report, official.id or 0, "true", severity=severity)
            session.commit()
            assert report.id is not None
            ids.append(report.id)
        assert official.id is not None
        official_id = official.id
    engine.dispose()
    return ids, official_id


def catalogue(url: str) -> None:
    """The report categories and tariff (for Open311 filings)."""
    from participation.reports import service as reports_service

    engine = make_engine(url)
    with Session(engine) as session:
        _units(session)
        reports_service.ensure_catalogue(session)
        session.commit()
    engine.dispose()
