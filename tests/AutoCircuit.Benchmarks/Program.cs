using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In process: the libtorch natives (and their libstdc++ fix) are this project's, and no project is generated and built
// per benchmark. Short runs: a GPT-2-sized forward pass takes a fraction of a second on a CPU.
var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(5))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(AutoCircuit.Benchmarks.PatchingBenchmarks).Assembly).Run(args, config);
