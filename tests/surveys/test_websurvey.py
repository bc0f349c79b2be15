"""The web-survey service: one response per token, also under 50 concurrent submits."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from participation.core.errors import ConflictError
from participation.surveys.models import Invitation, Response
from participation.surveys.websurvey import (
    AlreadySubmitted,
    AnswersInvalid,
    create_invitation,
    pages_of,
    resume_page,
    save_partial,
    submit,
)
from tests.surveys.helpers import STREET, fielding_wave, full_answers


@pytest.fixture
def token(session: Session, linyi: None) -> str:
    wave = fielding_wave(session)
    assert wave.id is not None
    _, raw = create_invitation(session, wave.id, STREET)
    session.commit()
    return raw


def test_submit_scores_and_consumes_the_token(session: Session, token: str) -> None:
    response = submit(session, token, full_answers())
    session.commit()
    assert response.complete and response.score is not None
    assert response.sex == "female" and response.age_group == "30-44"
    with pytest.raises(AlreadySubmitted):
        submit(session, token, full_answers(overall="4"))
    assert len(session.exec(select(Response)).all()) == 1
    assert session.exec(select(Response)).one().answers["overall"] == "2"


def test_invalid_answers_name_the_items(session: Session, token: str) -> None:
    with pytest.raises(AnswersInvalid) as info:
        submit(session, token, full_answers(toilet_used="1", years_lived="200"))
    assert set(info.value.errors) == {"toilet_cleanliness", "years_lived"}


def test_partial_answers_resume(session: Session, token: str) -> None:
    save_partial(session, token, {"resident": "1"})
    session.commit()
    invitation = session.exec(select(Invitation)).one()
    assert invitation.status == "started" and invitation.partial_answers == {"resident": "1"}
    from participation.surveys.service import form_of
    from participation.surveys.websurvey import open_survey

    form = open_survey(session, token).form
    assert resume_page(form, invitation.partial_answers) == 1
    assert form_of(open_survey(session, token).questionnaire) is form
    assert len(pages_of(form)) >= 4


def test_screened_out_ends_the_interview(session: Session, token: str) -> None:
    response = submit(session, token, {"resident": "2"})
    session.commit()
    assert response.complete is False and response.score is None


def test_fifty_concurrent_submits_store_one_response(
    engine: Engine, session: Session, token: str
) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(50)

    def worker(i: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                submit(s, token, full_answers(comment=f"device {i}"))
                s.commit()
                outcomes.append("ok")
            except ConflictError:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert outcomes.count("conflict") == 49
    session.expire_all()
    responses = session.exec(select(Response)).all()
    assert len(responses) == 1
    assert session.exec(select(Invitation)).one().status == "completed"
