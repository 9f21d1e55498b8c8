"""A simulated Asterisk 18/20 speaking AMI, for the demo and the tests
(Asterisk itself cannot be assumed to be installed)."""

from callcenter.simulator.server import AmiServer

__all__ = ["AmiServer"]
