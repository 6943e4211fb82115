using AutoCircuit.Models.Checkpoints;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// The memory and size check before loading (<see cref="ModelBudget"/>) counts parameters from below for every family,
/// so no real checkpoint stored in 16 bits is refused as "does not match the weights": its count never exceeds the
/// tensors the family's layout table reads (an over-count by Qwen2's missing o_proj bias once refused Qwen2.5-0.5B).
/// </summary>
public sealed class ModelBudgetFamilyTests
{
    public static TheoryData<string> KnownConfigNames => new(KnownConfigs.Names);

    public static TheoryData<string> Fixtures => new()
    {
        "gpt2-random", "llama-random", "llama-random-llama3", "llama-random-linear", "llama-random-dynamic", "llama-random-yarn",
        "qwen2-random", "qwen3-random", "mistral-random", "gemma2-random", "gemma3-random", "gpt_neox-random", "olmo2-random",
    };

    private static (double Counted, long Stored) Count(HfConfig cfg)
    {
        var family = HfCheckpoint.FamilyOf(cfg);
        var config = family.ReadConfig(cfg, "m");
        var stored = family.Weights(config).DistinctBy(w => w.Tensor).Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b));
        return (ModelBudget.Parameters(config), stored);
    }

    [Theory]
    [MemberData(nameof(KnownConfigNames))]
    public void Parameters_OfARealConfig_AtMostTheStoredTensorsAndWithinOnePercent(string name)
    {
        var (counted, stored) = Count(KnownConfigs.Find(name)!);

        Assert.True(counted <= stored, $"{name}: counted {counted}, stored {stored}");
        Assert.True(counted >= 0.99 * stored, $"{name}: counted {counted}, stored {stored}"); // a lower bound, not a loose one
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Parameters_OfAFixture_AtMostTheStoredTensors(string name)
    {
        var (counted, stored) = Count(HfConfig.Load(Path.Combine(ModelFixtures.Folder(name), "config.json")));

        Assert.True(counted <= stored, $"{name}: counted {counted}, stored {stored}");
    }
}
