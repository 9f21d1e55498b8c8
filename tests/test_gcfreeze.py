"""gcfreeze: what survives a full collection is frozen (the next ones do not
walk it), and dead cycles among frozen objects are collected once the
frozen set has grown enough."""

from __future__ import annotations

import gc
import weakref

from callcenter import gcfreeze


class Cycle:
    pass


def _cycles(n: int) -> tuple[list[Cycle], list[weakref.ref[Cycle]]]:
    heads, refs = [], []
    for _ in range(n):
        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        heads.append(a)
        refs.append(weakref.ref(a))
    return heads, refs


def test_full_collection_freezes_its_survivors() -> None:
    gc.collect()
    with gcfreeze.keeping() as keeper:
        start = gc.get_freeze_count()
        alive = [[i] for i in range(20_000)]  # tracked objects that stay
        gc.collect()
        assert gc.get_freeze_count() >= start + 20_000
        assert keeper.stats["frozen"] >= 1
        tracked = {id(o) for o in gc.get_objects()}  # the permanent generation is not listed
        assert not any(id(x) in tracked for x in alive[:100])
        # Frozen objects still go when their last reference does.
        before = gc.get_freeze_count()
        del alive
        assert gc.get_freeze_count() <= before - 20_000
    assert gc.get_freeze_count() == 0  # the server's end thaws everything


def test_dead_frozen_cycles_are_collected_once_the_frozen_set_grows() -> None:
    gc.collect()
    with gcfreeze.keeping(grow=2.0, floor=0, every_s=0) as keeper:
        heads, refs = _cycles(1_000)
        gc.collect()  # alive: frozen
        del heads
        gc.collect()
        assert all(r() is not None for r in refs)  # dead, but frozen: no pass walks them (yet)
        keeper.clean = 1  # as if the frozen set had grown from nothing: the valve opens
        gc.collect()  # unfreezes
        assert keeper.unfrozen
        gc.collect()  # walks everything once
        assert all(r() is None for r in refs)
        assert keeper.stats["clean_passes"] == 1 and not keeper.unfrozen
        assert abs(keeper.clean - gc.get_freeze_count()) < 100  # frozen again: the new clean size


def test_at_most_one_clean_pass_per_interval() -> None:
    gc.collect()
    with gcfreeze.keeping(grow=2.0, floor=0, every_s=3600) as keeper:
        keeper.clean = 1  # grown far past `grow`, but the last clean pass was just now
        gc.collect()
        assert not keeper.unfrozen and keeper.stats["clean_passes"] == 0
        keeper.clean_at -= 3600
        gc.collect()
        assert keeper.unfrozen


async def test_a_settling_pass_follows_each_freeze_on_the_loop() -> None:
    """After a pass froze many survivors, a full pass over what is left runs
    from the loop (so the collector's next full pass is not one that waits
    for a quarter of the frozen count and walks them all at once)."""
    import asyncio

    gc.collect()
    with gcfreeze.keeping(loop=asyncio.get_running_loop()) as keeper:
        alive = [[i] for i in range(20_000)]
        gc.collect()
        assert keeper.stats["frozen"] >= 1 and keeper.stats["settled"] == 0
        for _ in range(20):
            await asyncio.sleep(0)
            if keeper.stats["settled"]:
                break
        assert keeper.stats["settled"] == 1  # once: the settling pass does not ask for another
        await asyncio.sleep(0.05)
        assert keeper.stats["settled"] == 1
        del alive


def test_ordinary_passes_do_not_count_the_frozen_set(monkeypatch) -> None:
    """gc.get_freeze_count walks the whole permanent generation (30-60 ms at
    300,000 objects): it is asked only when a clean pass is due by time."""
    gc.collect()
    with gcfreeze.keeping(grow=2.0, floor=0, every_s=3600) as keeper:
        counted = []
        real = gc.get_freeze_count
        monkeypatch.setattr(gc, "get_freeze_count", lambda: counted.append(1) or real())
        for _ in range(5):
            gc.collect()
        assert keeper.stats["frozen"] >= 5 and counted == []
        keeper.clean = 1
        keeper.clean_at -= 3600
        gc.collect()  # due by time: counted once, and the valve opens
        assert counted == [1] and keeper.unfrozen
