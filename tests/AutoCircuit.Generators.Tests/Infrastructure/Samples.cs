namespace AutoCircuit.Generators.Tests.Infrastructure;

/// <summary>Plugin sources shared by the snapshot, cacheability and runtime tests.</summary>
internal static class Samples
{
    /// <summary>
    /// Two algorithms: <c>mask-gradient</c> with options of every supported kind (enums, nullable double and int,
    /// int and enum lists, a restricted string, bounds, validation) and two presets; <c>ground-truth</c> without
    /// options. <c>ground-truth</c> is declared second, so the registry must sort. Both declare their memory-budget support.
    /// </summary>
    public const string Representative = """
        using System;
        using AutoCircuit;
        using AutoCircuit.Scores;

        namespace Sample;

        public enum GradFunction { Logit, Prob, LogitExp, LogProb }

        public enum AnswerFunction { AvgDiff, AvgVal, KlDiv, MseLoss }

        [AlgorithmOptions]
        public sealed record MaskGradientOptions : IValidatableOptions
        {
            [Option("grad-function", Description = "What the gradient is taken of.")]
            public GradFunction GradFunction { get; init; } = GradFunction.Logit;

            [Option("answer-function", Description = "How answer logits become the objective.")]
            public AnswerFunction AnswerFunction { get; init; } = AnswerFunction.AvgDiff;

            [Option("mask-value", Description = "Mask value of a single gradient; none for integrated gradients.", Min = 0, Max = 1)]
            public double? MaskValue { get; init; }

            [Option("integrated-gradients", Description = "Integrated-gradient samples; none to use mask-value.", Min = 1)]
            public int? IntegratedGradients { get; init; } = 50;

            [Option("epochs", Min = 1, Max = 1000)]
            public int Epochs { get; init; } = 10;

            [Option("seed-offset")]
            public long SeedOffset { get; init; } = 7;

            [Option("learning-rate", Min = 0)]
            public float LearningRate { get; init; } = 0.1f;

            [Option("temperature", Max = 10)]
            public double Temperature { get; init; } = 1.5;

            [Option("normalize", Description = "Divide scores by their maximum.")]
            public bool Normalize { get; init; } = true;

            [Option("mode", AllowedValues = new[] { "fast", "exact" })]
            public string Mode { get; init; } = "fast";

            [Option("label")]
            public string? Label { get; init; }

            [Option("layers", Description = "Layers to score.", Min = 0)]
            public int[] Layers { get; init; } = [0, 1];

            [Option("answer-functions")]
            public AnswerFunction[]? AnswerFunctions { get; init; }

            public string? Validate() =>
                (MaskValue is null) == (IntegratedGradients is null)
                    ? "Set exactly one of mask-value and integrated-gradients (the other to none)."
                    : null;
        }

        [PruneAlgorithm("mask-gradient", Name = "Mask Gradient", ShortName = "MG", Description = "Gradient of the metric with respect to the edge masks.", MemoryBudget = MemoryBudgetSupport.BatchSeparable)]
        [PruneAlgorithmPreset("EAP", "grad-function=logit,mask-value=0,integrated-gradients=none")]
        [PruneAlgorithmPreset("IG", "integrated-gradients=10")]
        public sealed class MaskGradientAlgorithm(MaskGradientOptions options) : IPruneAlgorithm
        {
            public MaskGradientOptions Options { get; } = options;

            public PruneScores Run(PruneContext context) => throw new NotImplementedException();

            public override string ToString() => Options.ToString();
        }

        [PruneAlgorithm("ground-truth", Description = "Scores the task's known circuit edges 1, all others 0.", RequiresKnownEdges = true, MemoryBudget = MemoryBudgetSupport.NoPatching)]
        public sealed class GroundTruthAlgorithm : IPruneAlgorithm
        {
            public PruneScores Run(PruneContext context) => throw new NotImplementedException();
        }
        """;

    /// <summary>
    /// Classes that produce diagnostics (ACG0001, ACG0002, ACG0010), so that caching is also checked for the
    /// diagnostic pipelines. Compile together with <see cref="Representative"/>.
    /// </summary>
    public const string WithErrors = """
        using System;
        using AutoCircuit;
        using AutoCircuit.Scores;

        namespace Sample.Broken;

        [PruneAlgorithm("no-interface")]
        public sealed class NoInterface { }

        [PruneAlgorithm("ground-truth")]
        [PruneAlgorithmPreset("P", "speed=1")]
        public sealed class DuplicateKey : IPruneAlgorithm
        {
            public PruneScores Run(PruneContext context) => throw new NotImplementedException();
        }
        """;

    /// <summary>A file with nothing for the generator, to add as an unrelated edit.</summary>
    public const string Unrelated = """
        namespace Sample;

        public struct Unrelated
        {
            public int Value;
        }
        """;
}
