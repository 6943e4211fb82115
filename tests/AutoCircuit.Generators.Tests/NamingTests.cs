using AutoCircuit.Generators.Helpers;
using Xunit;

namespace AutoCircuit.Generators.Tests;

public sealed class NamingTests
{
    [Theory]
    [InlineData("LogitExp", "logit-exp")]
    [InlineData("AvgDiff", "avg-diff")]
    [InlineData("KlDiv", "kl-div")]
    [InlineData("Logit", "logit")]
    [InlineData("HTMLParser", "html-parser")]
    [InlineData("Layer2Norm", "layer2-norm")]
    [InlineData("ABC", "abc")]
    [InlineData("snake_Case", "snake-case")]
    public void ToKebabCase_Identifier_MatchesRuntimeOptionParsing(string identifier, string expected)
    {
        var atGeneration = Naming.ToKebabCase(identifier);

        Assert.Equal(expected, atGeneration);
        Assert.Equal(OptionParsing.ToKebabCase(identifier), atGeneration);
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("mask-gradient", true)]
    [InlineData("eap-2", true)]
    [InlineData("2", true)]
    [InlineData("", false)]
    [InlineData("Mask", false)]
    [InlineData("mask_gradient", false)]
    [InlineData("mask--gradient", false)]
    [InlineData("-mask", false)]
    [InlineData("mask-", false)]
    [InlineData("mask gradient", false)]
    [InlineData("maské", false)]
    public void IsKebabCase_Text_MatchesPattern(string text, bool expected)
    {
        var result = Naming.IsKebabCase(text);

        Assert.Equal(expected, result);
        Assert.Equal(System.Text.RegularExpressions.Regex.IsMatch(text, "^[a-z0-9]+(-[a-z0-9]+)*$"), result);
    }

    [Theory]
    [InlineData("Sample", "Sample")]
    [InlineData("My.Plugin-1", "My_Plugin_1")]
    [InlineData("1abc", "_1abc")]
    [InlineData("class", "_class")]
    [InlineData("", "_")]
    public void ToIdentifier_AssemblyName_IsValidIdentifier(string assemblyName, string expected)
    {
        var identifier = Naming.ToIdentifier(assemblyName);

        Assert.Equal(expected, identifier);
    }
}
