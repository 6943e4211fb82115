using System.Text.Json;
using AutoCircuit.Host.Outputs;
using Xunit;

namespace AutoCircuit.Host.Tests.Outputs;

/// <summary>
/// Option values keep the JSON text they had when run.json was written by reflection over <c>object</c>: every kind an
/// option can hold (the generator's closed set, and the elements of a scores file) gives the same text.
/// </summary>
public sealed class OptionValuesTests
{
    public static TheoryData<object?> Values => new()
    {
        null,
        true,
        3,
        -7L,
        0.1,
        0.1f,
        1e-5,
        -1.6094379124340998,
        "kl-div",
        "a+b<c>&'\"",
        new object?[] { 1, 2, 3 },
        new object?[] { "true-size", 13 },
        new object?[] { 0.5, null },
        Array.Empty<object?>(),
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void ToJsonText_Value_MatchesReflectionSerializer(object? value)
    {
        var expected = JsonSerializer.Serialize(value);

        var actual = OptionValues.ToJsonText("x", value);

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("""{"a": 1.50, "b": "x\u002By", "c": [1, "two", null], "d": null, "e": false, "f": 1e-7}""")]
    public void ToJson_ScoresFileElements_WriteAsRead(string json)
    {
        using var document = JsonDocument.Parse(json);
        var options = document.RootElement.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, (object?)p.Value.Clone())).ToList();
        var expected = JsonSerializer.Serialize(options.ToDictionary(o => o.Key, o => o.Value));

        var actual = JsonSerializer.Serialize(OptionValues.ToJson(options), OutputJsonContext.Compact.OptionValues);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ToJson_EnumAndInfinity_UseTheirJsonForms()
    {
        var options = new[]
        {
            KeyValuePair.Create("mode", (object?)DayOfWeek.Monday),
            KeyValuePair.Create("tau", (object?)double.PositiveInfinity),
        };

        var json = JsonSerializer.Serialize(OptionValues.ToJson(options), OutputJsonContext.Compact.OptionValues);

        Assert.Equal("""{"mode":"monday","tau":"inf"}""", json);
    }

    [Fact]
    public void ToJson_ValueWithoutJsonForm_ThrowsNamingTheOption()
    {
        var options = new[] { KeyValuePair.Create("when", (object?)new DateTime(2020, 1, 1)) };

        var e = Assert.Throws<ArgumentException>(() => OptionValues.ToJson(options));

        Assert.Contains("'when'", e.Message, StringComparison.Ordinal);
    }
}
