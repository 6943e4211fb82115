using Xunit;

namespace AutoCircuit.Packaging.Tests;

/// <summary>A fact that runs only when <c>AUTOCIRCUIT_PACKAGING_TESTS=1</c> (.ci/run's packaging step sets it).</summary>
public sealed class PackagingFactAttribute : FactAttribute
{
    public const string Variable = "AUTOCIRCUIT_PACKAGING_TESTS";

    public PackagingFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"Packs the SDK five times and builds three plugins (minutes): set {Variable}=1, as .ci/run's packaging step does.";
        }
    }
}
