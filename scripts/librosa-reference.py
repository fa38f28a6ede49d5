#!/usr/bin/env python3
"""Reference outputs from librosa 0.11 for Timbre's audio front end.

Subcommands
  mfcc FILE [--offset S] [--duration S] [--out X.csv]   librosa MFCC (rows = coefficients)
  load FILE [--offset S] [--duration S] --out X.f32      librosa.load samples, float32 little-endian
  fixtures --music DIR --out Tests/TimbreAudioTests/Fixtures
                                                         cut the committed clips from Debian's game
                                                         music and write their reference outputs
  compare FILE... [--timbre PATH] [--duration S]         run `timbre audio mfcc` and librosa on each
                                                         file, report max abs / rel error
  bench FILE...                                          librosa timings (JSON on stdout), one thread

librosa comes from PyPI. If it is not importable, a virtual environment is created at
$TIMBRE_LIBROSA_VENV (default ~/.cache/timbre/librosa-venv, outside the repository) with
`pip install librosa==0.11.0 soxr soundfile`, and the script re-runs itself there.
"""
import os
import sys

# One thread everywhere, so timings compare with our single-core figures.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")


def ensure_librosa():
    try:
        import librosa  # noqa: F401
        if librosa.__version__ != "0.11.0":
            print(f"warning: librosa {librosa.__version__}, references are defined for 0.11.0", file=sys.stderr)
        return
    except ImportError:
        pass
    if os.environ.get("TIMBRE_LIBROSA_BOOTSTRAPPED"):
        sys.exit("librosa still not importable after installing it")
    venv = os.environ.get("TIMBRE_LIBROSA_VENV", os.path.expanduser("~/.cache/timbre/librosa-venv"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python) and os.environ.get("TIMBRE_LIBROSA_NO_INSTALL"):
        sys.exit("librosa is not installed (TIMBRE_LIBROSA_NO_INSTALL is set)")
    if not os.path.exists(python):
        import subprocess
        print(f"creating {venv} with librosa 0.11.0 from PyPI …", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", "-q", "librosa==0.11.0", "soxr", "soundfile"])
    os.environ["TIMBRE_LIBROSA_BOOTSTRAPPED"] = "1"
    os.execv(python, [python] + sys.argv)


ensure_librosa()

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ABS_TOL, REL_TOL = 1e-3, 1e-4


def load(path, offset=0.0, duration=None):
    y, _ = librosa.load(path, sr=22050, offset=offset, duration=duration)
    return y


def mfcc(path, offset=0.0, duration=None):
    return librosa.feature.mfcc(y=load(path, offset, duration), sr=22050)


def write_csv(matrix, out):
    np.savetxt(out, matrix, fmt="%.9g", delimiter=",")


def cmd_mfcc(args):
    write_csv(mfcc(args.file, args.offset, args.duration), args.out or sys.stdout)


def cmd_load(args):
    load(args.file, args.offset, args.duration).astype("<f4").tofile(args.out)


# name, source (relative to the extracted packages), start s, seconds, channels, rate, format, subtype
FIXTURES = [
    ("wesnoth-battle.ogg", "usr/share/games/wesnoth/1.16/data/core/music/battle.ogg", 30, 4, 2, 44100, "OGG", "VORBIS"),
    ("warzone-track1.opus", "usr/share/games/warzone2100/music/albums/original_soundtrack/track1.opus", 60, 4, 2, 48000, "OGG", "OPUS"),
    ("wesnoth-elvish-22k-mono.flac", "usr/share/games/wesnoth/1.16/data/core/music/elvish-theme.ogg", 20, 3, 1, 22050, "FLAC", "PCM_16"),
    ("warzone-menu-16k-mono.wav", "usr/share/games/warzone2100/music/menu.opus", 10, 3, 1, 16000, "WAV", "PCM_16"),
    ("wesnoth-knolls.mp3", "usr/share/games/wesnoth/1.16/data/core/music/knolls.ogg", 40, 4, 2, 44100, "MP3", "MPEG_LAYER_III"),
]
# A second librosa call with offset/duration, on each file that resamples.
OFFSET, DURATION = 0.5, 1.0


def cmd_fixtures(args):
    import soxr
    out = args.out
    ref = os.path.join(out, "reference")
    os.makedirs(ref, exist_ok=True)
    for name, source, start, seconds, channels, rate, fmt, subtype in FIXTURES:
        with sf.SoundFile(os.path.join(args.music, source)) as f:
            f.seek(int(start * f.samplerate))
            clip = f.read(int(seconds * f.samplerate), dtype="float32", always_2d=True)
            native = f.samplerate
        if channels == 1:
            clip = clip.mean(axis=1, keepdims=True)
        if rate != native:
            clip = soxr.resample(clip, native, rate, quality="VHQ")
        # A short fade keeps the cut edges from clicking.
        fade = np.linspace(0, 1, int(0.02 * rate), dtype=np.float32)[:, None]
        clip[: len(fade)] *= fade
        clip[-len(fade):] *= fade[::-1]
        path = os.path.join(out, name)
        sf.write(path, np.clip(clip, -1, 1), rate, format=fmt, subtype=subtype)
        write_csv(mfcc(path), os.path.join(ref, name + ".mfcc.csv"))
        write_csv(mfcc(path, OFFSET, DURATION), os.path.join(ref, name + ".offset.mfcc.csv"))
        load(path, OFFSET, DURATION).astype("<f4").tofile(os.path.join(ref, name + ".load.f32"))
        print(f"{name}: {os.path.getsize(path)} bytes", file=sys.stderr)

    # Bad inputs: each must fail with a clear error naming the file.
    good_ogg = open(os.path.join(out, "wesnoth-battle.ogg"), "rb").read()
    good_wav = open(os.path.join(out, "warzone-menu-16k-mono.wav"), "rb").read()
    open(os.path.join(out, "bad-empty.wav"), "wb").close()
    with open(os.path.join(out, "bad-not-audio.ogg"), "w") as f:
        f.write("This is a text file with an audio extension.\n" * 20)
    with open(os.path.join(out, "bad-truncated.ogg"), "wb") as f:
        f.write(good_ogg[: len(good_ogg) * 2 // 5])
    with open(os.path.join(out, "bad-truncated.wav"), "wb") as f:
        f.write(good_wav[: len(good_wav) // 2])
    sf.write(os.path.join(out, "bad-silent.wav"), np.zeros(8000, dtype=np.float32), 8000, subtype="PCM_16")


def read_timbre_csv(text):
    return np.array([[float(v) for v in line.split(",")] for line in text.strip().splitlines()], dtype=np.float64)


def cmd_compare(args):
    worst_abs = worst_rel = 0.0
    failures = 0
    for path in args.files:
        cmd = [args.timbre, "audio", "mfcc", path, "--format", "csv"]
        if args.duration is not None:
            cmd += ["--duration", str(args.duration)]
        ours = read_timbre_csv(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        theirs = mfcc(path, 0.0, args.duration).astype(np.float64)
        if ours.shape != theirs.shape:
            print(f"{path}: shape {ours.shape} vs librosa {theirs.shape}")
            failures += 1
            continue
        diff = np.abs(ours - theirs)
        rel = diff / np.maximum(np.abs(theirs), 1e-30)
        bad = int(np.sum((diff > ABS_TOL) & (rel > REL_TOL)))
        worst_abs, worst_rel = max(worst_abs, diff.max()), max(worst_rel, rel[diff > ABS_TOL].max(initial=0))
        failures += bad > 0
        print(f"{path}: {theirs.shape[0]}x{theirs.shape[1]} max abs {diff.max():.3g}, "
              f"max rel where abs > {ABS_TOL:g}: {rel[diff > ABS_TOL].max(initial=0):.3g}, outside tolerance: {bad}")
    print(f"overall: max abs {worst_abs:.3g}, max rel (where abs > {ABS_TOL:g}) {worst_rel:.3g}, "
          f"files outside tolerance: {failures}/{len(args.files)}")
    sys.exit(1 if failures else 0)


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def cmd_bench(args):
    result = {"librosa": librosa.__version__, "load_mfcc_ms": {}, "load_ms": {}}
    clip = load(args.files[0], 0.0, 30.0)
    result["clip_frames"] = int(1 + len(clip) // 512)
    librosa.feature.mfcc(y=clip, sr=22050)  # warm caches (mel basis, FFT plans)
    result["mfcc_ms"] = median_ms(lambda: librosa.feature.mfcc(y=clip, sr=22050), args.repeats)
    for path in args.files:
        result["load_ms"][path] = median_ms(lambda: load(path, 0.0, 30.0), max(3, args.repeats // 3))
        result["load_mfcc_ms"][path] = median_ms(
            lambda: librosa.feature.mfcc(y=load(path, 0.0, 30.0), sr=22050), max(3, args.repeats // 3))
    json.dump(result, sys.stdout)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("mfcc", "load"):
        p = sub.add_parser(name)
        p.add_argument("file")
        p.add_argument("--offset", type=float, default=0.0)
        p.add_argument("--duration", type=float)
        p.add_argument("--out", required=name == "load")
    p = sub.add_parser("fixtures")
    p.add_argument("--music", required=True, help="folder where the Debian music packages were dpkg -x'ed")
    p.add_argument("--out", default="Tests/TimbreAudioTests/Fixtures")
    p = sub.add_parser("compare")
    p.add_argument("files", nargs="+")
    p.add_argument("--timbre", default=".build/release/timbre")
    p.add_argument("--duration", type=float)
    p = sub.add_parser("bench")
    p.add_argument("files", nargs="+")
    p.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    {"mfcc": cmd_mfcc, "load": cmd_load, "fixtures": cmd_fixtures, "compare": cmd_compare, "bench": cmd_bench}[args.command](args)


if __name__ == "__main__":
    main()
