using System;
using System.Text;

namespace AutoCircuit.Generators.Helpers;

/// <summary>
/// A minimal indented writer over a <see cref="StringBuilder"/>. Lines always end with <c>\n</c>, so the
/// output is byte-identical on every OS.
/// </summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";

    private readonly StringBuilder _builder = new();
    private int _indent;

    /// <summary>Writes one line at the current indentation (an empty line carries no indentation).</summary>
    public SourceWriter Line(string text = "")
    {
        if (text.Length > 0)
        {
            for (var i = 0; i < _indent; i++)
            {
                _builder.Append(IndentUnit);
            }

            _builder.Append(text);
        }

        _builder.Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="open"/> (default <c>{</c>), then indents until the result is disposed.</summary>
    public Block Open(string open = "{", string close = "}")
    {
        Line(open);
        _indent++;
        return new Block(this, close);
    }

    /// <summary>Increases the indentation until the result is disposed, without writing braces.</summary>
    public Block Indent()
    {
        _indent++;
        return new Block(this, null);
    }

    public override string ToString() => _builder.ToString();

    /// <summary>Closes an indentation level.</summary>
    internal readonly struct Block : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string? _close;

        public Block(SourceWriter writer, string? close)
        {
            _writer = writer;
            _close = close;
        }

        public void Dispose()
        {
            _writer._indent--;
            if (_close is not null)
            {
                _writer.Line(_close);
            }
        }
    }
}
