using System.Text.Json;
using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Tests.EapIg;

/// <summary>
/// A fixture of tools/reference/eap_ig_reference.py (tests/Fixtures/eap-ig/&lt;model&gt;.json): the model (the micro model
/// or tests/Fixtures/models/gpt2-random) with its factorized graph, the fixture's batches, and the reference's scores
/// of each case.
/// </summary>
public sealed class EapIgFixture : IDisposable
{
    private readonly JsonDocument _document;
    private readonly IHookedModel _hooked;

    private EapIgFixture(JsonDocument document, IHookedModel hooked, PatchableModel model, List<PromptBatch> batches)
    {
        _document = document;
        _hooked = hooked;
        Model = model;
        Batches = batches;
    }

    /// <summary>The patchable model (factorized graph, separate Q/K/V, last-token slice).</summary>
    public PatchableModel Model { get; }

    /// <summary>The fixture's batches.</summary>
    public List<PromptBatch> Batches { get; }

    /// <summary>The cases: algorithm key, options in spec syntax, reference scores (module → JSON).</summary>
    public IReadOnlyList<JsonElement> Cases => [.. _document.RootElement.GetProperty("cases").EnumerateArray()];

    /// <summary>(model, case index) of every case of both fixtures.</summary>
    public static TheoryData<string, int> AllCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in new[] { "micro", "gpt2-random" })
        {
            using var doc = TestFixtures.Load($"eap-ig/{model}.json");
            for (var i = 0; i < doc.RootElement.GetProperty("cases").GetArrayLength(); i++)
            {
                data.Add(model, i);
            }
        }

        return data;
    }

    /// <summary>Loads the fixture of <paramref name="model"/> (<c>micro</c> or <c>gpt2-random</c>), by default with the
    /// factorized graph the reference uses.</summary>
    public static EapIgFixture Load(string model, GraphOptions? graph = null)
    {
        var doc = TestFixtures.Load($"eap-ig/{model}.json");
        IHookedModel hooked = model == "micro"
            ? new MicroModel()
            : HfCheckpoint.Load(Path.Combine(TestFixtures.Root, "models", model)).Model;
        var patchable = PatchableModel.Create(hooked, graph ?? new GraphOptions());
        var batches = new List<PromptBatch>();
        var key = 0;
        foreach (var b in doc.RootElement.GetProperty("batches").EnumerateArray())
        {
            Tensor Input(string name)
            {
                using var values = TestFixtures.ToTensor(b.GetProperty(name));
                return model == "micro" ? values.to_type(ScalarType.Float32) : values.to_type(ScalarType.Int64);
            }

            AnswerSet Answers(string name)
            {
                using var values = TestFixtures.ToTensor(b.GetProperty(name));
                return new AnswerSet(values.to_type(ScalarType.Int64));
            }

            batches.Add(new PromptBatch(key++, Input("clean"), Input("corrupt"), Answers("answers"), Answers("wrong_answers")));
        }

        return new EapIgFixture(doc, hooked, patchable, batches);
    }

    /// <summary>A context over the fixture's batches.</summary>
    public PruneContext Context() => new() { Model = Model, TrainBatches = Batches };

    /// <inheritdoc />
    public void Dispose()
    {
        Batches.ForEach(b => b.Dispose());
        Model.Dispose();
        (_hooked as IDisposable)?.Dispose();
        _document.Dispose();
    }
}
