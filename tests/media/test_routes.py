"""Upload API and photo serving: roles, refusals naming the field, registered access checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from participation.accounts.roles import Role
from participation.media import service
from participation.media.models import Photo
from tests.conftest import csrf_token
from tests.media.images import PDF_BYTES, jpeg_with_gps, png_bytes


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(client, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg"):
    return client.post(
        "/api/media/photos",
        files={"photo": (name, data, ctype)},
        headers={"x-csrftoken": csrf_token(client)},
    )


def test_volunteer_uploads_a_photo_and_sees_it(client_as, settings):
    volunteer = client_as(Role.VOLUNTEER)
    r = upload(volunteer, jpeg_with_gps())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/jpeg" and body["width"] == 40
    got = volunteer.get(body["url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"].startswith("private")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert b"SpyCam" not in got.content
    assert len(files_under(settings.upload_dir)) == 1


def test_pdf_named_jpg_is_refused_naming_the_field_and_nothing_is_stored(
    linyi, client_as, settings
):
    official = client_as(Role.OFFICIAL, "371302")
    r = upload(official, PDF_BYTES, name="scan.jpg", ctype="image/jpeg")
    assert r.status_code == 400
    assert r.json()["field"] == "photo"
    assert "JPEG, PNG or WebP" in r.json()["detail"] or "照片" in r.json()["detail"]
    assert files_under(settings.upload_dir) == []


def test_text_file_is_refused_in_english_with_a_clear_message(client_as, settings):
    volunteer = client_as(Role.VOLUNTEER)
    volunteer.cookies.set("lang", "en")
    r = upload(volunteer, b"hello, I am text", name="x.png", ctype="image/png")
    assert r.status_code == 400
    assert r.json() == {
        "status_code": 400,
        "detail": "The file is not a readable JPEG, PNG or WebP photo.",
        "field": "photo",
    }
    assert files_under(settings.upload_dir) == []


def test_too_large_upload_is_refused_and_nothing_is_stored(app, client_as, settings):
    app.state.settings = settings.model_copy(update={"max_upload_bytes": 2000})
    volunteer = client_as(Role.VOLUNTEER)
    volunteer.cookies.set("lang", "en")
    big = jpeg_with_gps((600, 600)) + b"\0" * 3000
    r = upload(volunteer, big)
    assert r.status_code == 400
    assert r.json()["field"] == "photo" and "too large" in r.json()["detail"]
    assert files_under(settings.upload_dir) == []


def test_body_over_the_request_limit_is_413(app, client_as, settings):
    volunteer = client_as(Role.VOLUNTEER)
    r = upload(volunteer, b"\0" * (settings.max_body_bytes + 10))
    assert r.status_code == 413
    assert files_under(settings.upload_dir) == []


def test_missing_field_is_400(client_as):
    volunteer = client_as(Role.VOLUNTEER)
    r = volunteer.post(
        "/api/media/photos",
        files={"other": ("a.png", png_bytes(), "image/png")},
        headers={"x-csrftoken": csrf_token(volunteer)},
    )
    assert r.status_code == 400
    assert r.json().get("field") == "photo"


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.SUPERVISOR, Role.REWARD_OFFICER])
def test_other_roles_may_not_upload(client_as, role):
    r = upload(client_as(role), png_bytes())
    assert r.status_code == 403


def test_anonymous_may_not_upload(client):
    r = upload(client, png_bytes())
    assert r.status_code in (401, 403)


def test_registered_check_decides_and_denial_is_404(linyi, session, settings, client, client_as):
    seen: list[tuple[str | None, int | None]] = []

    def only_officials(db, user, photo: Photo) -> bool:
        seen.append((user.role if user else None, photo.owner_id))
        return user is not None and user.role == "official"

    service.register_access("testkind", only_officials)
    photo = service.store_photo(session, settings, png_bytes(), owner_kind="testkind", owner_id=5)
    session.commit()
    url = service.url_of(photo)

    assert client.get(url).status_code == 404
    assert client_as(Role.VOLUNTEER).get(url).status_code == 404
    assert client_as(Role.OFFICIAL, "371302").get(url).status_code == 200
    assert client_as(Role.ADMINISTRATOR).get(url).status_code == 200
    assert (None, 5) in seen and ("official", 5) in seen
    assert client.get("/media/no-such-key").status_code == 404


def test_kind_without_a_check_is_only_for_uploader_and_administrators(
    linyi, session, settings, client_as
):
    uploader = client_as(Role.VOLUNTEER)
    key = upload(uploader, png_bytes()).json()["key"]
    photo = service.get_photo(session, key)
    service.attach(session, [key], "unregistered-kind", 1)
    session.commit()
    assert photo.owner_kind == "unregistered-kind"
    assert uploader.get(f"/media/{key}").status_code == 200
    assert client_as(Role.VOLUNTEER).get(f"/media/{key}").status_code == 404
    assert client_as(Role.OFFICIAL, "371302").get(f"/media/{key}").status_code == 404
