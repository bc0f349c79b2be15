"""Questionnaires and waves: versions, locking, the wave life cycle and write protection.

Other domains (fieldwork) call :func:`ensure_wave_writable` before writing cases or responses
of a wave: a closed or published wave is read-only (409).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from participation.accounts.roles import Role
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.geography.models import Level, PopulationCell, Unit
from participation.surveys.allocation import METHODS, AllocationPlan, plan_allocation
from participation.surveys.models import Mode, Questionnaire, Wave, WaveSource, WaveStatus
from participation.surveys.questionnaire import QuestionnaireForm, pick
from participation.surveys.xlsform import read_xlsform, write_xlsform

STATUS_ORDER = [WaveStatus.DRAFT, WaveStatus.FIELDING, WaveStatus.CLOSED, WaveStatus.PUBLISHED]
READ_ONLY_STATUSES = (WaveStatus.CLOSED.value, WaveStatus.PUBLISHED.value)
WAVE_MODES = (Mode.PHONE.value, Mode.WEB.value, Mode.OPEN_LINK.value)

# ---------------------------------------------------------------- questionnaires

_FORMS: dict[int, tuple[str, QuestionnaireForm]] = {}


def form_of(questionnaire: Questionnaire) -> QuestionnaireForm:
    """The engine form of a stored questionnaire (cached while its definition is unchanged)."""
    assert questionnaire.id is not None
    # The identity includes the creation time and version, so that a restored or recreated
    # database whose questionnaire reuses an id never gets another questionnaire's form.
    q = questionnaire
    ident = f"{q.id}:{q.code}:{q.version}:{q.created_at}"
    cached = _FORMS.get(questionnaire.id)
    if cached is not None and questionnaire.locked and cached[0] == f"locked:{ident}":
        return cached[1]  # a locked version never changes
    key = (
        f"locked:{ident}"
        if questionnaire.locked
        else ident + json.dumps(questionnaire.definition, sort_keys=True)
    )
    if cached is not None and cached[0] == key:
        return cached[1]
    form = QuestionnaireForm(questionnaire.definition)
    _FORMS[questionnaire.id] = (key, form)
    return form


def get_questionnaire(session: Session, questionnaire_id: int) -> Questionnaire:
    """A questionnaire version, or 404."""
    found = session.get(Questionnaire, questionnaire_id)
    if found is None:
        raise NotFoundError(
            N_("Questionnaire %(id)s does not exist."),
            field="questionnaire_id",
            id=questionnaire_id,
        )
    return found


def list_questionnaires(session: Session) -> list[Questionnaire]:
    """Every questionnaire version, newest first within each code."""
    return list(
        session.exec(
            select(Questionnaire).order_by(Questionnaire.code, col(Questionnaire.version).desc())
        )
    )


def _titles(definition: dict[str, Any]) -> tuple[str, str]:
    title = (definition.get("settings") or {}).get("title") or {}
    if isinstance(title, str):
        title = {"zh_CN": title}
    zh = pick(title, "zh_CN") or str((definition.get("settings") or {}).get("form_id") or "")
    return zh[:200], str(title.get("en", ""))[:200]


def create_questionnaire(
    session: Session, definition: dict[str, Any], code: str | None = None
) -> Questionnaire:
    """Store ``definition`` as the next version of questionnaire ``code`` (its form_id)."""
    form = QuestionnaireForm(definition)
    canonical = form.to_definition()
    code = (code or str(form.settings.get("form_id") or "")).strip()
    if not code:
        raise ServiceError(N_("The questionnaire needs a form_id (code)."), field="form_id")
    if len(code) > 64:
        raise ServiceError(N_("The form_id is too long."), field="form_id")
    latest = session.exec(
        select(func.max(Questionnaire.version)).where(Questionnaire.code == code)
    ).one()
    version = int(latest or 0) + 1
    canonical.setdefault("settings", {})["form_id"] = code
    canonical["settings"]["version"] = str(version)
    title_zh, title_en = _titles(canonical)
    questionnaire = Questionnaire(
        code=code,
        version=version,
        title_zh=title_zh or code,
        title_en=title_en,
        definition=canonical,
    )
    session.add(questionnaire)
    session.flush()
    return questionnaire


def update_questionnaire(
    session: Session, questionnaire_id: int, definition: dict[str, Any]
) -> Questionnaire:
    """Replace a draft version's definition; a locked version is never changed: the edit
    becomes a new version (returned)."""
    current = get_questionnaire(session, questionnaire_id)
    if current.locked:
        return create_questionnaire(session, definition, current.code)
    form = QuestionnaireForm(definition)
    canonical = form.to_definition()
    canonical.setdefault("settings", {})["form_id"] = current.code
    canonical["settings"]["version"] = str(current.version)
    current.definition = canonical
    current.title_zh, current.title_en = _titles(canonical)
    current.title_zh = current.title_zh or current.code
    session.add(current)
    session.flush()
    return current


def import_xlsform(session: Session, data: bytes) -> Questionnaire:
    """Import an XLSForm workbook as a new questionnaire version."""
    return create_questionnaire(session, read_xlsform(data))


def export_xlsform(questionnaire: Questionnaire) -> bytes:
    """The XLSForm workbook of a questionnaire version."""
    return write_xlsform(questionnaire.definition)


# ---------------------------------------------------------------- waves


def get_wave(session: Session, wave_id: int) -> Wave:
    """A wave, or 404."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFoundError(N_("Wave %(id)s does not exist."), field="wave_id", id=wave_id)
    return wave


def ensure_wave_writable(wave: Wave) -> None:
    """Refuse (409) any write to the cases or responses of a closed or published wave."""
    if wave.status in READ_ONLY_STATUSES:
        raise ConflictError(
            N_("Wave %(name)s is %(status)s: its cases and responses are read-only."),
            field="wave_id",
            name=wave.name,
            status=wave.status,
        )


def ensure_wave_fielding(wave: Wave) -> None:
    """Refuse interviews unless the wave is fielding (409 when closed, 400 when draft)."""
    ensure_wave_writable(wave)
    if wave.status != WaveStatus.FIELDING.value:
        raise ServiceError(
            N_("Wave %(name)s is not in the field."), field="wave_id", name=wave.name
        )


def list_waves(session: Session) -> list[Wave]:
    """Every wave, newest period first."""
    return list(
        session.exec(select(Wave).order_by(col(Wave.period_start).desc(), col(Wave.id).desc()))
    )


@dataclass
class WaveInput:
    """What a new wave needs."""

    name: str
    questionnaire_id: int | None
    period_start: date
    period_end: date
    source: str = WaveSource.CITY.value
    modes: tuple[str, ...] = ("phone", "web")
    target_per_street: int = 40
    field_start: date | None = None
    field_end: date | None = None
    settings: dict[str, Any] | None = None


def create_wave(session: Session, data: WaveInput) -> Wave:
    """Create a draft wave; its questionnaire version becomes locked (immutable)."""
    name = data.name.strip()
    if not name:
        raise ServiceError(N_("The wave needs a name."), field="name")
    if data.source not in {s.value for s in WaveSource}:
        raise ServiceError(N_("Unknown source %(source)s."), field="source", source=data.source)
    if data.period_end < data.period_start:
        raise ServiceError(N_("The period ends before it starts."), field="period_end")
    if data.field_start and data.field_end and data.field_end < data.field_start:
        raise ServiceError(N_("Fieldwork ends before it starts."), field="field_end")
    bad = [m for m in data.modes if m not in WAVE_MODES]
    if bad:
        raise ServiceError(N_("Unknown mode %(mode)s."), field="modes", mode=bad[0])
    if data.target_per_street < 0:
        raise ServiceError(N_("The target must not be negative."), field="target_per_street")
    if data.questionnaire_id is not None:
        questionnaire = get_questionnaire(session, data.questionnaire_id)
        if not questionnaire.locked:
            questionnaire.locked = True
            session.add(questionnaire)
    elif data.source != WaveSource.PROVINCIAL.value:
        raise ServiceError(N_("Choose a questionnaire."), field="questionnaire_id")
    wave = Wave(
        name=name[:120],
        source=data.source,
        questionnaire_id=data.questionnaire_id,
        period_start=data.period_start,
        period_end=data.period_end,
        field_start=data.field_start,
        field_end=data.field_end,
        modes=list(dict.fromkeys(data.modes)),
        target_per_street=data.target_per_street,
        settings=dict(data.settings or {"exclude_recent_waves": 3, "include_open_link": False}),
    )
    session.add(wave)
    session.flush()
    return wave


TRANSITION_ROLES: dict[str, tuple[str, ...]] = {
    WaveStatus.FIELDING.value: (Role.ADMINISTRATOR.value, Role.SUPERVISOR.value),
    WaveStatus.CLOSED.value: (Role.ADMINISTRATOR.value, Role.SUPERVISOR.value),
    WaveStatus.PUBLISHED.value: (Role.ADMINISTRATOR.value, Role.OFFICIAL.value),
}


def transition_wave(
    session: Session, wave_id: int, status: str, role: str, unit_code: str | None = None
) -> Wave:
    """Move a wave forward (draft → fielding → closed → published), by the roles allowed.

    Publishing by an official needs city scope (an official of the whole city).
    """
    wave = get_wave(session, wave_id)
    order = [s.value for s in STATUS_ORDER]
    if status not in order:
        raise ServiceError(N_("Unknown status %(status)s."), field="status", status=status)
    if order.index(status) != order.index(wave.status) + 1:
        raise ConflictError(
            N_("A wave can only move forward one step: %(current)s cannot become %(status)s."),
            field="status",
            current=wave.status,
            status=status,
        )
    if role not in TRANSITION_ROLES[status]:
        raise ForbiddenError(
            N_("Your role cannot set a wave to %(status)s."), field="status", status=status
        )
    if role == Role.OFFICIAL.value and unit_code is not None:
        unit = session.get(Unit, unit_code)
        if unit is None or unit.level not in (Level.CITY.value, Level.PROVINCE.value):
            raise ForbiddenError(
                N_("Only an official of the whole city may publish a wave."), field="status"
            )
    wave.status = status
    session.add(wave)
    session.flush()
    return wave


def street_populations(session: Session) -> dict[str, int]:
    """Adult population of every street (sum of its population cells, else the unit's)."""
    totals: dict[str, int] = {}
    for code, total in session.exec(
        select(PopulationCell.unit_code, func.sum(PopulationCell.population)).group_by(
            PopulationCell.unit_code
        )
    ):
        totals[code] = int(total or 0)
    streets = session.exec(
        select(Unit.code, Unit.population)
        .where(Unit.level == Level.STREET.value)
        .order_by(Unit.code)
    ).all()
    return {code: totals.get(code) or int(pop or 0) for code, pop in streets}


def set_allocation(session: Session, wave_id: int, method: str, **params: Any) -> AllocationPlan:
    """Plan and store a wave's sample allocation (see :func:`plan_allocation`)."""
    wave = get_wave(session, wave_id)
    ensure_wave_writable(wave)
    if method not in METHODS:
        raise ServiceError(
            N_("Unknown allocation method %(method)s."), field="method", method=method
        )
    populations = street_populations(session)
    if not populations:
        raise ServiceError(N_("There are no streets to allocate to."), field="method")
    params.setdefault("per_street", wave.target_per_street)
    try:
        plan = plan_allocation(method, populations, **params)
    except ValueError as exc:
        raise ServiceError(
            N_("The allocation cannot be planned: %(reason)s"), field="method", reason=str(exc)
        ) from exc
    keep = {k: v for k, v in (wave.allocation or {}).items() if k == "selection"}
    wave.allocation = {**plan.to_json(), **keep}
    session.add(wave)
    session.flush()
    return plan


def allocation_of(session: Session, wave: Wave) -> dict[str, Any]:
    """The stored allocation, or the default (equal ``target_per_street``) when none is set."""
    if wave.allocation and wave.allocation.get("n"):
        return wave.allocation
    return plan_allocation(
        "equal", street_populations(session), per_street=wave.target_per_street
    ).to_json()


# Stored values shown on pages (templates translate them with ``_()``).
LABELS: tuple[str, ...] = (
    N_("city"),
    N_("provincial"),
    N_("third_party"),
    N_("draft"),
    N_("fielding"),
    N_("closed"),
    N_("published"),
    N_("phone"),
    N_("web"),
    N_("open_link"),
    N_("imported"),
    N_("equal"),
    N_("proportional"),
    N_("neyman"),
    N_("moe_mean"),
    N_("moe_proportion"),
    N_("new"),
    N_("in_progress"),
    N_("callback"),
    N_("complete"),
    N_("partial"),
    N_("refused"),
    N_("ineligible"),
    N_("exhausted"),
    N_("screened_out"),
)
