using AutoCircuit.Host.Comparison;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Comparison;

public sealed class ResourceMeterTests
{
    /// <summary>libtorch's CPU memory is native: the meter must see it (the bound leaves room for other tests freeing memory
    /// meanwhile; the peak is process-wide).</summary>
    [Fact]
    public void ResourceMeter_NativeAllocation_RaisesPeakRss()
    {
        const long bytes = 128L << 20;

        var (sum, usage) = ResourceMeter.Measure(() =>
        {
            using var big = torch.ones(bytes / 4, dtype: torch.ScalarType.Float32); // written, so resident
            return big.sum().ToSingle();
        });

        Assert.Equal(bytes / 4, sum);
        Assert.NotNull(usage.PeakRssDeltaBytes);
        Assert.True(usage.PeakRssDeltaBytes >= bytes * 6 / 10, $"peak RSS delta {usage.PeakRssDeltaBytes} < {bytes}");
        Assert.True(usage.Wall > TimeSpan.Zero);
    }

    [Fact]
    public void ResourceMeter_ManagedAllocation_IsCounted()
    {
        var (length, usage) = ResourceMeter.Measure(() => new byte[8 << 20].Length);

        Assert.Equal(8 << 20, length);
        Assert.True(usage.ManagedAllocatedBytes >= 8 << 20, $"{usage.ManagedAllocatedBytes}");
    }
}
