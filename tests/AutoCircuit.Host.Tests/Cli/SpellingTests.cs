using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

public sealed class SpellingTests
{
    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("--modle", "--model", 1)] // a swap of neighbours is one edit
    [InlineData("acdc", "acdc", 0)]
    [InlineData("", "run", 3)]
    [InlineData("mask-gradiant", "mask-gradient", 1)]
    public void Distance_CountsEdits(string a, string b, int expected)
    {
        Assert.Equal(expected, Spelling.Distance(a, b));
        Assert.Equal(expected, Spelling.Distance(b, a));
    }

    [Theory]
    [InlineData("--modle", "--model")]
    [InlineData("RUNN", "run")]
    [InlineData("subnetwork-probeing", "subnetwork-probing")]
    [InlineData("--zzzzzz", null)] // nothing near: no guess
    [InlineData("x", null)]
    public void Closest_OnlyWhenNearEnough(string word, string? expected) =>
        Assert.Equal(expected, Spelling.Closest(word, ["run", "--model", "--mode-x", "subnetwork-probing", "--seed"]));
}
