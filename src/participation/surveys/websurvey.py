"""The resident web survey: invitations, the SMS outbox and the one-response-per-token rule.

Tokens are ``secrets.token_urlsafe`` values shown once (in the SMS link) and stored as SHA-256
hashes. Each token yields exactly one response: :func:`submit` moves the invitation from
``sent``/``started`` to ``completed`` with a conditional UPDATE and inserts the response in
the same transaction, and ``Response.invitation_id`` is unique, so of two concurrent submits
one wins and the other gets :class:`AlreadySubmitted` (409) with nothing changed.

The form is paged (no JavaScript needed): a page holds up to :data:`PAGE_SIZE` items and the
screening item stands alone on the first page. Hidden items (skip logic) are evaluated on the
server from the saved answers; ``surveys.js`` re-evaluates them live through
:func:`visible_names`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import String, TypeDecorator, bindparam, cast, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from participation.core.crypto import Vault
from participation.core.errors import ConflictError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.geography.models import Level, Unit
from participation.surveys.models import (
    Invitation,
    Mode,
    OutboxMessage,
    Questionnaire,
    Response,
    SampleCase,
    Wave,
)
from participation.surveys.questionnaire import Item, QuestionnaireForm
from participation.surveys.service import (
    ensure_wave_fielding,
    form_of,
    get_questionnaire,
    get_wave,
)

PAGE_SIZE = 5


class AlreadySubmitted(ConflictError):
    """The token has already yielded its response."""


def hash_token(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- outbox


class Sender(Protocol):
    """Sends a text message; implementations: :class:`RecordingSender` (built in), a gateway."""

    def send(
        self,
        session: Session,
        *,
        to: str,
        body: str,
        wave_id: int | None,
        invitation_id: int | None,
    ) -> None:
        """Queue or send ``body`` to the phone number ``to`` (E.164)."""


class RecordingSender:
    """Stores each message in ``outbox_message`` (recipient encrypted) instead of sending it."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def send(
        self,
        session: Session,
        *,
        to: str,
        body: str,
        wave_id: int | None,
        invitation_id: int | None,
    ) -> None:
        """Record the message as queued."""
        session.add(
            OutboxMessage(
                channel="sms",
                wave_id=wave_id,
                invitation_id=invitation_id,
                to_enc=self.vault.encrypt(to),
                to_hash=self.vault.keyed_hash(to),
                body=body[:1000],
            )
        )


# ---------------------------------------------------------------- invitations


def create_invitation(
    session: Session,
    wave_id: int,
    street_code: str,
    case_id: int | None = None,
    locale: str = "zh_CN",
) -> tuple[Invitation, str]:
    """A new invitation and its raw token (returned once, never stored)."""
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        wave_id=wave_id,
        street_code=street_code,
        case_id=case_id,
        token_hash=hash_token(token),
        locale=locale,
    )
    session.add(invitation)
    session.flush()
    return invitation, token


SMS_TEXT = (
    "【临沂市城市管理局】您好，诚邀您参加城市管理满意度调查（约5分钟），"
    "您的意见将帮助改进城市管理：{link} 回复TD退订"
)


def send_invitations(
    session: Session, wave_id: int, vault: Vault, sender: Sender, base_url: str
) -> int:
    """Invite every released mobile case of a web wave that has no invitation yet (SMS link)."""
    wave = get_wave(session, wave_id)
    ensure_wave_fielding(wave)
    if Mode.WEB.value not in (wave.modes or []):
        raise ServiceError(N_("This wave has no web mode."), field="wave_id")
    invited = select(Invitation.case_id).where(col(Invitation.case_id).is_not(None))
    cases = session.exec(
        select(SampleCase)
        .where(SampleCase.wave_id == wave_id)
        .where(col(SampleCase.released).is_(True))
        .where(SampleCase.frame_type == "mobile")
        .where(SampleCase.status == "new")
        .where(col(SampleCase.id).not_in(invited))
        .order_by(SampleCase.id)
    ).all()
    count = 0
    for case in cases:
        if not case.phone_enc:
            continue
        invitation, token = create_invitation(session, wave_id, case.street_code, case.id)
        link = f"{base_url.rstrip('/')}/s/{token}"
        sender.send(
            session,
            to=vault.decrypt(case.phone_enc),
            body=SMS_TEXT.format(link=link),
            wave_id=wave_id,
            invitation_id=invitation.id,
        )
        count += 1
    session.flush()
    return count


def list_outbox(session: Session, limit: int = 50) -> list[OutboxMessage]:
    """The newest messages of the outbox."""
    return list(
        session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit))
    )


# ---------------------------------------------------------------- the form


@lru_cache(maxsize=64)
def pages_of(form: QuestionnaireForm) -> list[list[Item]]:
    """The items cut into pages: intro notes and the screening item first, then
    :data:`PAGE_SIZE` items per page."""
    pages: list[list[Item]] = []
    current: list[Item] = []
    for item in form.items:
        current.append(item)
        if item.screening or len([i for i in current if i.type != "note"]) >= PAGE_SIZE:
            pages.append(current)
            current = []
    if current:
        pages.append(current)
    return pages


@dataclass
class Survey:
    """An invitation opened by its token, with its wave and form."""

    invitation: Invitation
    wave: Wave
    questionnaire: Questionnaire
    form: QuestionnaireForm


# The statements of every survey request, built once (building and keying them per request
# cost more than running them); values are bound per call.
_INVITATIONS = Invitation.__table__  # type: ignore[attr-defined]
_OPEN_SURVEY = (
    select(Invitation, Wave, Questionnaire)
    .join(Wave, col(Wave.id) == Invitation.wave_id)
    .join(Questionnaire, col(Questionnaire.id) == Wave.questionnaire_id)
    .where(Invitation.token_hash == bindparam("token_hash"))
    # The definition (a large JSON document) is loaded only when its form is not cached yet:
    # decoding it on every request was the largest cost of a submit.
    .options(defer(Questionnaire.definition))  # type: ignore[arg-type]
)
_SAVE_PARTIAL = (  # Core UPDATEs: no ORM synchronisation; callers update the loaded object
    update(_INVITATIONS)
    .where(_INVITATIONS.c.id == bindparam("invitation_id"))
    .where(_INVITATIONS.c.status != "completed")
    .values(
        partial_answers=bindparam("answers", type_=_INVITATIONS.c.partial_answers.type),
        status="started",
    )
)
_CLAIM = (
    update(_INVITATIONS)
    .where(_INVITATIONS.c.id == bindparam("invitation_id"))
    .where(_INVITATIONS.c.status != "completed")
    .values(
        status="completed",
        completed_at=bindparam("now", type_=_INVITATIONS.c.completed_at.type),
        partial_answers=bindparam("empty", type_=_INVITATIONS.c.partial_answers.type),
    )
)


_RESPONSES = Response.__table__  # type: ignore[attr-defined]
_INSERT_RESPONSE = insert(_RESPONSES).returning(_RESPONSES.c.id)
_RESPONSE_FIELDS = [c for c in _RESPONSES.columns if c.key not in ("id", "invitation_id")]


def _typed(column: Any) -> Any:
    """A bound value cast to its column's type (a VARCHAR without length: never truncated)."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    target = String() if isinstance(kind, String) else column.type
    return cast(bindparam(f"r_{column.key}", type_=column.type), target)


# PostgreSQL: the claim and the INSERT in one statement (one round trip fewer per submit). The
# INSERT takes its invitation id from the claimed row, so nothing is inserted unless this very
# statement moved the invitation to ``completed``.
_CLAIMED = _CLAIM.returning(_INVITATIONS.c.id).cte("claimed")
_CLAIM_AND_INSERT = (
    insert(_RESPONSES)
    .add_cte(_CLAIMED)
    .from_select(
        [*(c.key for c in _RESPONSE_FIELDS), "invitation_id"],
        select(*(_typed(c) for c in _RESPONSE_FIELDS), _CLAIMED.c.id),
    )
    .returning(_RESPONSES.c.id)
)


def open_survey(session: Session, token: str) -> Survey:
    """The invitation of ``token`` (404 for an unknown token)."""
    row = session.exec(_OPEN_SURVEY, params={"token_hash": hash_token(token)}).first()
    if row is None:
        raise NotFoundError(N_("This survey link is not valid."), field="token")
    invitation, wave, questionnaire = row
    return Survey(invitation, wave, questionnaire, form_of(questionnaire))


def page_answers(form: QuestionnaireForm, page: list[Item], data: dict[str, Any]) -> dict[str, Any]:
    """The answers of one page's items from posted form data (unanswered items → ``""``)."""
    out: dict[str, Any] = {}
    for item in page:
        if item.type == "note":
            continue
        value = data.get(item.name)
        if item.type == "select_multiple":
            if value is None or value == "":
                out[item.name] = []
            else:
                out[item.name] = [str(v) for v in (value if isinstance(value, list) else [value])]
        else:
            if isinstance(value, list):
                value = value[-1] if value else ""
            out[item.name] = "" if value is None else str(value).strip()
    return out


def resume_page(form: QuestionnaireForm, answers: dict[str, Any]) -> int:
    """The page to resume on: the first with a visible item never saved, or required and
    still empty."""
    visible = {i.name for i in form.visible_items(answers)}
    pages = pages_of(form)

    def pending(item: Item) -> bool:
        if item.name not in visible or item.type == "note":
            return False
        if item.name not in answers:
            return True
        return item.required and answers[item.name] in ("", [], None)

    for index, page in enumerate(pages):
        if any(pending(i) for i in page):
            return index
    return len(pages) - 1


def visible_names(form: QuestionnaireForm, answers: dict[str, Any]) -> list[str]:
    """Names of the items shown for ``answers``."""
    return [i.name for i in form.visible_items(answers)]


def save_partial(session: Session, token: str, answers: dict[str, Any]) -> Invitation:
    """Merge ``answers`` into the invitation's saved answers (resumable)."""
    survey = open_survey(session, token)
    invitation = survey.invitation
    if invitation.status == "completed":
        raise AlreadySubmitted(N_("This survey has already been submitted."), field="token")
    ensure_wave_fielding(survey.wave)
    merged = {**(invitation.partial_answers or {}), **answers}
    result = session.execute(_SAVE_PARTIAL, {"invitation_id": invitation.id, "answers": merged})
    if not result.rowcount:  # type: ignore[attr-defined]
        raise AlreadySubmitted(N_("This survey has already been submitted."), field="token")
    set_committed_value(invitation, "partial_answers", merged)
    set_committed_value(invitation, "status", "started")
    return invitation


class AnswersInvalid(ServiceError):
    """Answers that fail validation; ``errors`` maps item names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(N_("Please check your answers."), field=first)
        self.errors = errors


def _demographics(answers: dict[str, Any]) -> tuple[str | None, str | None]:
    sex = answers.get("sex")
    age = answers.get("age_group")
    return (
        str(sex) if sex in ("male", "female") else None,
        str(age) if age in ("18-29", "30-44", "45-59", "60+") else None,
    )


def build_response(
    form: QuestionnaireForm,
    answers: dict[str, Any],
    *,
    wave_id: int,
    street_code: str,
    mode: str,
    locale: str = "zh_CN",
) -> Response:
    """A scored response from answers (raises :class:`AnswersInvalid`)."""
    screened_out, errors, cleaned, result = form.assess(answers, locale)
    if errors:
        raise AnswersInvalid(errors)
    sex, age = _demographics(cleaned)
    return Response(
        wave_id=wave_id,
        street_code=street_code,
        mode=mode,
        answers=cleaned,
        complete=not screened_out,
        sex=sex,
        age_group=age,
        score=None if screened_out else result.score,
        satisfied=None if screened_out else result.satisfied,
    )


def submit(
    session: Session,
    token: str,
    answers: dict[str, Any],
    locale: str = "zh_CN",
    survey: Survey | None = None,
) -> Response:
    """Store the response of ``token`` (merged with saved answers) — exactly once.

    Raises :class:`AlreadySubmitted` (409) when the token was used, :class:`AnswersInvalid`
    (400) for invalid answers; the caller commits. On a conflict the session is rolled back.
    ``survey`` is the already opened invitation, if the caller has it.
    """
    survey = survey or open_survey(session, token)
    invitation = survey.invitation
    if invitation.status == "completed":
        raise AlreadySubmitted(N_("This survey has already been submitted."), field="token")
    ensure_wave_fielding(survey.wave)
    merged = {**(invitation.partial_answers or {}), **answers}
    response = build_response(
        survey.form,
        merged,
        wave_id=survey.wave.id or 0,
        street_code=invitation.street_code,
        mode=Mode.WEB.value,
        locale=locale,
    )
    now = utcnow()
    response.invitation_id = invitation.id
    response.case_id = invitation.case_id
    response.started_at = invitation.created_at
    response.completed_at = now
    response.frame_type = "mobile" if invitation.case_id else None
    claim = {"invitation_id": invitation.id, "now": now, "empty": {}}
    try:
        if session.get_bind().dialect.name == "postgresql":
            values = {f"r_{c.key}": getattr(response, c.key) for c in _RESPONSE_FIELDS}
            new_id = session.execute(_CLAIM_AND_INSERT, {**claim, **values}).scalar_one_or_none()
        elif session.execute(_CLAIM, claim).rowcount:  # type: ignore[attr-defined]
            # A Core INSERT of the built response (the unit of work cost more than the INSERT).
            values = {c.key: getattr(response, c.key) for c in _RESPONSES.columns if c.key != "id"}
            new_id = session.execute(_INSERT_RESPONSE, values).scalar_one()
        else:
            new_id = None
        if new_id is None:
            raise AlreadySubmitted(N_("This survey has already been submitted."), field="token")
        response.id = new_id
        if invitation.case_id is not None:
            cases = SampleCase.__table__  # type: ignore[attr-defined]
            session.execute(
                update(cases)
                .where(cases.c.id == invitation.case_id)
                .values(
                    status="complete" if response.complete else "screened_out",
                    sex=response.sex,
                    age_group=response.age_group,
                )
            )
        session.flush()
    except (IntegrityError, AlreadySubmitted) as exc:
        session.rollback()
        raise AlreadySubmitted(
            N_("This survey has already been submitted."), field="token"
        ) from exc
    for name, value in (("status", "completed"), ("completed_at", now), ("partial_answers", {})):
        set_committed_value(invitation, name, value)  # as stored, without another UPDATE
    make_transient_to_detached(response)  # the stored row, as if loaded: no second INSERT
    session.add(response)
    return response


def submit_open_link(
    session: Session, wave_id: int, street_code: str, answers: dict[str, Any], locale: str
) -> Response:
    """Store an open-link (non-probability) response; flagged ``open_link`` and excluded from
    official estimates unless the wave includes them."""
    wave = get_wave(session, wave_id)
    ensure_wave_fielding(wave)
    if Mode.OPEN_LINK.value not in (wave.modes or []):
        raise NotFoundError(N_("This survey has no open link."), field="wave_id")
    unit = session.get(Unit, street_code)
    if unit is None or unit.level != Level.STREET.value:
        raise AnswersInvalid({"street_code": N_("Please choose your street.")})
    if wave.questionnaire_id is None:
        raise NotFoundError(N_("This survey has no open link."), field="wave_id")
    form = form_of(get_questionnaire(session, wave.questionnaire_id))
    response = build_response(
        form,
        answers,
        wave_id=wave_id,
        street_code=street_code,
        mode=Mode.OPEN_LINK.value,
        locale=locale,
    )
    session.add(response)
    session.flush()
    return response


def count_responses(session: Session, invitation_id: int) -> int:
    """Responses stored for an invitation (0 or 1)."""
    return len(
        session.exec(select(Response.id).where(Response.invitation_id == invitation_id)).all()
    )
