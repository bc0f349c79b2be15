"""The resident web survey over HTTP: paging, skip logic, resume, one response per token."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from litestar.testing import TestClient
from sqlmodel import Session, select

from participation.surveys.models import Invitation, Response
from participation.surveys.websurvey import create_invitation, save_partial
from tests.surveys.helpers import STREET, fielding_wave, full_answers


def invite(session: Session) -> str:
    wave = fielding_wave(session)
    assert wave.id is not None
    _, token = create_invitation(session, wave.id, STREET)
    session.commit()
    return token


def csrf_of(client: TestClient[Any], path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def post_page(
    client: TestClient[Any], token: str, page: int, answers: dict[str, Any], action: str = "next"
) -> Any:
    csrf = csrf_of(client, f"/s/{token}?page={page}")
    data = {"_csrf_token": csrf, "_page": str(page), "_action": action, **answers}
    return client.post(f"/s/{token}/page", data=data, follow_redirects=False)


def test_paged_survey_with_skip_logic_resume_and_single_use(
    client: TestClient[Any], session: Session, linyi: None
) -> None:
    token = invite(session)
    first = client.get(f"/s/{token}")
    assert first.status_code == 200 and 'name="resident"' in first.text
    # page 0: screening
    r = post_page(client, token, 0, {"resident": "1"})
    assert r.status_code == 303 and "page=1" in r.headers["location"]
    # resume: a fresh GET without page goes to page 1
    assert 'name="_page" value="1"' in client.get(f"/s/{token}").text
    # missing required answers: 400 with messages next to the fields
    r = post_page(client, token, 1, {"years_lived": "300"})
    assert r.status_code == 400
    assert 'id="err-years_lived"' in r.text and "0到100" in r.text
    assert 'id="err-street_cleaning"' in r.text
    answers = full_answers(toilet_used="1")
    page = 1
    seen_toilet = False
    for _ in range(12):
        text = client.get(f"/s/{token}?page={page}").text
        names = set(re.findall(r'data-item="([^"]+)"(?! hidden)[^>]*>', text))
        visible = {n for n in names if f'data-item="{n}" id="q-{n}" hidden' not in text}
        seen_toilet = seen_toilet or "toilet_cleanliness" in visible
        last = 'value="submit"' in text
        given = {n: answers.get(n, "1") for n in visible}
        r = post_page(client, token, page, given, "submit" if last else "next")
        if r.status_code == 400:
            # an item became relevant on this page (no JavaScript): answer it
            extra = set(re.findall(r'id="err-([^"]+)"', r.text))
            seen_toilet = seen_toilet or "toilet_cleanliness" in extra
            given.update({n: "2" for n in extra})
            r = post_page(client, token, page, given, "submit" if last else "next")
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        if "/thanks" in location:
            break
        page = int(re.search(r"page=(\d+)", location).group(1))  # type: ignore[union-attr]
    assert "/thanks" in location
    assert seen_toilet
    thanks = client.get(location)
    assert thanks.status_code == 200 and 'id="thanks"' in thanks.text
    stored = session.exec(select(Response)).one()
    assert stored.answers["toilet_cleanliness"] == "2" and stored.mode == "web"
    # a second submit is refused politely and changes nothing
    again = client.post(
        f"/s/{token}/page",
        data={
            "_page": "0",
            "_action": "submit",
            "resident": "2",
            "_csrf_token": csrf_of(client, "/login"),
        },
    )
    assert again.status_code == 409 and 'id="already"' in again.text
    session.expire_all()
    assert len(session.exec(select(Response)).all()) == 1
    assert client.get(f"/s/{token}").status_code == 200


def test_english_and_unknown_token(client: TestClient[Any], session: Session, linyi: None) -> None:
    token = invite(session)
    assert "Do you currently live" in client.get(f"/s/{token}?lang=en").text
    assert client.get("/s/not-a-token").status_code == 404


def test_screened_out_thanks(client: TestClient[Any], session: Session, linyi: None) -> None:
    token = invite(session)
    r = post_page(client, token, 0, {"resident": "2"})
    assert r.status_code == 303 and "/thanks" in r.headers["location"]
    assert (
        "no further questions" in client.get(r.headers["location"].split("?")[0] + "?lang=en").text
    )
    assert session.exec(select(Response)).one().complete is False


def test_live_check_saves_and_returns_visible(
    client: TestClient[Any], session: Session, linyi: None
) -> None:
    token = invite(session)
    csrf = csrf_of(client, f"/s/{token}")
    r = client.post(
        f"/s/{token}/check",
        data={"_page": "0", "resident": "1"},
        headers={"x-csrftoken": csrf},
    )
    assert r.status_code == 200 and "street_cleaning" in r.json()["visible"]
    assert session.exec(select(Invitation)).one().partial_answers == {"resident": "1"}


def test_fifty_concurrent_http_submits_store_one_response(
    client: TestClient[Any], session: Session, linyi: None
) -> None:
    token = invite(session)
    # every page but the last already saved (as a resident would have done)
    save_partial(session, token, full_answers())
    session.commit()
    client.get(f"/s/{token}")
    csrf = client.cookies.get("csrftoken")
    text = client.get(f"/s/{token}?lang=en").text
    page_count = int(re.search(r"of (\d+)", text).group(1))  # type: ignore[union-attr]
    data = {
        "_csrf_token": csrf,
        "_page": str(page_count - 1),
        "_action": "submit",
        **full_answers(),
    }

    def one(_: int) -> int:
        return client.post(f"/s/{token}/page", data=data, follow_redirects=False).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(one, range(50)))
    assert codes.count(303) == 1, codes
    assert codes.count(409) == 49, codes
    session.expire_all()
    assert len(session.exec(select(Response)).all()) == 1
