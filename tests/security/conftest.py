"""The realtime tests' live server and websocket client, for the security tests."""

from ..realtime.conftest import live, ws_connect  # noqa: F401
