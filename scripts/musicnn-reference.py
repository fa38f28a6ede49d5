#!/usr/bin/env python3
"""Reference outputs of musicnn 0.1.0 (TensorFlow) for Timbre's Swift implementation.

Run it in a throw-away virtual environment, never from tests:
  python3 -m venv /tmp/venv-musicnn
  /tmp/venv-musicnn/bin/pip install tensorflow-cpu tf-keras librosa==0.11.0
  /tmp/venv-musicnn/bin/pip install --no-deps "$(scripts/fetch-musicnn)/musicnn-0.1.0-py3-none-any.whl"

Subcommands
  fixtures --out DIR [--clip FILE]...   per-patch outputs (penultimate, mean_pool, max_pool, tags) of
                                        MSD_musicnn and MTT_musicnn for each clip and for the synthetic
                                        signal below, as JSON; each clip's log-mel input to the network
                                        as float32 little-endian (frames × 96)
  embed FILE... --model M [--layer L]   track vector (mean over patches), one CSV line per file
  bench FILE... [--threads N]           seconds per audio-minute: librosa load + spectrogram + TF (wall
                                        and process CPU time), and the network alone (JSON on stdout)

The one deliberate deviation from musicnn's extractor.batch_data: it rounds the mel power spectrogram
to float16 and computes log10(10000·S + 1) in float16, which overflows to inf once 10000·S > 65504
(most 3 s patches of loud music); here the float16 rounding is kept (it is part of the model's input)
and the log is computed in float32. Weights are restored with an explicit error on failure (musicnn
restores inside a bare `except`, which silently leaves random weights).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

# musicnn builds its graph with tf.compat.v1.layers, which TensorFlow ≥ 2.16 only offers through
# the legacy Keras 2 package (tf-keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

SR, HOP, N_FFT, N_MELS, N_FRAMES = 16000, 256, 512, 96, 187
LAYERS = ("penultimate", "mean_pool", "max_pool", "tags")


def synthetic(seconds=7.0):
    """A deterministic test signal defined with integer steps and correctly rounded float64
    arithmetic only, so Swift builds exactly the same float32 samples (MusicnnReferenceSignal)."""
    n = int(seconds * SR)
    saw_periods = [73, 61, 97, 49, 121, 83, 67, 109, 55, 89, 71, 101, 59, 113]
    square_halves = [40, 30, 53, 36, 45, 27, 61, 33, 50, 38, 29, 57, 42, 35]
    out = np.zeros(n, dtype=np.float32)
    state = 12345
    for i in range(n):
        segment = i // 8000
        p = saw_periods[segment % len(saw_periods)]
        h = square_halves[(segment * 3) % len(square_halves)]
        saw = 2.0 * (i % p) / p - 1.0
        square = 1.0 if (i // h) % 2 == 0 else -1.0
        state = (1664525 * state + 1013904223) % 4294967296
        noise = (state >> 8) / 16777216.0 * 2.0 - 1.0
        k = i % 4000
        burst = (1.0 - k / 800.0) if k < 800 else 0.0
        out[i] = np.float32(0.35 * saw + 0.2 * square + 0.45 * burst * noise)
    return out


def load(path):
    import librosa
    if path == "synthetic":
        return synthetic()
    y, _ = librosa.load(path, sr=SR)
    return y


def log_mel(y):
    import librosa
    S = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    rounded = S.astype(np.float16)
    with np.errstate(over="ignore"):
        overflowing = int(np.isinf(np.log10(10000 * rounded + 1)).sum())
    return np.log10(10000 * rounded.astype(np.float32) + 1).astype(np.float32), overflowing


def patches(rep):
    starts = range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    return np.stack([rep[s:s + N_FRAMES] for s in starts]) if len(starts) else np.zeros((0, N_FRAMES, N_MELS), np.float32)


class Network:
    def __init__(self, weights, model, threads=None):
        import tensorflow as tf
        tf.compat.v1.disable_eager_execution()
        from musicnn import models
        tf.compat.v1.reset_default_graph()
        self.graph = tf.compat.v1.get_default_graph()
        with tf.name_scope("model"):
            self.x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
            self.training = tf.compat.v1.placeholder(tf.bool)
            y, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(self.x, self.training, model, 50)
            self.outputs = [penultimate, mean_pool, max_pool, tf.nn.sigmoid(y)]
        config = tf.compat.v1.ConfigProto()
        if threads:
            config.intra_op_parallelism_threads = threads
            config.inter_op_parallelism_threads = threads
        self.session = tf.compat.v1.Session(config=config)
        tf.compat.v1.train.Saver().restore(self.session, os.path.join(weights, model) + "/")

    def run(self, batch):
        return dict(zip(LAYERS, self.session.run(self.outputs, {self.x: batch, self.training: False})))


def weights_dir(args):
    return args.weights or os.environ.get("TIMBRE_MUSICNN_DIR") or os.path.expanduser("~/.cache/timbre/musicnn")


def fixtures(args):
    import librosa
    import tensorflow as tf
    os.makedirs(args.out, exist_ok=True)
    clips = list(args.clip) + ["synthetic"]
    inputs = {}
    for clip in clips:
        rep, overflowing = log_mel(load(clip))
        inputs[clip] = (rep, overflowing)
        # The network's exact input: tests feed it to the Swift network to check the network alone.
        rep.astype("<f4").tofile(os.path.join(args.out, os.path.basename(clip) + ".logmel.f32"))
    for model in ("MSD_musicnn", "MTT_musicnn"):
        net = Network(weights_dir(args), model)
        for clip in clips:
            rep, overflowing = inputs[clip]
            batch = patches(rep)
            out = net.run(batch)
            doc = {
                "made_by": f"scripts/musicnn-reference.py: musicnn 0.1.0, TensorFlow {tf.__version__}, "
                           f"librosa {librosa.__version__}, numpy {np.__version__}; float32 log",
                "model": model, "clip": os.path.basename(clip), "frames": int(rep.shape[0]),
                "float16_log_overflows": overflowing,
                "patches": {layer: [[float(f"{v:.8g}") for v in row] for row in out[layer]] for layer in LAYERS},
            }
            name = os.path.join(args.out, f"{os.path.basename(clip)}.{model}.json")
            with open(name, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
            print(f"{name}: {batch.shape[0]} patches, {overflowing} float16 log overflows", file=sys.stderr)


def embed(args):
    net = Network(weights_dir(args), {"musicnn-msd": "MSD_musicnn", "musicnn-mtt": "MTT_musicnn"}.get(args.model, args.model))
    for path in args.files:
        rep, _ = log_mel(load(path))
        vector = net.run(patches(rep))[args.layer].mean(axis=0)
        print(",".join([path] + [f"{v:.8g}" for v in vector]))


def bench(args):
    net = Network(weights_dir(args), "MSD_musicnn", threads=args.threads)
    total_audio = total = network_only = cpu = 0.0
    for path in args.files:
        cpu_start = time.process_time()
        start = time.perf_counter()
        y = load(path)
        rep, _ = log_mel(y)
        batch = patches(rep)
        middle = time.perf_counter()
        for i in range(0, len(batch), 1):  # musicnn's extractor feeds one patch per run (BATCH_SIZE = 1)
            net.run(batch[i:i + 1])
        end = time.perf_counter()
        cpu += time.process_time() - cpu_start
        total += end - start
        network_only += end - middle
        total_audio += len(y) / SR
    minutes = total_audio / 60
    json.dump({"audio_minutes": minutes, "threads": args.threads,
               "seconds_per_audio_minute": total / minutes, "cpu_seconds_per_audio_minute": cpu / minutes,
               "network_seconds_per_audio_minute": network_only / minutes}, sys.stdout)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="folder printed by scripts/fetch-musicnn")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fixtures")
    p.add_argument("--out", required=True)
    p.add_argument("--clip", action="append", default=[])
    p = sub.add_parser("embed")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default="musicnn-msd")
    p.add_argument("--layer", default="penultimate", choices=LAYERS)
    p = sub.add_parser("bench")
    p.add_argument("files", nargs="+")
    p.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    {"fixtures": fixtures, "embed": embed, "bench": bench}[args.command](args)


if __name__ == "__main__":
    main()
