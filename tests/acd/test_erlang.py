"""Workforce maths against published Erlang C figures, Erlang A against its
limit, and the core's measured service level against Erlang C on seeded
M/M/c traffic."""

from __future__ import annotations

import pytest

from callcenter.acd import erlang
from callcenter.acd.core import CoreConfig, QueueConfig
from callcenter.acd.replay import replay
from callcenter.acd.traffic import Traffic, generate


@pytest.mark.parametrize(
    "agents,traffic,p_wait",
    [
        # Call Centre Helper's worked example (100 calls / 30 min, AHT 180 s): 68.21 %
        (11, 10.0, 0.6821),
        # textbook M/M/10 with 6 Erlangs: "about 0.10" from the Erlang C curve
        (10, 6.0, 0.1013),
        # 360 calls / 30 min, 4 min AHT, 55 agents: E_C = 0.2387
        (55, 48.0, 0.2387),
    ],
)
def test_erlang_c_matches_published_tables(agents, traffic, p_wait):
    assert erlang.erlang_c(agents, traffic) == pytest.approx(p_wait, abs=1e-4)


def test_published_worked_example_service_levels():
    # 100 calls per 30 min, AHT 180 s, T = 20 s: 11 agents 39.0 %, 12 64.0 %, 13 79.6 %, 14 88.8 %
    sls = [erlang.erlang_c_staffing(n, 100, 1800, 180, 20).service_level for n in (11, 12, 13, 14)]
    assert [round(x, 3) for x in sls] == [0.390, 0.640, 0.796, 0.888]
    best = erlang.staff(100, 1800, 180, target_sl=0.8, threshold_s=20)
    assert best.agents == 14 and best.occupancy == pytest.approx(10 / 14)
    assert erlang.erlang_c_staffing(11, 100, 1800, 180, 20).asa_s == pytest.approx(122.8, abs=0.05)
    s55 = erlang.erlang_c_staffing(55, 360, 1800, 240, 15)
    assert s55.asa_s == pytest.approx(8.18, abs=0.01) and s55.service_level == pytest.approx(0.8459, abs=1e-4)


def test_asa_target_and_overload():
    assert erlang.staff(100, 1800, 180, target_asa_s=20).agents == 13
    over = erlang.erlang_c_staffing(10, 100, 1800, 180, 20)
    assert over.p_wait == 1.0 and over.service_level == 0.0
    with pytest.raises(ValueError):
        erlang.staff(10, 0, 180)


def test_erlang_a_tends_to_erlang_c_and_needs_fewer_agents():
    c = erlang.erlang_c_staffing(12, 100, 1800, 180, 20)
    a = erlang.erlang_a_staffing(12, 100, 1800, 180, 20, patience_s=1e9)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-5)
    impatient = erlang.erlang_a_staffing(12, 100, 1800, 180, 20, patience_s=60)
    assert 0 < impatient.p_abandon < 0.2 and impatient.asa_s < c.asa_s
    assert erlang.staff(100, 1800, 180, target_sl=0.8, patience_s=60).agents <= 14


def test_core_measures_erlang_c_on_mmc_traffic():
    """10 agents, 8 Erlangs, exponential talk, nobody abandons: the service
    level the core measures over 6,000 calls is within 0.03 of Erlang C's."""
    traffic = Traffic(calls=6000, agents_per_queue=10, arrival_rate=8 / 180, mean_talk_s=180, seed=11)
    doc = replay(generate(traffic), CoreConfig(queues={"q0": QueueConfig("q0", wrap_up_s=0)}))
    q = doc["queues"]["q0"]
    theory = erlang.erlang_c_staffing(10, 8, 180, 180, 20)
    assert q["offered"] == q["answered"] == 6000
    assert q["service_level"] == pytest.approx(theory.service_level, abs=0.03)
    assert q["asa_s"] == pytest.approx(theory.asa_s, rel=0.15)
    occupancy = sum(a["occupancy"] for a in doc["agents"].values()) / 10
    assert occupancy == pytest.approx(0.8, abs=0.03)


def test_cli_erlang():
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "callcenter", "erlang", "--calls", "100", "--aht", "180", "--target-sl", "0.8"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "10.00 Erlangs -> 14 agents" in run.stdout and "88.8%" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "callcenter", "erlang", "--calls", "100", "--aht", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "aht_s" in bad.stderr


def test_simulator_and_core_together_measure_erlang_c():
    """Closes the loop through the real wire path: the simulated Asterisk
    (TrafficModel.mmc: Poisson arrivals, exponential talk, zero wrap-up,
    infinite patience, no misses/pauses/holds/transfers) writes AMI bytes,
    the bridge's EventStream parses and normalises them, the core measures.

    c = 10 agents, A = 7 Erlangs, mean talk 180 s, 60 virtual hours (~8,400
    calls, ~4 s CPU).  Every simulated answer rings 0.5 s (the PBX's floor),
    so the theory is M/M/10 with service 180.5 s and the SL threshold
    20 - 0.5 s.  Tolerance ±0.04 on SL(20 s): waits are strongly correlated
    at 70 % load, so the error is not binomial (±0.004) but what batch means
    give: 20 batches of ~420 consecutive calls put one standard error at
    ~0.015-0.025 (six seeds spread 0.81-0.85 around 0.837), so ±0.04 is
    ~2 SE, and the test also checks the difference is within 3 batch SEs.
    The seed is fixed, so the run is deterministic, not flaky."""
    import statistics

    from callcenter.acd.core import Core
    from callcenter.ami.normaliser import EventStream
    from callcenter.simulator.clock import VirtualClock
    from callcenter.simulator.pbx import PBX, Queue
    from callcenter.simulator.server import encode
    from callcenter.simulator.traffic import Traffic as SimTraffic
    from callcenter.simulator.traffic import TrafficModel

    pbx = PBX([Queue("q0", wrapuptime=0.0, record=False)], clock=VirtualClock(), seed=1)
    wire = bytearray()
    pbx.sinks.append(lambda fields: wire.extend(encode(fields)))
    traffic = SimTraffic(pbx, TrafficModel.mmc("q0", erlangs=7.0, mean_talk_s=180.0), seed=1)
    for i in range(10):
        traffic.login(f"PJSIP/{8001 + i}", f"agent{i}", [("q0", 0)])
    traffic.start()
    core = Core(CoreConfig(queues={"q0": QueueConfig("q0", wrap_up_s=0)}))
    stream = EventStream()
    records: list[dict] = []

    def pump() -> None:
        for e in stream.feed(bytes(wire), pbx.now):
            records.extend(core.apply(e).records)
        wire.clear()

    for _ in range(60 * 6):  # 60 hours, 10 minutes of wire at a time
        pbx.advance(600)
        pump()
    traffic.stop()
    pbx.run_until_idle()
    pump()

    assert core.stats["errors"] == 0 and stream.problems.counts == {}
    assert len(records) == traffic.arrivals > 8000
    assert {r["outcome"] for r in records} == {"answered"}
    assert max(r["wrap_up_s"] for r in records) == 0 and max(r["hold_s"] for r in records) == 0
    talk = [r["talk_s"] for r in records]
    assert statistics.mean(talk) == pytest.approx(180, rel=0.05)
    assert statistics.stdev(talk) == pytest.approx(statistics.mean(talk), rel=0.08)  # exponential: sd = mean

    theory = erlang.erlang_c_staffing(10, 7.0, 180, 180.5, 19.5)
    q = kpi_total(core, "q0")
    assert q["offered"] == q["answered"] == len(records)
    waits = [r["wait_s"] for r in sorted(records, key=lambda r: r["entered_at"])]
    n = len(waits) // 20
    batches = [sum(w <= 20 for w in waits[i * n : (i + 1) * n]) / n for i in range(20)]
    se = statistics.stdev(batches) / 20**0.5
    assert q["service_level"] == pytest.approx(theory.service_level, abs=0.04)
    assert abs(q["service_level"] - theory.service_level) <= 3 * se
    assert q["asa_s"] == pytest.approx(theory.asa_s, rel=0.25)


def kpi_total(core, queue: str) -> dict:
    from callcenter.acd import kpi

    return kpi.figures(core.queues[queue].kpi.window("total", core.now))
