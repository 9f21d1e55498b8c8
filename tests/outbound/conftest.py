"""The AMI fixtures (a simulator server, bridges) for the dialer tests."""

from tests.ami.conftest import make_bridge, pbx, server  # noqa: F401
