"""The WAV file a simulated MixMonitor leaves behind: stereo, 8 kHz, 16-bit,
left = caller, right = agent, as long as the recording ran (capped).

The two voices take turns in syllable-like bursts of a few harmonics with a
pitch glide, so a waveform view shows two clearly different lanes and QA has
something that sounds like speech cadence in the demo.  Stdlib only; built
from a small bank of pre-rendered syllables so a 10-minute file takes well
under a second.
"""

from __future__ import annotations

import math
import random
import wave
from array import array
from pathlib import Path

from callcenter.simulator.pbx import Recording

RATE = 8000
MAX_SECONDS = 600.0  # talk longer than 10 minutes is recorded as 10 minutes


def _syllable(rng: random.Random, pitch: float, seconds: float) -> array:
    n = int(seconds * RATE)
    out = array("h", bytes(2 * n))
    glide = rng.uniform(-0.25, 0.25)
    formant = rng.uniform(2.0, 4.0)
    for i in range(n):
        t = i / RATE
        x = i / n
        f = pitch * (1 + glide * x)
        env = math.sin(math.pi * x) ** 1.5
        s = math.sin(2 * math.pi * f * t) + 0.5 * math.sin(2 * math.pi * f * 2 * t) + 0.3 * math.sin(2 * math.pi * f * formant * t)
        out[i] = int(7000 * env * s / 1.8)
    return out


class Voices:
    """Pre-rendered syllables for a low (caller) and a higher (agent) voice."""

    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(f"voices-{seed}")
        self.bank = {
            "caller": [_syllable(rng, rng.uniform(110, 140), rng.uniform(0.12, 0.35)) for _ in range(12)],
            "agent": [_syllable(rng, rng.uniform(200, 240), rng.uniform(0.10, 0.30)) for _ in range(12)],
        }
        self.moh = _syllable(rng, 330, 1.0)

    def lanes(self, seconds: float, segments: list[tuple[float, float, str]], rng: random.Random) -> tuple[array, array]:
        n = int(min(seconds, MAX_SECONDS) * RATE)
        left, right = array("h", bytes(2 * n)), array("h", bytes(2 * n))
        pos, who = 0, "agent"  # the agent greets first
        while pos < n:
            lane = right if who == "agent" else left
            end = min(n, pos + int(rng.uniform(1.5, 6.0) * RATE))
            while pos < end:
                syl = rng.choice(self.bank[who])
                take = min(len(syl), n - pos)
                lane[pos : pos + take] = syl[:take]
                pos += take + int(rng.uniform(0.02, 0.12) * RATE)
            pos += int(rng.uniform(0.3, 1.0) * RATE)
            who = "caller" if who == "agent" else "agent"
        for start, stop, kind in segments:
            a, b = max(0, int(start * RATE)), min(n, int(stop * RATE))
            if b <= a:
                continue
            silent = array("h", bytes(2 * (b - a)))
            if kind == "hold":  # silence from the agent, music to the caller
                right[a:b] = silent
                for p in range(a, b, len(self.moh)):
                    take = min(len(self.moh), b - p)
                    left[p : p + take] = array("h", (v // 4 for v in self.moh[:take]))
            else:  # MixMonitorMute: read = what the caller says, write = what they hear
                if kind in ("mute-read", "mute-both"):
                    left[a:b] = silent
                if kind in ("mute-write", "mute-both"):
                    right[a:b] = silent
        return left, right


class WavWriter:
    """Plugged into PBX.wav_writer: writes each stopped recording."""

    def __init__(self, seed: int = 0) -> None:
        self.voices = Voices(seed)
        self.seed = seed

    def __call__(self, rec: Recording, seconds: float) -> None:
        rng = random.Random(f"{self.seed}-{rec.path.name}")
        left, right = self.voices.lanes(seconds, rec.segments, rng)
        frames = array("h", bytes(4 * len(left)))
        frames[0::2] = left
        frames[1::2] = right
        write_wav(rec.path, frames)


def write_wav(path: Path, frames: array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames.tobytes())
    tmp.replace(path)
