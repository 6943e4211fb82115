#!/usr/bin/env bash
# Scratch check of the C# tokenizer libraries against tests/Fixtures/tokenizers/*.expected.json (the JS
# reference). Builds three throw-away console projects OUTSIDE the repository (default /tmp/tokprobe; the
# repository's Directory.*.props would otherwise apply) from the .cs files beside this script:
#   hfdotnet  Tokenizers.DotNet 1.4.1 (+ runtime.linux-x64), loads tokenizer.json directly
#   ml201     Microsoft.ML.Tokenizers 2.0.1, BPE / Tiktoken assembled from tokenizer.json by hand
#   ml300     Microsoft.ML.Tokenizers 3.0.0, the same + SentencePieceTokenizer.CreateFromTokenizerJson
#
#   tools/tokenizers/fetch.sh && tools/tokenizers/probe/run-probe.sh [TOKENIZERS_DIR] [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
toks="$(cd "${1:-$root/artifacts/tokenizers}" && pwd)"
work="${2:-/tmp/tokprobe}"
mkdir -p "$work/common"
cp "$here/Probe.cs" "$here/MlProbe.cs" "$work/common/"

project() { # dir, package references, extra properties, sources
  mkdir -p "$work/$1"
  cat > "$work/$1/$1.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    $3
  </PropertyGroup>
  <ItemGroup>
    $4
    $2
  </ItemGroup>
</Project>
XML
}
project hfdotnet '<PackageReference Include="Tokenizers.DotNet" Version="1.4.1" /><PackageReference Include="Tokenizers.DotNet.runtime.linux-x64" Version="1.4.1" />' \
  '' '<Compile Include="../common/Probe.cs" />'
cp "$here/HfProbe.cs" "$work/hfdotnet/Program.cs"
project ml201 '<PackageReference Include="Microsoft.ML.Tokenizers" Version="2.0.1" />' '<StartupObject>MlMain</StartupObject>' \
  '<Compile Include="../common/Probe.cs" /><Compile Include="../common/MlProbe.cs" />'
project ml300 '<PackageReference Include="Microsoft.ML.Tokenizers" Version="3.0.0" />' \
  '<StartupObject>MlMain</StartupObject><DefineConstants>$(DefineConstants);ML3</DefineConstants>' \
  '<Compile Include="../common/Probe.cs" /><Compile Include="../common/MlProbe.cs" />'

for p in hfdotnet ml201 ml300; do
  (cd "$work/$p" && dotnet build -c Release -v q -nologo >/dev/null)
done
dotnet "$work/hfdotnet/bin/Release/net10.0/hfdotnet.dll" "$root/tests/Fixtures/tokenizers" "$toks" "$work/hfdotnet.result.json" | grep -v 'native tokenizers'
dotnet "$work/ml201/bin/Release/net10.0/ml201.dll" "$root/tests/Fixtures/tokenizers" "$toks" "$work/ml201" | grep -v 'not attempted'
dotnet "$work/ml300/bin/Release/net10.0/ml300.dll" "$root/tests/Fixtures/tokenizers" "$toks" "$work/ml300" | grep -v 'not attempted'
echo "per-case mismatches: $work/*.json"
