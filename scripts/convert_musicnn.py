"""Convert the ``musicnn`` 0.1.0 package's TensorFlow checkpoints (MSD_musicnn, MTT_musicnn) into
safetensors bundles in resources/, and record the original graph's outputs as the tests' references.

TensorFlow runs only here, in a throwaway environment this script makes (``--env``, or
``--tf-python`` for an existing one holding tensorflow-cpu, tf-keras, librosa and
``musicnn==0.1.0`` installed with ``--no-deps``: its metadata pins an ancient numpy). The script
calls itself inside that environment (``--tf-side``) to dump every checkpoint variable and to run
the package's own graph (``musicnn.models.define_model``) on the test audio; everything else runs
here, with the project's code.

The references are made from the audio the app decodes (``trainer.runtime.audio.decode`` at 16 kHz, up to
the last non-zero sample) and a float32 mel computed with librosa as the package does, but without
its cast to float16 before the log (which overflows to infinity on loud music); audio shorter than
one patch is repeat-padded frame by frame as in the models' training.

Usage: python scripts/convert_musicnn.py [--tf-python PATH | --env DIR] [--references] [--work DIR]
       python scripts/convert_musicnn.py --time --work DIR [--tf-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SOURCES = ("MSD_musicnn", "MTT_musicnn")
PACKAGES = (["tensorflow-cpu", "tf-keras", "librosa"], ["--no-deps", "musicnn==0.1.0"])
PATCH_FRAMES = 187
# Reference data kept per clip: tag probabilities of the first patches, activations of the first.
REFERENCE_PATCHES = 3
EXCERPTS_PER_GENRE = 2
# The clip whose input mel is stored to test the front end alone: its first patch and last frames.
MEL_CLIP = "genres_original/rock.00000"
MEL_TAIL = 32
# TF variable scope -> the torch port's module, in the order build_musicnn creates them.
LAYERS = {
    "batch_normalization": "input_bn",
    "conv2d": "timbral.0.conv", "batch_normalization_1": "timbral.0.bn",
    "conv2d_1": "timbral.1.conv", "batch_normalization_2": "timbral.1.bn",
    "conv2d_2": "temporal.0.conv", "batch_normalization_3": "temporal.0.bn",
    "conv2d_3": "temporal.1.conv", "batch_normalization_4": "temporal.1.bn",
    "conv2d_4": "temporal.2.conv", "batch_normalization_5": "temporal.2.bn",
    "conv2d_5": "midend.0.conv", "batch_normalization_6": "midend.0.bn",
    "conv2d_6": "midend.1.conv", "batch_normalization_7": "midend.1.bn",
    "conv2d_7": "midend.2.conv", "batch_normalization_8": "midend.2.bn",
    "batch_normalization_9": "pool_bn",
    "dense": "dense", "batch_normalization_10": "dense_bn",
    "dense_1": "output",
}
PARAMS = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
          "moving_mean": "running_mean", "moving_variance": "running_var"}
BUNDLE_NAMES = {"MSD_musicnn": "musicnn-msd", "MTT_musicnn": "musicnn-mtt"}
#: The shipped taggers' window policy: 4 of each 30-s window's ten 3-s patches, spread over it
#: (``scripts/musicnn_patch_policy.py`` measures what that costs; the README's "MusiCNN on the CPU").
SHIPPED_PATCHES = 4
#: Of the 30 real clips, how many name the same genres on SHIPPED_PATCHES patches as on all ten.
POLICY_NAMED = {"MSD_musicnn": "27", "MTT_musicnn": "24"}


# --- inside the TensorFlow environment ---------------------------------------------------------

def tf_side(work: Path) -> None:
    """Dump each checkpoint's variables; run the original graph on ``audio.npz`` if present."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import librosa
    import musicnn
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    package = Path(musicnn.__file__).parent
    audio = dict(np.load(work / "audio.npz")) if (work / "audio.npz").exists() else {}
    mels = {}
    for clip, samples in audio.items():
        mel = librosa.feature.melspectrogram(y=samples, sr=config.SR, hop_length=config.FFT_HOP,
                                             n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T.astype(np.float32)
        if len(mel) < PATCH_FRAMES:   # the training's pad_short: repeat-pad
            mel = np.tile(mel, (-(-PATCH_FRAMES // len(mel)), 1))[:PATCH_FRAMES]
        mels[clip] = np.log10(np.float32(10000) * mel + np.float32(1))
    if mels:
        np.savez(work / "mels.npz", **mels)
    for source in SOURCES:
        prefix = f"{package / source}/"
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        variables = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
                     if "Adam" not in name and not name.startswith("beta")}
        np.savez(work / f"weights-{source}.npz", **variables)
        (work / f"labels-{source}.json").write_text(json.dumps(
            config.MSD_LABELS if source.startswith("MSD") else config.MTT_LABELS))
        (work / f"result-{source}.txt").write_text((package / source / "experiment.result").read_text())
        if not mels:
            continue
        graph = tf.Graph()
        with graph.as_default():
            with tf.name_scope("model"):
                x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, config.N_MELS])
                is_training = tf.compat.v1.placeholder(tf.bool)
                logits, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(x, is_training, source, 50)
                probs = tf.nn.sigmoid(logits)
            session = tf.compat.v1.Session(graph=graph)
            tf.compat.v1.train.Saver().restore(session, prefix)
        outputs = {}
        for clip, mel in mels.items():
            count = len(mel) // PATCH_FRAMES
            patches = mel[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, -1)
            values = session.run([probs, max_pool, mean_pool, penultimate], {x: patches, is_training: False})
            for key, value in zip(("probs", "max_pool", "mean_pool", "penultimate"), values):
                outputs[f"{clip}/{key}"] = value
        session.close()
        np.savez(work / f"outputs-{source}.npz", **outputs)


def tf_timing(work: Path, batch: int = 64, rounds: int = 3) -> None:
    """Time the original per 3-s patch: the package's librosa mel (on 30 s of ``audio.npz``'s first
    clip) and its graph on batches of ``batch`` patches; prints ms per patch."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import time

    import librosa
    import musicnn
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    samples = next(iter(np.load(work / "audio.npz").values()))[: 30 * config.SR]

    def log_mel() -> np.ndarray:
        mel = librosa.feature.melspectrogram(y=samples, sr=config.SR, hop_length=config.FFT_HOP,
                                             n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
        return np.log10(10000 * mel.astype(np.float32) + 1)

    log_mel()   # the first call builds the filterbank and caches
    started = time.perf_counter()
    for _ in range(rounds):
        mel = log_mel()
    mel_ms = (time.perf_counter() - started) / rounds / (len(mel) // PATCH_FRAMES) * 1e3
    graph = tf.Graph()
    with graph.as_default():
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, config.N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            probs = tf.nn.sigmoid(models.define_model(x, is_training, "MSD_musicnn", 50)[0])
        session = tf.compat.v1.Session(graph=graph)
        tf.compat.v1.train.Saver().restore(session, f"{Path(musicnn.__file__).parent / 'MSD_musicnn'}/")
    patches = np.random.default_rng(0).uniform(0, 3, (batch, PATCH_FRAMES, config.N_MELS)).astype(np.float32)
    session.run(probs, {x: patches, is_training: False})
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        session.run(probs, {x: patches, is_training: False})
    net_ms = (time.perf_counter() - started) / rounds / batch * 1e3
    net_cpu = (time.process_time() - cpu) / rounds / batch * 1e3
    print(f"original (TensorFlow {tf.__version__}, batches of {batch}): mel {mel_ms:.1f} ms/patch (librosa), "
          f"network {net_ms:.1f} ms/patch wall, {net_cpu:.1f} ms/patch CPU")


def torch_timing(work: Path, batch: int = 64, rounds: int = 3) -> None:
    """The port's figures in the same terms as ``tf_timing``, and per stage of the network."""
    import time

    import torch

    from trainer.runtime import bundle as runtime_bundle
    from trainer.runtime.features.musicnn import MusicnnMel

    samples = next(iter(np.load(work / "audio.npz").values()))[None, : 30 * 16000]
    pipeline = MusicnnMel()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # as in the tagger's workers: small FFTs and products lose on two threads
    pipeline(samples)
    started = time.perf_counter()
    for _ in range(rounds):
        count = pipeline(samples).shape[1]
    mel_ms = (time.perf_counter() - started) / rounds / count * 1e3
    torch.set_num_threads(threads)
    net = runtime_bundle.load(Path(__file__).resolve().parents[1] / "resources" / "musicnn-msd").model.net
    patches = torch.from_numpy(np.random.default_rng(0).uniform(0, 3, (batch, PATCH_FRAMES, 96)).astype(np.float32))
    with torch.inference_mode():
        x = net.input_bn(patches.unsqueeze(1))
        front = torch.cat([b.timbral(x) for b in net.timbral] + [b.temporal(x) for b in net.temporal], dim=1)
        stages = {f"timbral {tuple(b.conv.kernel_size)}": (lambda b=b: b.timbral(x)) for b in net.timbral}
        stages |= {f"temporal {tuple(b.conv.kernel_size)}": (lambda b=b: b.temporal(x)) for b in net.temporal}
        stages["mid end"] = lambda: net.midend[0].midend(front)
        stages["whole network"] = lambda: net(patches)
        for name, stage in stages.items():
            stage()
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(rounds):
                stage()
            wall = (time.perf_counter() - started) / rounds / batch * 1e3
            print(f"port {name:<22} {wall:7.1f} ms/patch wall, {(time.process_time() - cpu) / rounds / batch * 1e3:7.1f} ms/patch CPU")
    print(f"port mel (torch, one thread) {mel_ms:.1f} ms/patch; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"batches of {batch}")


# --- in the project's environment --------------------------------------------------------------

def make_env(folder: Path) -> Path:
    """A venv at ``folder`` with what the TensorFlow side needs; returns its python."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        for packages in PACKAGES:
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def state_dict(variables: dict[str, np.ndarray], target: dict) -> dict:
    """The port's state dict from the checkpoint's variables; every variable used, every
    parameter and statistic filled, every shape checked."""
    import torch

    out = {}
    for name, value in variables.items():
        scope, param = name.rsplit("/", 1)
        key = f"{LAYERS[scope]}.{PARAMS[param]}"
        shape = tuple(target[key].shape)
        if param == "kernel" and value.ndim == 2:          # dense (in, out) -> (out, in)
            value = value.T
        elif param == "kernel" and len(shape) == 4:        # conv2d HWIO -> OIHW
            value = value.transpose(3, 2, 0, 1)
        elif param == "kernel":                            # (7, width, 1, out) over one channel -> conv1d (out, width, 7)
            value = value[:, :, 0, :].transpose(2, 1, 0)
        if value.shape != shape:
            raise SystemExit(f"error: {name} {value.shape} does not fit {key} {shape}")
        out[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    missing = {k for k in target if not k.endswith("num_batches_tracked")} - set(out)
    if missing:
        raise SystemExit(f"error: the checkpoint lacks {', '.join(sorted(missing))}")
    out.update({k: v for k, v in target.items() if k.endswith("num_batches_tracked")})
    return out


def clips(data: Path) -> list[Path]:
    """The 30 real clips and the first ``EXCERPTS_PER_GENRE`` excerpts of each genre."""
    real = sorted(p for p in (data / "genres_original").glob("*/*.wav") if p.stem != "jazz.00054")
    excerpts = [p for genre in sorted((data / "excerpts").iterdir()) if genre.is_dir()
                for p in sorted(genre.glob("*.wav"))[:EXCERPTS_PER_GENRE]]
    return real + excerpts


def clip_name(path: Path) -> str:
    """``genres_original/rock.00001`` or ``excerpts/rock.00001``: the excerpts share song ids with the clips."""
    return f"{path.parents[1].name}/{path.stem}"


def decode_clips(paths: list[Path]) -> dict[str, np.ndarray]:
    from trainer.runtime.audio import decode
    from trainer.runtime.features.musicnn import SAMPLE_RATE, audio_length

    audio = {}
    for path in paths:
        samples = decode(path, SAMPLE_RATE).samples
        audio[clip_name(path)] = samples[: audio_length(samples)]
    return audio


def model_card(source: str, labels: list[str], result: str) -> str:
    data = {"MSD_musicnn": "the Million Song Dataset: 30-s previews of about 200,000 songs with the 50 most "
                           "frequent Last.fm tags as labels (Pons & Serra's split)",
            "MTT_musicnn": "MagnaTagATune: about 25,000 29-s clips from Magnatune's catalogue, with the 50 most "
                           "frequent tags of the TagATune game as labels"}[source]
    scores = ", ".join(line.strip() for line in result.splitlines() if "AUC" in line)
    return f"""# MusiCNN {source.split('_')[0]} tagger (converted)

**Source.** `musicnn` 0.1.0 from the Python package registry, checkpoint `{source}`: the
musically motivated CNN of J. Pons and X. Serra, "musicnn: pre-trained convolutional neural
networks for music audio tagging", ISMIR 2019 late-breaking demo. Converted from the package's
TensorFlow-1 checkpoint to safetensors by `scripts/convert_musicnn.py`; the torch port
(`trainer/methods/musicnn.py`) is held to the original graph's outputs on 30 GTZAN clips and 20
GTZAN excerpts (`tests/trainer/musicnn`): tag probabilities within 1e-3 absolute, `max_pool` and
`penultimate` within 1e-3 of each vector's largest value, the same top-5 tags on every clip.

**Licence.** ISC. Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code
developed by Jordi Pons. Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above copyright notice and this
permission notice appear in all copies. THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS
ALL WARRANTIES WITH REGARD TO THIS SOFTWARE.

**Training data.** {data}. The package reports on its test set: {scores}.

**Input.** 16 kHz mono; mel power spectrogram (n_fft 512, hop 256, 96 bands, librosa's
defaults otherwise); `log10(10000 * x + 1)` computed in float32 (the package's own extractor casts
the mel to float16 first, which overflows on loud music and makes every file look the same; the
models were trained without that cast); patches of 187 frames (3 s); a window's tags are the
mean over its patches; audio shorter than one patch is repeat-padded as in training. The app
judges 4 of each 30-s window's ten patches, spread from the first to the last (`--patches`, or
"Patches per window" in the settings, changes it; 10 judges all): on the 30 real GTZAN clips, 4
patches give the same top genre as all ten on 28 of 30 and the same genres named on {POLICY_NAMED[source]}
(`scripts/musicnn_patch_policy.py`), at about twice the speed on a CPU.

**Output.** 50 independent sigmoid probabilities per patch (they do not sum to 1), in this order:
{", ".join(labels)}.

**What it is not.** Not a genre classifier over a closed set: the tags mix genres with eras,
moods, instruments and voices, and several may be high at once. Not trained on GTZAN, nor on
anything outside its source's catalogue and tag vocabulary: tags reflect what that catalogue's
listeners wrote. Not retrainable here: heads for other labels learn from its embeddings
(`penultimate`, `max_pool`, `mean_pool`).
"""


def export_bundles(work: Path, resources: Path) -> None:
    import shutil

    from trainer import bundle
    from trainer.methods import create
    from trainer.runtime import bundle as runtime_bundle
    from trainer.runtime.features import make

    for source in SOURCES:
        labels = json.loads((work / f"labels-{source}.json").read_text())
        method = create(BUNDLE_NAMES[source], labels)
        weights = dict(np.load(work / f"weights-{source}.npz"))
        method.net.load_state_dict(state_dict(weights, method.net.state_dict()))
        result = (work / f"result-{source}.txt").read_text()
        staging = Path(tempfile.mkdtemp(prefix="musicnn-")) / BUNDLE_NAMES[source]
        target = resources / BUNDLE_NAMES[source]
        # the genre vocabulary is curated by hand in the shipped manifest: a new conversion keeps it
        kept = runtime_bundle.read_manifest(target).vocabulary if (target / runtime_bundle.MANIFEST).is_file() else None
        bundle.export(staging, method, make("musicnn-mel", patches=SHIPPED_PATCHES), metrics={"package_test_set": result.strip()},
                      training_data=source.split("_")[0], notes="converted from the musicnn 0.1.0 package",
                      vocabulary=kept)
        (staging / "MODEL_CARD.md").write_text(model_card(source, labels, result))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(staging, target)
        print(f"wrote {target}")


def write_references(work: Path, audio: dict[str, np.ndarray], folder: Path) -> None:
    """Per clip: probabilities of its first patches and activations of its first patch, for both
    taggers; plus the input mel of ``MEL_CLIP`` (first patch, last frames)."""
    refs: dict[str, np.ndarray] = {"clips": np.array(sorted(audio))}
    for source in SOURCES:
        outputs = np.load(work / f"outputs-{source}.npz")
        tag = source[:3].lower()
        for clip in sorted(audio):
            refs[f"{tag}/{clip}/probs"] = outputs[f"{clip}/probs"][:REFERENCE_PATCHES]
            for key in ("max_pool", "penultimate"):
                refs[f"{tag}/{clip}/{key}"] = outputs[f"{clip}/{key}"][:1]
    mel = np.load(work / "mels.npz")[MEL_CLIP]
    refs[f"mel/{MEL_CLIP}/head"] = mel[:PATCH_FRAMES]
    refs[f"mel/{MEL_CLIP}/tail"] = mel[-MEL_TAIL:]
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "references.npz", **refs)
    print(f"wrote {folder / 'references.npz'} ({(folder / 'references.npz').stat().st_size // 1024} KB)")


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tf-python", type=Path, help="python of an environment with tensorflow and musicnn")
    parser.add_argument("--env", type=Path, help="make that environment here (default: a temporary folder)")
    parser.add_argument("--resources", type=Path, default=repo / "resources")
    parser.add_argument("--references", action="store_true", help="also record the original graph's outputs")
    parser.add_argument("--data", type=Path, default=repo.parent / "shared/data/gtzan")
    parser.add_argument("--work", type=Path, help="keep the TensorFlow side's dumps here and reuse them when present")
    parser.add_argument("--time", action="store_true",
                        help="only time the original and the port per patch (needs --work from a --references run)")
    parser.add_argument("--tf-side", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tf-timing", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tf_side:
        tf_side(args.tf_side)
        return
    if args.tf_timing:
        tf_timing(args.tf_timing)
        return
    sys.path.insert(0, str(repo))
    if args.time:
        python = args.tf_python or make_env(args.env or Path(tempfile.mkdtemp()) / "env")
        subprocess.run([str(python), __file__, "--tf-timing", str(args.work)], check=True)
        torch_timing(args.work)
        return
    with tempfile.TemporaryDirectory(prefix="musicnn-convert-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        audio = decode_clips(clips(args.data)) if args.references else {}
        done = all((work / f"weights-{s}.npz").exists() and (not audio or (work / f"outputs-{s}.npz").exists())
                   for s in SOURCES)
        if not done:
            python = args.tf_python or make_env(args.env or Path(tmp) / "env")
            if audio:
                np.savez(work / "audio.npz", **audio)
            subprocess.run([str(python), __file__, "--tf-side", str(work)], check=True,
                           env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
        export_bundles(work, args.resources)
        if audio:
            write_references(work, audio, repo / "tests/trainer/musicnn/data")


if __name__ == "__main__":
    main()
