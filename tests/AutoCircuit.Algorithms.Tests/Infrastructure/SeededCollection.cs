using Xunit;

namespace AutoCircuit.Algorithms.Tests;

/// <summary>
/// Tests that seed torch's process-wide generator (random scores, HardConcrete sampling, mask dropout)
/// share this collection, so xunit does not run them in parallel with each other.
/// </summary>
[CollectionDefinition(nameof(SeededCollection), DisableParallelization = true)]
public sealed class SeededCollection;
