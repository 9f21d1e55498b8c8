from __future__ import annotations

import pytest

from callcenter.auth.models import Role

from .factories import make_call, write_wav


@pytest.fixture
async def scored_call(db, settings, make_user):  # noqa: ANN001, ANN201
    """An agent, a QA person, a lead and a recorded call of the agent."""
    agent = await make_user(Role.agent, interface="PJSIP/8001", display_name="王静")
    qa = await make_user(Role.qa, display_name="林芳")
    lead = await make_user(Role.team_lead, queues=[("repairs", 0)])
    write_wav(settings.recordings_dir / "c1.wav", 40)
    call = await make_call(db, "c1", agent="PJSIP/8001", recording_file="c1.wav")
    return {"agent": agent, "qa": qa, "lead": lead, "call": call}
