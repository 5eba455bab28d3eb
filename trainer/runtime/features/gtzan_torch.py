"""The GTZAN CSV feature set in torch: librosa's steps reproduced on a batch of windows.

The librosa engine (``gtzan_csv.librosa_features``) is the reference and costs about two seconds
of one core per 30-s window, two thirds of it in the two median filters of ``effects.hpss``. This
engine computes the same 58 columns for many windows at once, on CUDA when present and on the CPU
otherwise, from one STFT per window that every feature shares:

- magnitude: spectral centroid, bandwidth and rolloff, HPSS (its percussive signal is the input
  minus the harmonic one, so one inverse STFT serves both);
- power: chroma with its per-window tuning estimate (``piptrack``), the 128-band mel spectrogram;
- mel in dB: MFCC (DCT-II, ortho) and the onset envelope behind the tempo estimate;
- the waveform itself: RMS and zero-crossing rate.

Each step follows librosa 0.11's defaults (n_fft 2048, hop 512, periodic Hann, centred frames with
zero padding; edge padding for the zero-crossing rate; reflect mode for the median filters). The
filterbanks come from ``librosa.filters``, so their weights are bit-identical to the reference;
the DCT and the dB scale from torchaudio. The arithmetic is float32, with float64 only where
librosa's precision decides a discrete outcome (the tuning histogram, the tempo score) and for
the final means and variances.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import librosa
import numpy as np
import scipy.fft
import scipy.signal
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from trainer.runtime.device import resolve_device

N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 20
N_CHROMA = 12
HPSS_KERNEL = 31
ROLL_PERCENT = 0.85
ZCR_THRESHOLD = 1e-10
TOP_DB = 80.0
AMIN = 1e-10
# piptrack (inside chroma_stft's tuning estimate): band, peak threshold, histogram resolution.
PITCH_FMIN, PITCH_FMAX, PITCH_THRESHOLD = 150.0, 4000.0, 0.1
TUNING_BINS = 100
# feature.tempo: 8-s autocorrelation window, log-normal prior around 120 BPM, at most 320 BPM.
AC_SIZE_S, START_BPM, STD_BPM, MAX_TEMPO = 8.0, 120.0, 1.0, 320.0

_TINY32 = float(np.finfo(np.float32).tiny)
# Windows per chunk. On the CPU one at a time keeps a window's spectrograms (5 MB each) in cache;
# a chunk of two already costs 40% more per window. On CUDA, about 60 MB of intermediates a window.
_CHUNK = {"cpu": 1, "cuda": 64}
# Elements per pass of the median filter: cache-sized on the CPU, few kernel launches on a GPU.
_MEDIAN_BLOCK = {"cpu": 1 << 18, "cuda": 1 << 26}


@dataclass(frozen=True)
class _Constants:
    """Everything that depends only on the sample rate and the device, built once."""

    sample_rate: int
    window: torch.Tensor  # (N_FFT,) periodic Hann
    freqs: torch.Tensor  # (bins,) FFT bin frequencies in Hz
    freq_powers: torch.Tensor  # (3, bins): ones, frequencies and their squares
    mel: torch.Tensor  # (N_MELS, bins) librosa's Slaney mel filterbank, sparse (each bin feeds <= 2 bands)
    dct: torch.Tensor  # (N_MELS, N_MFCC) orthonormal DCT-II
    pitch_lo: int  # first FFT bin inside [PITCH_FMIN, PITCH_FMAX)
    pitch_hi: int  # one past the last
    tuning_edges: torch.Tensor  # (TUNING_BINS + 1,) float64 histogram edges of pitch_tuning
    ac_window: torch.Tensor  # (ac_len,) periodic Hann of the tempogram
    bpms: torch.Tensor  # (ac_len,) float64 tempo of each autocorrelation lag
    log_prior: torch.Tensor  # (ac_len,) float64, -inf at lags faster than MAX_TEMPO


@functools.lru_cache(maxsize=8)
def _constants(sample_rate: int, device: torch.device) -> _Constants:
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=N_FFT)
    band = np.flatnonzero((freqs >= PITCH_FMIN) & (freqs < min(PITCH_FMAX, sample_rate / 2)))
    ac_len = int(librosa.time_to_frames(AC_SIZE_S, sr=sample_rate, hop_length=HOP))
    bpms = librosa.tempo_frequencies(ac_len, hop_length=HOP, sr=sample_rate)
    log_prior = -0.5 * ((np.log2(bpms) - np.log2(START_BPM)) / STD_BPM) ** 2
    log_prior[: int(np.argmax(bpms < MAX_TEMPO))] = -np.inf

    def put(a: np.ndarray | torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.as_tensor(a).to(device=device, dtype=dtype)

    return _Constants(
        sample_rate=sample_rate,
        window=put(torch.hann_window(N_FFT, periodic=True)),
        freqs=put(freqs),
        freq_powers=put(np.stack([np.ones_like(freqs), freqs, freqs**2])),
        mel=_sparse(put(librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=N_MELS))),
        dct=put(AF.create_dct(N_MFCC, N_MELS, norm="ortho")),
        pitch_lo=int(band[0]),
        pitch_hi=int(band[-1]) + 1,
        tuning_edges=put(np.linspace(-0.5, 0.5, TUNING_BINS + 1), torch.float64),
        ac_window=put(scipy.signal.get_window("hann", ac_len, fftbins=True)),
        bpms=put(bpms, torch.float64),
        log_prior=put(log_prior, torch.float64),
    )


def _sparse(matrix: torch.Tensor) -> torch.Tensor:
    """CSR form of a filterbank that is mostly zeros: its product costs a tenth of the dense one."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return matrix.to_sparse_csr()


@functools.lru_cache(maxsize=512)
def _chroma_filterbank(sample_rate: int, tuning_index: int, device: torch.device) -> torch.Tensor:
    """librosa's chroma filterbank (N_CHROMA, bins) for one of the tunings pitch_tuning can return.

    Index ``TUNING_BINS`` stands for tuning 0.0, which is what librosa uses when no pitch is found.
    """
    edges = np.linspace(-0.5, 0.5, TUNING_BINS + 1)
    tuning = 0.0 if tuning_index == TUNING_BINS else float(edges[tuning_index])
    fb = librosa.filters.chroma(sr=sample_rate, n_fft=N_FFT, tuning=tuning, n_chroma=N_CHROMA)
    return torch.from_numpy(fb).to(device)


def float64_device(device: str | torch.device) -> torch.device:
    """The device ``device`` names (``auto`` as ``trainer.runtime.device`` resolves it), except that
    a device without float64 (Apple's MPS), which the tuning histogram and the statistics need,
    falls back to the CPU."""
    chosen = resolve_device(str(device))
    return torch.device("cpu") if chosen.type == "mps" else chosen


def torch_features(
    windows: np.ndarray, sample_rate: int, device: str | torch.device = "auto", chunk: int | None = None
) -> np.ndarray:
    """The 58 GTZAN CSV columns (``gtzan_csv.COLUMNS`` order) of each row of ``windows``.

    ``windows`` is (n, samples) mono float32 at ``sample_rate``; the result is (n, 58) float64.
    Windows go through the device ``chunk`` at a time (default: 1 on the CPU, 64 on CUDA).

    On the CPU the work is a long run of small operations, which torch's intra-op threads slow
    down rather than speed up; the tagger's decoding workers therefore run one thread each and
    compute their own tracks side by side. Filterbank products need full float32 precision,
    which ``trainer.runtime.device.configure_process`` sets for the whole process.
    """
    dev = float64_device(device)
    x = torch.from_numpy(np.ascontiguousarray(np.atleast_2d(windows), dtype=np.float32))
    if x.shape[0] == 0:
        return np.zeros((0, 58), dtype=np.float64)
    step = chunk or _CHUNK.get(dev.type, 16)
    consts = _constants(int(sample_rate), dev)
    with torch.inference_mode():
        rows = [_features(x[start : start + step].to(dev, non_blocking=True), consts).cpu()
                for start in range(0, x.shape[0], step)]
    return torch.cat(rows).numpy()


def _features(y: torch.Tensor, c: _Constants) -> torch.Tensor:
    """(B, samples) float32 -> (B, 58) float64 on the same device."""
    stft = torch.stft(y, N_FFT, HOP, window=c.window, center=True, pad_mode="constant", return_complex=True)
    # torch.stft stores frames contiguously; power and magnitude keep that layout (as (B, bins,
    # frames) views), so the median filter along time and the masked inverse STFT read rows.
    parts = torch.view_as_real(stft.transpose(1, 2))
    power = torch.addcmul(parts[..., 0].square(), parts[..., 1], parts[..., 1]).transpose(1, 2)
    magnitude = power.sqrt()
    centroid, bandwidth, rolloff = _spectral_shape(magnitude, c)
    mel = torch.stack([torch.sparse.mm(c.mel, p) for p in power])
    mel_db = AF.amplitude_to_DB(  # (B, 1, mels, frames): top_db counts from each window's own peak
        mel.unsqueeze(1), multiplier=10.0, amin=AMIN, db_multiplier=0.0, top_db=TOP_DB
    ).squeeze(1)
    mfcc = torch.matmul(mel_db.transpose(1, 2), c.dct).transpose(1, 2)
    harmonic = _harmonic(stft, magnitude, y.shape[-1], c)
    series = (
        _chroma(power, _tuning_index(power, c), c),
        _rms(y),
        centroid,
        bandwidth,
        rolloff,
        _zero_crossing_rate(y),
        harmonic,
        # The soft masks sum to one and the STFT round trip is exact, so librosa's percussive
        # signal is the input minus the harmonic one (to float32 rounding): one ISTFT, not two.
        y - harmonic,
    )
    batch = y.shape[0]
    columns = [torch.full((batch, 1), float(y.shape[-1]), dtype=torch.float64, device=y.device)]
    for s in series:
        flat = s.reshape(batch, -1).double()
        columns += [flat.mean(1, keepdim=True), flat.var(1, unbiased=False, keepdim=True)]
    columns.append(_tempo(mel_db, c).unsqueeze(1))
    coefficients = mfcc.double()
    stats = torch.stack([coefficients.mean(2), coefficients.var(2, unbiased=False)], dim=2)
    columns.append(stats.reshape(batch, 2 * N_MFCC))
    return torch.cat(columns, dim=1)


def _spectral_shape(magnitude: torch.Tensor, c: _Constants) -> tuple[torch.Tensor, ...]:
    """Spectral centroid, bandwidth (p=2) and 85% rolloff per frame, as librosa on |STFT|.

    The bandwidth uses sum(w (f - centroid)^2) = sum(w f^2) - centroid^2 for weights w summing to
    one, so both moments come from one matrix product.
    """
    moments = torch.matmul(c.freq_powers, magnitude)  # (B, 3, frames): sum of |S|, f |S|, f^2 |S|
    total = moments[:, 0]
    total = torch.where(total < _TINY32, torch.ones_like(total), total)
    centroid = moments[:, 1] / total
    bandwidth = (moments[:, 2] / total - centroid.square()).clamp(min=0.0).sqrt()
    cumulative = magnitude.transpose(1, 2).cumsum(-1)  # (B, frames, bins): the stored layout
    # bins below the threshold = the first bin reaching it, as the running sum never decreases
    below = torch.searchsorted(cumulative, ROLL_PERCENT * cumulative[..., -1:]).squeeze(-1)
    rolloff = c.freqs[below.clamp(max=c.freqs.numel() - 1)]
    return centroid, bandwidth, rolloff


def _rms(y: torch.Tensor) -> torch.Tensor:
    """Frame RMS over N_FFT samples, centred with zero padding: (B, frames).

    A frame is N_FFT / HOP consecutive blocks of HOP samples, so block energies summed in fours
    give every frame's energy.
    """
    frames = y.shape[1] // HOP + 1
    parts = N_FFT // HOP
    padded = F.pad(y, (N_FFT // 2, N_FFT // 2))[:, : (frames + parts - 1) * HOP]
    blocks = padded.view(y.shape[0], frames + parts - 1, HOP).square().sum(-1)
    energy = sum(blocks[:, q : q + frames] for q in range(parts))
    return (energy / N_FFT).sqrt()


def _zero_crossing_rate(y: torch.Tensor) -> torch.Tensor:
    """Share of sign changes per frame, centred with edge padding: (B, frames).

    librosa counts |x| <= 1e-10 as +0 and never counts a crossing at a frame's first sample, so a
    frame of N_FFT samples holds N_FFT - 1 candidate pairs but is divided by N_FFT. Edge padding
    repeats the end samples and adds no crossing, so each frame counts the crossings of the
    original samples it spans, read off a running count.
    """
    negative = y < -ZCR_THRESHOLD
    running = F.pad((negative[:, 1:] != negative[:, :-1]).cumsum(1, dtype=torch.int32), (1, 0))
    centres = torch.arange(0, y.shape[1] + 1, HOP, device=y.device)
    last = (centres + N_FFT // 2 - 1).clamp(max=y.shape[1] - 1)
    first = (centres - N_FFT // 2).clamp(min=0)
    return (running[:, last] - running[:, first]).float() / N_FFT


def _tuning_index(power: torch.Tensor, c: _Constants) -> torch.Tensor:
    """Per-window ``estimate_tuning`` (via ``piptrack``) as an index into the tuning table: (B,).

    ``chroma_stft`` hands piptrack the power spectrogram, so peaks are picked on power. Only the
    peaks (a few percent of the band) go on to the interpolation, the median threshold and the
    histogram, and each of those steps keeps librosa's precision, since the estimate is the argmax
    of a histogram and a value on a bin edge must land where librosa puts it.
    """
    batch = power.shape[0]
    none_found = torch.full((batch,), TUNING_BINS, dtype=torch.long, device=power.device)
    lo, hi = c.pitch_lo, c.pitch_hi
    ref = PITCH_THRESHOLD * power.amax(1, keepdim=True)
    s = power[:, lo - 1 : hi + 1]  # the band plus one neighbour on each side
    centre = s[:, 1:-1]
    # piptrack's local maxima of s * (s > ref): above ref, above the left and not below the right
    # neighbour (a neighbour under ref is under the centre too, so the gating drops out)
    peaks = (centre > ref) & (centre > s[:, :-2]) & (centre >= s[:, 2:])
    window, k, t = peaks.nonzero(as_tuple=True)
    if window.numel() == 0:
        return none_found
    below, mid, above = s[window, k, t], s[window, k + 1, t], s[window, k + 2, t]
    # Parabolic interpolation: librosa's stencil mixes float32 and float64 exactly like this.
    a = (above + below).double() - 2.0 * mid.double()
    b = (above - below).double() / 2.0
    shift = torch.where(b.abs() >= a.abs(), torch.zeros_like(a), -b / a).float()
    mags = mid + 0.5 * ((above - below) / 2.0) * shift
    pitch = ((k + lo + shift.double()) * float(c.sample_rate) / N_FFT).float()
    # Threshold: np.median of each window's peak magnitudes (mean of the two middle values).
    counts = torch.bincount(window, minlength=batch)
    order = mags.argsort(stable=True)
    order = order[window[order].argsort(stable=True)]
    ordered = mags[order]
    first = counts.cumsum(0) - counts
    last = ordered.numel() - 1
    lower = ordered[(first + (counts - 1) // 2).clamp(0, last)]
    upper = ordered[(first + counts // 2).clamp(0, last)]
    keep = mags >= ((lower + upper) / 2.0)[window]
    residual = torch.remainder(N_CHROMA * torch.log2(pitch / 27.5), 1.0)
    residual = torch.where(residual >= 0.5, residual - 1.0, residual).double()
    # np.histogram's binning of float64 values on uniform edges, corrections included.
    edges = c.tuning_edges
    index = ((residual - edges[0]) * TUNING_BINS).long().clamp(0, TUNING_BINS - 1)
    index = index - (residual < edges[index]).long()
    index = index + ((residual >= edges[index + 1]) & (index != TUNING_BINS - 1)).long()
    histogram = torch.zeros(batch * TUNING_BINS, dtype=torch.float64, device=power.device)
    histogram.index_add_(0, window * TUNING_BINS + index, keep.double())
    return torch.where(counts > 0, histogram.view(batch, TUNING_BINS).argmax(1), none_found)


def _chroma(power: torch.Tensor, tuning_index: torch.Tensor, c: _Constants) -> torch.Tensor:
    """Chroma from the power spectrogram with each window's tuning, max-normalised: (B, 12, frames)."""
    device = power.device
    banks = torch.stack([_chroma_filterbank(c.sample_rate, int(i), device) for i in tuning_index.tolist()])
    raw = torch.bmm(banks, power)
    peak = raw.amax(1, keepdim=True)
    return raw / torch.where(peak < _TINY32, torch.ones_like(peak), peak)


def _tempo(mel_db: torch.Tensor, c: _Constants) -> torch.Tensor:
    """Tempo as the CSV has it: ``feature.tempo`` on ``beat_track``'s onset envelope: (B,) BPM.

    Onset strength is the positive mel-dB flux aggregated by the median over bands (as beat_track
    does; the CSV's values follow it), then an autocorrelation tempogram, averaged over frames,
    weighted by the log-normal prior and maximised.
    """
    frames = mel_db.shape[-1]
    bands = mel_db.transpose(1, 2).contiguous()  # (B, frames, mels): the median reads rows
    flux = _numpy_median((bands[:, 1:] - bands[:, :-1]).clamp(min=0.0), dim=2)
    # lag 1 plus n_fft // (2 * hop) frames of centring, then cut back to the spectrogram's length.
    onset = F.pad(flux, (1 + N_FFT // (2 * HOP), 0))[:, :frames]
    win = c.ac_window.numel()
    half = win // 2
    # np.pad's linear_ramp from 0 to each edge value, computed as numpy does, in float32.
    steps = torch.arange(half, device=onset.device, dtype=torch.float64)
    head = (steps * (onset[:, :1].double() / half)).float()
    tail = (steps * (onset[:, -1:].double() / half)).float().flip(1)
    padded = torch.cat([head, onset, tail], dim=1)
    odf = padded.unfold(1, win, 1)[:, :frames] * c.ac_window
    size = scipy.fft.next_fast_len(2 * win - 1, real=True)
    spectrum = torch.view_as_real(torch.fft.rfft(odf, n=size))
    energy = torch.addcmul(spectrum[..., 0].square(), spectrum[..., 1], spectrum[..., 1])
    autocorr = torch.fft.irfft(energy, n=size)[..., :win]
    # Each frame normalised by its largest |lag|, then averaged: one product with 1 / (T peak).
    peak = autocorr.abs().amax(-1)
    weights = 1.0 / (frames * torch.where(peak < _TINY32, torch.ones_like(peak), peak))
    mean = torch.bmm(weights.unsqueeze(1), autocorr).squeeze(1)
    score = torch.log1p(1e6 * mean.double()) + c.log_prior
    return c.bpms[score.argmax(1)]


def _numpy_median(x: torch.Tensor, dim: int) -> torch.Tensor:
    """np.median: the mean of the two middle values for an even count (torch.median takes the lower).

    For an even count the upper middle value is the lower one when it is repeated, else the
    smallest value above it.
    """
    n = x.shape[dim]
    middle = x.kthvalue(n // 2 + n % 2, dim=dim, keepdim=True).values
    if n % 2:
        return middle.squeeze(dim)
    repeated = (x <= middle).sum(dim, keepdim=True) > n // 2
    above = torch.where(x > middle, x, torch.full_like(x, float("inf"))).amin(dim, keepdim=True)
    return ((middle + torch.where(repeated, middle, above)) / 2).squeeze(dim)


def _harmonic(stft: torch.Tensor, magnitude: torch.Tensor, length: int, c: _Constants) -> torch.Tensor:
    """The harmonic waveform of ``effects.hpss``: median filters across time and frequency, a soft
    mask (power 2, 0.5 where both medians vanish), inverse STFT to ``length`` samples: (B, length)."""
    harmonic = median_filter(magnitude, HPSS_KERNEL, dim=2)
    percussive = median_filter(magnitude, HPSS_KERNEL, dim=1)
    # (h/z)^2 / ((h/z)^2 + (p/z)^2) with z = max(h, p) is 1 / (1 + (p/h)^2): 0 where only h
    # vanishes (p/0 = inf), NaN -> 0.5 where both do.
    # The mask is written in the STFT's frame-major layout (harmonic's), the one the inverse FFT reads.
    mask = torch.div(percussive, harmonic, out=torch.empty_like(harmonic))
    mask.square_().add_(1.0).reciprocal_().nan_to_num_(nan=0.5)
    frames = stft.transpose(1, 2)  # masked in place: the caller has no further use for the STFT
    torch.view_as_real(frames).mul_(mask.transpose(1, 2).unsqueeze(-1))
    return _istft(frames, length, c)


def _istft(frames: torch.Tensor, length: int, c: _Constants) -> torch.Tensor:
    """librosa's ``istft`` (centred, Hann) of ``frames`` (B, frames, bins): windowed inverse FFTs
    overlap-added, divided by the summed squared window wherever that is above float32's tiny."""
    batch, count = frames.shape[:2]
    blocks = torch.fft.irfft(frames, n=N_FFT, dim=-1).view(batch, count, N_FFT // HOP, HOP)
    window = c.window.view(N_FFT // HOP, HOP)
    signal = blocks.new_zeros(batch, count + N_FFT // HOP - 1, HOP)
    for q in range(N_FFT // HOP):  # windowed and overlap-added in one pass
        signal[:, q : q + count].addcmul_(blocks[:, :, q], window[q])
    signal = signal.flatten(1)[:, N_FFT // 2 : N_FFT // 2 + length]
    return signal / _window_envelope(count, length, c.window)


@functools.lru_cache(maxsize=16)
def _window_envelope(count: int, length: int, window: torch.Tensor) -> torch.Tensor:
    """Overlap-added squared window of ``count`` frames over the kept samples, 1 where it vanishes."""
    squared = window.square().view(N_FFT // HOP, HOP)
    envelope = window.new_zeros(count + N_FFT // HOP - 1, HOP)
    for q in range(N_FFT // HOP):
        envelope[q : q + count] += squared[q]
    envelope = envelope.flatten()[N_FFT // 2 : N_FFT // 2 + length]
    return torch.where(envelope > _TINY32, envelope, torch.ones_like(envelope))


def median_filter(x: torch.Tensor, size: int, dim: int, block: int | None = None) -> torch.Tensor:
    """Median over ``size`` neighbours along ``dim`` with scipy.ndimage's ``reflect`` edges.

    ``size`` must be 2**k - 1 (31 for HPSS). Sorting 31 values per output would cost more than
    the whole librosa path, so outputs are taken in groups that share most of their window. With
    G = (size + 1) / 2, the G outputs of a group share G values; each half of the group adds G/2
    values of its own, each quarter G/4 more, and so on. All those runs are aligned blocks of
    the axis, sorted once for every group that uses them (each block is the merge of two smaller
    ones). A group keeps its shared run sorted; each half merges in its own run and keeps only the
    G/2 middle ranks, the only ones that can still hold its median; down to single outputs. Every
    step is an elementwise min or max, so the result is exact and the same on any device.
    ``block`` bounds the elements of one pass (default: what keeps a CPU pass in cache, or a
    GPU's kernel launches few).
    """
    group = (size + 1) // 2
    if size < 1 or group & (group - 1):
        raise ValueError(f"median size must be 2**k - 1, got {size}")
    moved = x.movedim(dim, 0)
    n = moved.shape[0]
    rows = moved.reshape(n, -1)
    out = torch.empty_like(rows)
    block = block or _MEDIAN_BLOCK.get(x.device.type, 1 << 22)
    step = -(-rows.shape[1] // -(-rows.numel() // block))  # equal passes of at most ``block``
    for start in range(0, rows.shape[1], step):
        out[:, start : start + step] = _grouped_median(rows[:, start : start + step].contiguous(), group)
    return out.reshape(moved.shape).movedim(0, dim)


@functools.lru_cache(maxsize=32)
def _padded_positions(n: int, group: int, device: torch.device) -> torch.Tensor:
    """Rows of the axis, mirrored past both ends (scipy's reflect, d c b a | a b c d, repeated as
    often as needed), such that output j's window is padded rows j .. j + 2 * (group - 1); long
    enough for every block the groups of ``median_filter`` read."""
    k = (torch.arange(group * (-(-n // group)) + 2 * group, device=device) - (group - 1)) % (2 * n)
    return torch.where(k >= n, 2 * n - 1 - k, k)


def _grouped_median(rows: torch.Tensor, group: int) -> torch.Tensor:
    """Medians of ``rows`` (n, columns) along the first axis over 2 * group - 1 rows; see ``median_filter``.

    Sorted blocks of level L hold padded rows 2^L m + 2^L - 1 .. 2^L m + 2^(L+1) - 2, for every m.
    Group g of ``group`` outputs shares the top-level block g; at group size s, the subgroup q
    adds the block 2q of the level below for its first half and block 2q + 4 * group / s - 1
    for its second half.
    """
    n = rows.shape[0]
    groups = -(-n // group)
    levels = [[rows.index_select(0, _padded_positions(n, group, rows.device))]]
    while len(levels[-1]) < group:
        wires = levels[-1]
        m = (wires[0].shape[0] - 1) // 2
        runs = [w[1 : 2 * m : 2] for w in wires] + [w[2 : 2 * m + 1 : 2] for w in wires]
        levels.append(_compare_exchange(runs, _merge_network(len(wires))))
    kept = [w[:groups] for w in levels[-1]]
    size = group
    while size > 1:
        count, columns = kept[0].shape
        offset = 4 * group // size - 1
        # both halves' blocks as one (count, 2, columns) view of rows 2q and 2q + offset (every
        # level's wires are fresh contiguous tensors: the merge network touches each of them)
        below = levels[size.bit_length() - 2]
        added = [w.as_strided((count, 2, columns), (2 * columns, offset * columns, 1)) for w in below]
        kept = [k.flatten(0, 1) for k in _middle_of_merge([k.unsqueeze(1) for k in kept], added)]
        size //= 2
    return kept[0][:n]


def _middle_of_merge(a: list[torch.Tensor], b: list[torch.Tensor]) -> list[torch.Tensor]:
    """Ranks len(b) + 1 .. len(a) of the union of sorted wires ``a`` and ``b`` (len(a) = 2 len(b)), sorted.

    max(a[i], b[m - 1 - i]) for i < m, followed by a[m:], is the largest 2m of the union, its first
    part bitonic; sorted, its smallest m are min(low[i], a[2m - 1 - i]), bitonic again.
    """
    m = len(b)
    low = _bitonic_sort([torch.maximum(a[i], b[m - 1 - i]) for i in range(m)])
    return _bitonic_sort([torch.minimum(low[i], a[2 * m - 1 - i]) for i in range(m)])


def _bitonic_sort(wires: list[torch.Tensor]) -> list[torch.Tensor]:
    """Sort a bitonic sequence of wires (a power of two of them) with half-cleaners."""
    pairs = []
    stride = len(wires) // 2
    while stride:
        pairs += [(i, i + stride) for i in range(len(wires)) if not i & stride]
        stride //= 2
    return _compare_exchange(wires, pairs)


@functools.lru_cache(maxsize=8)
def _merge_network(n: int) -> tuple[tuple[int, int], ...]:
    """Batcher's odd-even merge: compare-exchange pairs that merge sorted wires 0 .. n - 1 and
    n .. 2n - 1 (n a power of two) into one sorted run."""
    pairs = []
    k = n
    while k >= 1:
        for j in range(k % n, 2 * n - k, 2 * k):
            pairs += [(i + j, i + j + k) for i in range(min(k, 2 * n - j - k))
                      if (i + j) // (2 * n) == (i + j + k) // (2 * n)]
        k //= 2
    return tuple(pairs)


def _compare_exchange(wires: list[torch.Tensor], pairs) -> list[torch.Tensor]:
    """Apply a min/max network: for each pair (i, j), wire i takes the minimum and j the maximum."""
    w = list(wires)
    for i, j in pairs:
        w[i], w[j] = torch.minimum(w[i], w[j]), torch.maximum(w[i], w[j])
    return w
