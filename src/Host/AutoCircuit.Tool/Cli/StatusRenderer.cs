using System.Text;
using AutoCircuit.Engine;

namespace AutoCircuit.Tool.Cli;

/// <summary>Shows a job's progress on stderr while it runs (<see cref="ProgressDisplay"/>).</summary>
internal abstract class StatusRenderer : IDisposable
{
    /// <summary>Runs <paramref name="body"/>, handing it the writer its log lines go to.</summary>
    public abstract ExitCode Run(Func<TextWriter, ExitCode> body);

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    /// <summary>Runs <paramref name="tick"/> every <paramref name="period"/> on a background thread until disposed.</summary>
    protected sealed class Ticker : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;

        public Ticker(TimeSpan period, Action tick)
        {
            _thread = new Thread(() =>
            {
                while (!_stop.Token.WaitHandle.WaitOne(period))
                {
                    tick();
                }
            })
            {
                IsBackground = true,
                Name = "progress",
            };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Collects what a job writes into whole lines and hands each to <paramref name="line"/> (under the renderer's lock),
    /// so that a log line and a progress redraw never mix.
    /// </summary>
    protected sealed class LineWriter(Action<string> line) : TextWriter
    {
        private readonly StringBuilder _pending = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_pending)
            {
                if (value == '\n')
                {
                    var text = _pending.ToString().TrimEnd('\r');
                    _pending.Clear();
                    line(text);
                }
                else
                {
                    _pending.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? string.Empty)
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_pending)
            {
                Write(value);
                Write('\n');
            }
        }

        public override void Flush()
        {
            lock (_pending)
            {
                if (_pending.Length > 0)
                {
                    Write('\n');
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Flush();
            }

            base.Dispose(disposing);
        }
    }
}
