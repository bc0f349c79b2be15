"""The scoring demo: scheme, assessments and a published bulletin, or a skip message."""

from dataclasses import dataclass, field

from sqlmodel import select

from participation.scoring import demo
from participation.scoring.models import Assessment, Bulletin, SchemeVersion


@dataclass
class Ctx:
    lines: list[str] = field(default_factory=list)

    def echo(self, line: str) -> None:
        self.lines.append(line)


def test_demo_builds_scheme_assessment_and_published_bulletin(session, mini_city):
    ctx = Ctx()
    demo.build_demo(session, ctx)
    session.commit()
    (version,) = session.exec(select(SchemeVersion)).all()
    assert version.config["components"][0]["weight"] == 60
    assessments = session.exec(select(Assessment)).all()
    assert len(assessments) == 3  # two closed city waves, then the year
    (bulletin,) = session.exec(select(Bulletin)).all()
    assert bulletin.status == "published" and bulletin.published_at is not None
    annual = next(a for a in assessments if a.id == bulletin.assessment_id)
    assert annual.results["streets"][0]["code"] == "990101002"
    assert "published bulletin" in ctx.lines[-1]


def test_demo_skips_without_waves(session):
    ctx = Ctx()
    demo.build_demo(session, ctx)
    assert "skipped" in ctx.lines[0]
    assert session.exec(select(SchemeVersion)).all() == []
