#!/usr/bin/env bash
# Synthesize the short two-speaker sample calls in content/calls/ (WAV, mono, 16 kHz, 16-bit) with
# espeak-ng, plus each one's reference transcript (<name>.transcript.json: {"sha256","text","segments"})
# that the OpenAI emulator serves for those exact bytes. Reproducible: same espeak-ng, same bytes.
#   bash scripts/make_sample_audio.sh            (needs espeak-ng: apt-get install -y espeak-ng)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "espeak-ng is missing: apt-get install -y espeak-ng" >&2; exit 1; }
PY=${PYTHON:-.venv/bin/python}
exec "$PY" - "$@" <<'PYEOF'
import hashlib, json, subprocess, tempfile, wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

RATE, GAP_S, SPEED = 16000, 0.25, "175"
SELLER, BUYER = "en-us+m3", "en-gb+f3"  # two clearly different voices
CALLS = {
    "2026-12-05_summitfreight.com_intro": [
        ("Dana Reyes", SELLER, "Hi Omar, what made you take this call?"),
        ("Omar Haddad", BUYER, "Our forecast is a spreadsheet. But the price worries me."),
        ("Dana Reyes", SELLER, "I'll send pricing options by Friday."),
    ],
    "2026-12-06_brightpath.io_pilot_checkin": [
        ("Marcus Lee", SELLER, "Elena, how is the pilot going?"),
        ("Elena Rossi", BUYER, "Good. The HubSpot sync is fast."),
        ("Marcus Lee", SELLER, "Can we book Jonah next week?"),
        ("Elena Rossi", BUYER, "Yes, I'll invite him."),
    ],
    "2026-12-08_acme.com_pricing_followup": [
        ("Dana Reyes", SELLER, "Tom, did the phased option work?"),
        ("Tom Becker", BUYER, "It's still over budget. I need board approval."),
        ("Dana Reyes", SELLER, "I'll send a revised quote tomorrow."),
    ],
}

out = Path("content/calls")
with tempfile.TemporaryDirectory() as tmp:
    for name, turns in CALLS.items():
        pcm, segments, t = [], [], 0.0
        for i, (speaker, voice, text) in enumerate(turns):
            raw = Path(tmp) / f"{name}-{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", SPEED, "-w", str(raw), text], check=True)
            with wave.open(str(raw)) as w:
                x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)
                rate = w.getframerate()
            y = resample_poly(x, RATE, rate)
            nz = np.flatnonzero(np.abs(y) > 200)  # trim espeak's leading/trailing silence
            y = y[nz[0]: nz[-1] + 1] if nz.size else y
            start = t
            t += len(y) / RATE
            segments.append({"id": i, "start": round(start, 3), "end": round(t, 3), "text": " " + text, "speaker": speaker})
            pcm += [y, np.zeros(int(GAP_S * RATE), dtype=np.float32)]
            t += GAP_S
        audio = np.clip(np.concatenate(pcm[:-1]), -32768, 32767).astype("<i2")
        wav = out / f"{name}.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE)
            w.writeframes(audio.tobytes())
        sha = hashlib.sha256(wav.read_bytes()).hexdigest()
        ref = {"sha256": sha, "text": " ".join(s["text"].strip() for s in segments), "segments": segments}
        (out / f"{name}.transcript.json").write_text(json.dumps(ref, indent=1) + "\n", encoding="utf-8")
        size = wav.stat().st_size
        print(f"{wav}  {size / 1024:.0f} KiB  {len(audio) / RATE:.1f} s  sha256 {sha[:12]}")
        assert size < 300 * 1024, f"{wav} is {size} bytes: keep samples under 300 KB"
PYEOF
