using Xunit;

namespace AutoCircuit.Host.Tests;

/// <summary>
/// Tests that seed torch's process-wide generator (directly or through a run) share this collection,
/// so xunit does not run them in parallel with each other.
/// </summary>
[CollectionDefinition(nameof(SeededCollection), DisableParallelization = true)]
public sealed class SeededCollection;
