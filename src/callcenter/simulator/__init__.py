"""A simulated Asterisk 18/20 speaking AMI, for the demo and the tests
(Asterisk itself cannot be assumed to be installed).

- server.AmiServer: the TCP side (banner, Login, actions, EventList framing,
  faults for tests).  `port = await AmiServer(pbx=...).start()`.
- pbx.PBX: queues, members, phones, channels and calls emitting app_queue's
  event sequences; tests drive it directly (add_member, pause, new_call,
  transfer, hangup_channel...) and move virtual time with advance().
- predictive: the customer-first Originate into [cc-predictive] (a
  predictive campaign's dial), in main/pbx.c + main/dial.c order.
- clock: VirtualClock (tests: instant, deterministic) or RealClock (demo).
- traffic: the seeded traffic model and the JSON script format.
- service.build / start_demo: assembled servers for the CLI and `make demo`.
"""

from callcenter.simulator.server import AmiServer

__all__ = ["AmiServer"]
