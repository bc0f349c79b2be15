"""Data from elsewhere: responses collected by a survey firm, provincial results.

Both imports are all or nothing: a bad row rejects the file with its line and column.

* Responses (CSV/XLSX): a ``street_code`` column and one column per questionnaire item
  (item names; select_multiple values space-separated). Each row is validated by the
  questionnaire engine; stored with ``mode="imported"``.
* Provincial results (CSV/XLSX): ``unit_code,score[,n,se,p_satisfied,p_se]`` per unit; stored
  directly as ``WaveResult`` rows with method ``imported`` (a confidence interval of
  ±1.96·SE when the SE is given).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from participation.core.errors import ServiceError
from participation.core.i18n import N_
from participation.geography.models import Level, Unit
from participation.surveys.frames import _table_rows
from participation.surveys.models import Mode, Response, WaveResult, WaveSource
from participation.surveys.service import (
    ensure_wave_writable,
    form_of,
    get_questionnaire,
    get_wave,
)
from participation.surveys.websurvey import AnswersInvalid, build_response

Z = 1.959963984540054


def import_responses(session: Session, wave_id: int, data: bytes | str, filename: str = "") -> int:
    """Import a survey firm's responses into a wave; the number stored."""
    wave = get_wave(session, wave_id)
    ensure_wave_writable(wave)
    if wave.questionnaire_id is None:
        raise ServiceError(N_("This wave has no questionnaire."), field="wave_id")
    form = form_of(get_questionnaire(session, wave.questionnaire_id))
    rows = _table_rows(data, filename)
    if not rows:
        raise ServiceError(N_("The file has no data lines."), field="file")
    columns = set(rows[0][1])
    if "street_code" not in columns:
        raise ServiceError(
            N_("The file has no %(column)s column."),
            field="street_code",
            line=1,
            column="street_code",
        )
    unknown = sorted(c for c in columns if c and c != "street_code" and c not in form)
    if unknown:
        raise ServiceError(
            N_("Column %(column)s is not an item of the questionnaire."),
            field=unknown[0],
            line=1,
            column=unknown[0],
        )
    streets = set(session.exec(select(Unit.code).where(Unit.level == Level.STREET.value)))
    responses: list[Response] = []
    for line, row in rows:
        street = row.get("street_code", "")
        if street not in streets:
            raise ServiceError(
                N_("Unknown street %(code)s."), field="street_code", line=line, code=street
            )
        answers: dict[str, Any] = {k: v for k, v in row.items() if k != "street_code" and v != ""}
        try:
            response = build_response(
                form,
                answers,
                wave_id=wave_id,
                street_code=street,
                mode=Mode.IMPORTED.value,
                locale="en",
            )
        except AnswersInvalid as exc:
            column = next(iter(exc.errors))
            raise ServiceError(
                N_("%(problem)s"), field=column, line=line, problem=exc.errors[column]
            ) from exc
        responses.append(response)
    session.add_all(responses)
    session.flush()
    return len(responses)


def _number(value: str, line: int, column: str, *, required: bool = False) -> float | None:
    if value == "":
        if required:
            raise ServiceError(N_("A value is required."), field=column, line=line)
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a number."), field=column, line=line, value=value
        ) from exc


def import_provincial_results(
    session: Session, wave_id: int, data: bytes | str, filename: str = ""
) -> int:
    """Store provincial per-unit results of a ``provincial`` wave; the number of units."""
    wave = get_wave(session, wave_id)
    ensure_wave_writable(wave)
    if wave.source != WaveSource.PROVINCIAL.value:
        raise ServiceError(
            N_("Results can only be imported into a provincial wave."), field="wave_id"
        )
    rows = _table_rows(data, filename)
    if not rows:
        raise ServiceError(N_("The file has no data lines."), field="file")
    for needed in ("unit_code", "score"):
        if needed not in rows[0][1]:
            raise ServiceError(
                N_("The file has no %(column)s column."), field=needed, line=1, column=needed
            )
    levels = dict(session.exec(select(Unit.code, Unit.level)).all())
    results: list[WaveResult] = []
    seen: set[str] = set()
    for line, row in rows:
        code = row.get("unit_code", "")
        if code not in levels:
            raise ServiceError(
                N_("Unknown unit %(code)s."), field="unit_code", line=line, code=code
            )
        if code in seen:
            raise ServiceError(
                N_("Unit %(code)s is repeated."), field="unit_code", line=line, code=code
            )
        seen.add(code)
        score = _number(row.get("score", ""), line, "score", required=True)
        assert score is not None
        if not 0 <= score <= 100:
            raise ServiceError(N_("The score must be between 0 and 100."), field="score", line=line)
        n = _number(row.get("n", ""), line, "n")
        se = _number(row.get("se", ""), line, "se")
        p = _number(row.get("p_satisfied", ""), line, "p_satisfied")
        p_se = _number(row.get("p_se", ""), line, "p_se")
        if p is not None and not 0 <= p <= 1:
            raise ServiceError(
                N_("The satisfaction rate must be between 0 and 1."), field="p_satisfied", line=line
            )
        results.append(
            WaveResult(
                wave_id=wave_id,
                unit_code=code,
                level=levels[code],
                n=int(n or 0),
                mean=score,
                se=se,
                ci_low=None if se is None else max(0.0, score - Z * se),
                ci_high=None if se is None else min(100.0, score + Z * se),
                p_satisfied=p,
                p_se=p_se,
                p_ci_low=None if p is None or p_se is None else max(0.0, p - Z * p_se),
                p_ci_high=None if p is None or p_se is None else min(1.0, p + Z * p_se),
                method="imported",
            )
        )
    session.execute(delete(WaveResult).where(WaveResult.wave_id == wave_id))  # type: ignore[arg-type]
    session.add_all(results)
    session.flush()
    return len(results)
