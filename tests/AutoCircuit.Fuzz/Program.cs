using AutoCircuit.Host.Data;
using SharpFuzz;

// A fuzz target for the readers of outside files: each input is read by one reader; its anticipated refusal (the
// exception whose message names the file) is a pass, anything else escapes and is a finding. See README.md.
//   AutoCircuit.Fuzz <target> --afl          AFL (afl-fuzz), input on stdin, the process kept alive between inputs
//   AutoCircuit.Fuzz <target> --libfuzzer    libFuzzer (libfuzzer-dotnet)
//   AutoCircuit.Fuzz <target> FILE...        each file once (reproduce a finding; CI's smoke run); stdin without files
if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: AutoCircuit.Fuzz <{string.Join('|', Targets.All.Keys)}> [--afl | --libfuzzer | FILE...]");
    return 2;
}

switch (args.Skip(1).FirstOrDefault())
{
    case "--afl":
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target(buffer.ToArray());
        });
        return 0;
    case "--libfuzzer":
        Fuzzer.LibFuzzer.Run(span => target(span.ToArray()));
        return 0;
    default:
        var files = args.Skip(1).ToList();
        if (files.Count == 0)
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            target(buffer.ToArray());
            Console.WriteLine("stdin: read or refused cleanly");
        }

        foreach (var file in files)
        {
            target(File.ReadAllBytes(file));
            Console.WriteLine($"{file}: read or refused cleanly");
        }

        return 0;
}

/// <summary>The readers under test, by name.</summary>
internal static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["safetensors"] = Safetensors,
        ["dataset"] = Dataset,
    };

    private static void Safetensors(byte[] bytes)
    {
        try
        {
            foreach (var (_, t) in AutoCircuit.Models.Checkpoints.Safetensors.Read(bytes, "fuzz.safetensors").Tensors)
            {
                t.Dispose();
            }
        }
        catch (InvalidDataException)
        {
            // the anticipated refusal
        }
    }

    private static void Dataset(byte[] bytes)
    {
        try
        {
            DatasetDocument.Parse(bytes, "fuzz.json");
        }
        catch (DatasetException)
        {
            // the anticipated refusal
        }
    }
}
