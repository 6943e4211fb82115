using TorchSharp;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The intra-op threads of each patched pass (and the backward pass that follows it), by the size of its operations:
/// one where they are too small to split, else the most the thread policy allows (<c>TorchThreading.Apply</c>:
/// <c>--threads</c>, <c>AUTOCIRCUIT_THREADS</c> or the model-size default). Splitting an operation wakes a second
/// thread for each parallel region (OpenMP waits passively); on operations of a few microseconds that costs more than it
/// saves (issue 17: integrated gradients on auto-circuit's 32-layer micro model took 144 ms with 2 threads and 105 ms
/// with 1 on an idle machine).
/// </summary>
internal static class PassThreads
{
    /// <summary>
    /// Multiply-adds per operation below which a pass runs on one thread: about 40 µs of single-thread arithmetic, the
    /// order of what handing half an operation to a sleeping OpenMP worker costs.
    /// </summary>
    public const long SplitWork = 1L << 20;

    private static readonly object Gate = new();
    private static int _most; // 0 until the policy is applied: then passes leave libtorch's setting alone

    /// <summary>The most threads a pass uses (set by the thread policy); 0 until it is applied.</summary>
    public static int Most
    {
        get
        {
            lock (Gate)
            {
                return _most;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (Gate)
            {
                _most = value;
            }
        }
    }

    /// <summary>
    /// The intra-op threads for a pass whose operations do about <paramref name="workPerOperation"/> multiply-adds each:
    /// one below <see cref="SplitWork"/>, else <paramref name="most"/>.
    /// </summary>
    public static int For(long workPerOperation, int most) =>
        workPerOperation < SplitWork ? 1 : Math.Max(1, most);

    /// <summary>
    /// Sets libtorch's intra-op threads for the pass about to run: <see cref="For"/> of <see cref="Most"/>, with the work
    /// per operation estimated as <c>tokens x parameters / operations</c>. Does nothing until the policy has been
    /// applied, so a library user who never applies it keeps libtorch's own setting.
    /// </summary>
    /// <param name="tokens">Prompt rows times token positions of the pass.</param>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="operations">The model's patched modules (sources and destinations), the operations its parameters are
    /// spread over.</param>
    /// <returns>The intra-op threads now set (0 when the policy was never applied).</returns>
    public static int Set(long tokens, long parameters, int operations)
    {
        lock (Gate)
        {
            if (_most == 0)
            {
                return 0;
            }

            var work = Math.Max(1, tokens) * Math.Max(1, parameters) / Math.Max(1, operations);
            var threads = For(work, _most);
            if (torch.get_num_threads() != threads) // read each time: training code sets it too
            {
                torch.set_num_threads(threads);
            }

            return threads;
        }
    }
}
