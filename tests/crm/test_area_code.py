"""A local landline (no area code, as many PBX trunks present it) finds its
customer with the area code the running app was configured with, never one
read again from the environment."""

from __future__ import annotations

from callcenter.app import create_app
from callcenter.auth.models import Role

from ..conftest import make_settings


async def test_screen_pop_matches_a_local_landline_with_the_apps_area_code(db, db_url, tmp_path, monkeypatch, make_user):
    # The environment says Beijing; the app was configured for Shenzhen.
    monkeypatch.setenv("CALLCENTER_DEFAULT_AREA_CODE", "010")
    settings = make_settings(database_url=db_url, recordings_dir=tmp_path / "rec", default_area_code="0755")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        import httpx

        admin = await make_user(Role.admin)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            r = await client.post("/api/customers", json={"name": "陈先生", "phones": ["0755-8888 1234"]}, headers=admin.headers)
            assert r.status_code == 201, r.text
        pop = await app.state.hub.lookup("c1", {"caller_number": "88881234", "uniqueid": "u1"})
        assert pop["customer"]["name"] == "陈先生"
        # A Beijing number with the same local digits is someone else.
        pop = await app.state.hub.lookup("c2", {"caller_number": "010-88881234", "uniqueid": "u2"})
        assert pop["customer"] is None
