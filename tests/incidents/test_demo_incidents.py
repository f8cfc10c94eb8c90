"""The demo's approved interview is coded, so the incidents page has mentions, an incident and a reprisal."""

from __future__ import annotations

from sqlalchemy import select

from app.incidents.models import FamilyReprisalEvent, Incident, IncidentMention
from tests.cli_support import Harbour


def test_the_demo_shows_incidents(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    result = harbour("demo")
    assert result.code == 0, result.err
    with harbour.context() as ctx:
        kinds = sorted(ctx.session.scalars(select(IncidentMention.kind)))
        assert kinds == ["family_reprisal", "incident"]
        tactics = list(ctx.session.scalars(select(Incident.tactic)))
        assert tactics == ["S1_THREAT_DIGITAL"]
        assert list(ctx.session.scalars(select(FamilyReprisalEvent.reprisal_type))) == [
            "HOME_VISIT_QUESTIONING"
        ]
