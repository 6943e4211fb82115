using System.Text;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// The little shell syntax the documentation's command lines use: words with single and double quotes and backslash
/// escapes, <c>#</c> comments, and the separators <c>&amp;&amp;</c>, <c>||</c>, <c>;</c> and <c>|</c>. No expansion:
/// <c>$VAR</c> and <c>~</c> stay as written.
/// </summary>
internal static class ShellLine
{
    /// <summary>The commands of one logical line: each a list of words, separators and comments removed.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Commands(string line)
    {
        var commands = new List<IReadOnlyList<string>>();
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        void EndWord()
        {
            if (inWord)
            {
                words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
        }

        void EndCommand()
        {
            EndWord();
            if (words.Count > 0)
            {
                commands.Add(words.ToList());
                words.Clear();
            }
        }

        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            switch (c)
            {
                case '\'':
                    var close = line.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw new FormatException($"unclosed ' in: {line}");
                    }

                    word.Append(line, i + 1, close - i - 1);
                    inWord = true;
                    i = close;
                    break;
                case '"':
                    inWord = true;
                    for (i++; i < line.Length && line[i] != '"'; i++)
                    {
                        if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
                        {
                            i++;
                        }

                        word.Append(line[i]);
                    }

                    if (i >= line.Length)
                    {
                        throw new FormatException($"unclosed \" in: {line}");
                    }

                    break;
                case '\\' when i + 1 < line.Length:
                    word.Append(line[++i]);
                    inWord = true;
                    break;
                case '#' when !inWord:
                    EndCommand();
                    return commands;
                case '&' when inWord && word.Length > 0 && word[^1] == '>':
                    word.Append(c); // a redirection such as 2>&1
                    break;
                case ';' or '|' or '&':
                    EndCommand();
                    if (i + 1 < line.Length && line[i + 1] == c)
                    {
                        i++;
                    }

                    break;
                case ' ' or '\t':
                    EndWord();
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }

        EndCommand();
        return commands;
    }

    /// <summary>Whether a word is an environment assignment (<c>NAME=value</c>) in front of a command.</summary>
    public static bool IsAssignment(string word)
    {
        var eq = word.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && (char.IsLetter(word[0]) || word[0] == '_') && word[..eq].All(ch => char.IsLetterOrDigit(ch) || ch == '_');
    }
}
