from participation.accounts.roles import Role


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_units_browse_as_city_official(linyi, client_as):
    c = client_as(Role.OFFICIAL, "3713")
    r = c.get("/api/units")
    assert r.status_code == 200
    assert [u["code"] for u in r.json()] == ["3713"]
    r = c.get("/api/units/3713")
    assert len(r.json()["units"]) == 13
