"""MixMonitor (apps/app_mixmonitor.c): the dialplan's recording (the shipped
[cc-record]: VarSet MIXMONITOR_FILENAME, then MixMonitorStart, on the
channel that runs it) and the MixMonitor/StopMixMonitor/MixMonitorMute
actions.  A recording stops with its channel (MixMonitorStop before the
Hangup); its WAV is what sox -M leaves: stereo, left the recorded
channel's party, right the other side."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from callcenter.simulator.base import PbxBase, outside
from callcenter.simulator.model import Channel, Recording


class Monitor(PbxBase):
    def default_recording(self, queue: str, ch: Channel) -> str:
        """[cc-queue]'s name when the hook chose none: YYYY/MM/DD/<queue>-<uniqueid>.wav."""
        day = datetime.fromtimestamp(self.now, UTC).strftime("%Y/%m/%d")
        return f"{day}/{queue}-{ch.uniqueid}.wav"

    def _record(self, ch: Channel, file: str) -> None:
        """Gosub(cc-record,s,1): CC_REC_BASE, MixMonitor(...) — unless the
        channel records already (a transferred caller: one file)."""
        if ch.name in self.recordings:
            return
        path = self.monitor_dir / file
        self._varset(ch, "CC_REC_BASE", str(path.with_suffix("")))
        self._newexten(ch, "MixMonitor", f"{path},br({path.with_suffix('')}-rx.wav)t({path.with_suffix('')}-tx.wav),sox -M ...",
                       context="cc-record", exten="s")  # fmt: skip
        self._start_recording(ch, path)

    def _start_recording(self, ch: Channel, path: Path) -> Recording:
        rec = Recording(channel=ch, path=path, started=self.now)
        if ch.bridge is not None:
            rec.bridged.append([self.now, -1.0])
        self.recordings[ch.name] = rec
        self._varset(ch, "MIXMONITOR_FILENAME", str(path))
        self._chan_event("MixMonitorStart", ch)
        return rec

    def _stop_recording(self, ch: Channel) -> None:
        rec = self.recordings.pop(ch.name, None)
        if rec is None:
            return
        self._chan_event("MixMonitorStop", ch)
        if rec.bridged and rec.bridged[-1][1] == -1.0:
            rec.bridged[-1][1] = self.now
        at = rec.audio_offset
        rec.segments = [(at(s), at(e), "hold") for s, e in rec.holds if s >= rec.started]
        for start, end, direction in rec.mutes:
            stop = self.now if end == -1.0 else end
            rec.segments.append((at(float(start)), at(float(stop)), f"mute-{direction}"))
        if self.wav_writer is not None and self.recordings_dir is not None:
            # MixMonitor's b option: only the bridged time is in the file
            # (a recording started by the action on a bridged channel counts from there).
            self.wav_writer(rec, rec.audio_seconds(self.now))
            self.recordings_written.append(rec.path)

    @outside
    def start_mixmonitor(self, name: str, file: str = "") -> bool:
        """The MixMonitor action: `file` relative to the monitor directory (or absolute)."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        if ch.name not in self.recordings:
            self._start_recording(ch, self.monitor_dir / (file or f"{ch.uniqueid}.wav"))
        return True

    @outside
    def stop_mixmonitor(self, name: str) -> bool:
        ch = self.channels.get(name)
        if ch is None:
            return False
        if ch.name in self.recordings:
            self._stop_recording(ch)
        else:
            self._chan_event("MixMonitorStop", ch)
        return True

    @outside
    def mute_mixmonitor(self, name: str, on: bool, direction: str = "both") -> bool:
        """MixMonitorMute: silence one or both lanes (e.g. a card number).
        The agent's channel mutes the recording of the call it is in."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        rec = self.recordings.get(ch.name) or self._recording_of_call(ch)
        if rec is None:
            return False
        self._chan_event("MixMonitorMute", ch, [("Direction", direction), ("State", "1" if on else "0")])
        if on:
            rec.mutes.append([self.now, -1.0, direction])
        else:
            for m in rec.mutes:
                if m[1] == -1.0:
                    m[1] = self.now
        return True

    def _recording_of_call(self, ch: Channel) -> Recording | None:
        """The recording running on a channel ch is bridged with."""
        if ch.bridge is None:
            return None
        return next((self.recordings[c.name] for c in ch.bridge.channels if c.name in self.recordings), None)
