"""Fixtures of the scoring tests."""

import pytest

from participation.scoring import service
from participation.scoring.config import Rules, linyi_config
from tests.scoring.helpers import build_mini_city


@pytest.fixture
def mini_city(session):
    """The 2 × 3 hand-checkable city with its waves (returns the wave ids)."""
    return build_mini_city(session)


@pytest.fixture
def scheme_version(session, mini_city):
    """Linyi's scheme with small talks lists (2 streets, 1 county) for the mini city."""
    config = linyi_config().model_copy(update={"rules": Rules(talks_streets=2, talks_counties=1)})
    version = service.create_scheme(
        session, code="test", name="测试考核方案", config=config.model_dump(mode="json")
    )
    session.commit()
    return version
