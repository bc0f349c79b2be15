"""Every handler declares whom it admits, and no non-public route admits anonymous users."""

import re

import pytest
from litestar.handlers import HTTPRouteHandler

from participation.accounts.roles import Role


def http_routes(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    yield route.path, method, handler


def fill(path: str) -> str:
    def repl(m):
        kind = m.group(2) or "str"
        return {"int": "1", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}.get(
            kind, "x"
        )

    return re.sub(r"\{(\w+)(?::(\w+))?\}", repl, path)


def test_every_handler_declares_who_it_admits(app):
    undeclared = [
        f"{method} {path}"
        for path, method, handler in http_routes(app)
        if not handler.opt.get("public") and not handler.opt.get("roles")
    ]
    assert not undeclared, f"handlers without public()/admits(): {undeclared}"


def test_declared_roles_are_real_roles(app):
    valid = {r.value for r in Role}
    for path, method, handler in http_routes(app):
        for role in handler.opt.get("roles", ()):
            assert role in valid, f"{method} {path} admits unknown role {role}"


def test_anonymous_requests_to_non_public_routes_are_refused(app, client):
    checked = 0
    for path, method, handler in http_routes(app):
        if handler.opt.get("public"):
            continue
        url = fill(path)
        response = client.request(method, url, follow_redirects=False)
        checked += 1
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), f"{method} {path}"
        else:
            assert response.status_code in (401, 403), (
                f"{method} {path} answered {response.status_code} to an anonymous request"
            )
    assert checked >= 5


def test_api_refuses_anonymous_with_401(client):
    assert client.get("/api/units").status_code == 401
    assert client.get("/api/me").status_code == 401


def test_street_official_cannot_read_another_street(linyi, client_as):
    street = client_as(Role.OFFICIAL, "371302002")
    assert street.get("/api/units/371302002").status_code == 200
    r = street.get("/api/units/371302001")
    assert r.status_code == 403
    assert r.json()["field"] == "code"
    # The path above the street is visible (names only), population cells are not.
    county = street.get("/api/units/371302").json()
    assert [u["code"] for u in county["units"]] == ["371302002"]
    assert county["cells"] == []


def test_county_official_sees_only_their_streets(linyi, client_as):
    county = client_as(Role.OFFICIAL, "371302")
    assert county.get("/api/units/371302001").status_code == 200
    assert county.get("/api/units/371311001").status_code == 403
    streets = county.get("/api/units?level=street").json()
    assert {u["code"][:6] for u in streets} == {"371302"}


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.VOLUNTEER])
def test_only_administrators_import_units(linyi, client_as, role, csrf):
    c = client_as(role, "371302002" if role is Role.VOLUNTEER else None)
    r = c.post(
        "/api/units/import",
        files={"data": ("u.csv", b"code,name\n11,X\n", "text/csv")},
        headers={"x-csrftoken": csrf(c)},
    )
    assert r.status_code == 403


def test_administrator_manages_accounts(linyi, client_as, csrf):
    admin = client_as(Role.ADMINISTRATOR)
    token = csrf(admin)
    r = admin.post(
        "/api/users",
        json={
            "username": "new_official",
            "password": "long-password",
            "role": "official",
            "unit_code": "371302",
        },
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["role"] == "official" and "password" not in str(created)
    bad = admin.post(
        "/api/users",
        json={"username": "x", "password": "long-password", "role": "official"},
        headers={"x-csrftoken": token},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "unit_code"
    r = admin.patch(
        f"/api/users/{created['id']}", json={"active": False}, headers={"x-csrftoken": token}
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert "new_official" in admin.get("/admin/users").text
    official = client_as(Role.OFFICIAL, "3713")
    assert official.get("/api/users").status_code == 403
