using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// Counts the bytes of the source-output-shaped tensors (<c>[n_src, batch, seq, d]</c> and slices of them) the engine
/// allocates: recorded source outputs and the ablations made from them, the current-output and difference buffers,
/// and the per-destination differences autograd keeps for the backward pass. A tensor counts until it is disposed
/// (or collected), or, for tensors autograd may still hold, until the patch scope ends. Host-side bookkeeping only:
/// the benchmark reads <see cref="PeakBytes"/>.
/// </summary>
internal sealed class SourceBufferLedger
{
    private readonly List<(WeakReference<Tensor> Tensor, long Bytes)> _live = [];
    private readonly List<long> _untilPatchEnd = [];
    private long _scoped;

    /// <summary>Whether allocations are being counted (off by default: the bookkeeping costs a list walk per allocation).</summary>
    public bool Enabled { get; set; }

    /// <summary>The largest number of bytes live at once since the last <see cref="Reset"/>.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Bytes live now.</summary>
    public long LiveBytes
    {
        get
        {
            lock (_live)
            {
                _live.RemoveAll(e => !e.Tensor.TryGetTarget(out var t) || t.IsInvalid);
                return _live.Sum(e => e.Bytes) + _scoped;
            }
        }
    }

    /// <summary>Forgets the peak (live tensors keep counting).</summary>
    public void Reset()
    {
        PeakBytes = LiveBytes;
    }

    /// <summary>Counts <paramref name="tensor"/> (<paramref name="bytes"/>, default its elements) until it is disposed.</summary>
    internal void Track(Tensor tensor, long? bytes = null)
    {
        if (!Enabled)
        {
            return;
        }

        lock (_live)
        {
            _live.Add((new WeakReference<Tensor>(tensor), bytes ?? tensor.numel() * DTypes.Bytes(tensor.dtype)));
        }

        Update();
    }

    /// <summary>Counts a tensor autograd may keep alive until the end of the patch scope.</summary>
    internal void TrackUntilPatchEnd(Tensor tensor)
    {
        if (!Enabled)
        {
            return;
        }

        var bytes = tensor.numel() * DTypes.Bytes(tensor.dtype);
        lock (_live)
        {
            _untilPatchEnd.Add(bytes);
            _scoped += bytes;
        }

        Update();
    }

    /// <summary>The patch scope ended: tensors counted by <see cref="TrackUntilPatchEnd"/> are released.</summary>
    internal void PatchEnded()
    {
        lock (_live)
        {
            _untilPatchEnd.Clear();
            _scoped = 0;
        }
    }

    private void Update()
    {
        var live = LiveBytes;
        if (live > PeakBytes)
        {
            PeakBytes = live;
        }
    }
}
