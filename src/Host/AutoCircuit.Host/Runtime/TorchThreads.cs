using TorchSharp;

namespace AutoCircuit.Host.Runtime;

/// <summary>Limits libtorch's intra-op threads for a scope, then restores them.</summary>
/// <remarks>
/// For tiny models (the micro model, the toy model) every operation is too small to split across threads, and
/// on a loaded machine the waiting threads cost more than they save: the default run takes about 5 s on one
/// thread and 16 s on two on the shared 2-core development machine.
/// </remarks>
public sealed class TorchThreads : IDisposable
{
    private readonly int _previous;
    private bool _restored;

    private TorchThreads(int threads)
    {
        _previous = torch.get_num_threads();
        torch.set_num_threads(threads);
    }

    /// <summary>Sets <paramref name="threads"/> until disposed; <c>null</c> changes nothing.</summary>
    public static IDisposable Limit(int? threads) =>
        threads is int n && n > 0 && n < torch.get_num_threads() ? new TorchThreads(n) : NoScope.Instance;

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_restored)
        {
            torch.set_num_threads(_previous);
            _restored = true;
        }
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }
}
