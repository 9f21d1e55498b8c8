"""The AMI bridge: Asterisk's event stream in, typed domain events
(callcenter.acd.events) out; actions back through the one gateway.

    bridge = Bridge(settings, on_event)      # on_event(Event) -> None | Awaitable
    await bridge.start(); ...; await bridge.stop()
    bridge.readiness()                       # {"ok", "state", "server", "error"?}
    await bridge.gateway.queue_pause("PJSIP/8001", True, reason="午休")

Modules: bridge (link supervision, delivery, resync), parser (framing and
decoding), normaliser (raw event -> domain event), gateway (actions),
replay (captures through the same path).
"""
