using AutoCircuit.Host.Data;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.Data;

public sealed class PythonRandomTests
{
    [Fact]
    public void Shuffle_SameSeed_MatchesCPythonRandomShuffle()
    {
        // Orders printed by CPython's random.seed(s); random.shuffle(list(range(n))) (tools/reference).
        using var doc = TestFixtures.Load("auto-circuit/python_random_shuffle.json");
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.NotEmpty(cases);

        foreach (var c in cases)
        {
            var seed = c.GetProperty("seed").GetInt64();
            var items = Enumerable.Range(0, c.GetProperty("n").GetInt32()).ToList();
            new PythonRandom(seed).Shuffle(items);
            var expected = c.GetProperty("order").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.True(expected.SequenceEqual(items), $"seed {seed}, n {items.Count}");
        }
    }

    [Fact]
    public void NextUInt32_Seed42_MatchesCPythonGetrandbits()
    {
        // random.seed(42); [random.getrandbits(32) for _ in range(3)]
        var r = new PythonRandom(42);

        Assert.Equal([2746317213u, 478163327u, 107420369u], new[] { r.NextUInt32(), r.NextUInt32(), r.NextUInt32() });
    }
}
