using System.Diagnostics;

namespace AutoCircuit.Host.Progress;

/// <summary>One finished stage, for the summary and the plain-line output.</summary>
/// <param name="Label">The stage's label (an algorithm).</param>
/// <param name="Kind">What it did.</param>
/// <param name="Number">Its algorithm among the job's (1-based), or 0 without a plan.</param>
/// <param name="Count">How many algorithms the job plans.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Steps">The steps its outermost tasks counted.</param>
internal sealed record FinishedStage(
    string Label, StageKind Kind, int Number, int Count, TimeSpan Duration, long Steps, bool Completed = true);

/// <summary>
/// A running stage (<see cref="JobProgress.BeginStage"/>): disposing it ends the stage; after <see cref="Fail"/>, or while
/// the job is being cancelled, it ends as stopped rather than done.
/// </summary>
internal interface IStageScope : IDisposable
{
    /// <summary>The stage's work did not complete (an algorithm that failed): it ends as stopped.</summary>
    void Fail();
}

/// <summary>
/// The progress of a whole job as one model: the job plans its stages (each algorithm's scoring, then its circuit
/// evaluation), begins each in turn (<see cref="ProgressStages"/>), and the algorithms' progress tasks (nested with
/// <see cref="IProgressSink.Start(string, long, string?, IProgressTask?)"/>: ACDC's thresholds and edges, probing's
/// epochs) attach to the running stage. A renderer reads <see cref="Snapshot"/> from any thread.
/// </summary>
/// <remarks>
/// <para>The time left is the running stage's plus the estimates of the stages still to come.</para>
/// <para>The running stage: its innermost task's rate (time per step between its start and its last step) gives the
/// time left in it; each outer task adds its remaining steps at its own rate (the time per completed step, or, before
/// the first step completes, the inner task's elapsed plus remaining time). Once an inner task has run to its end, the
/// next one of the same size is measured against it instead (its steps need not cost alike: ACDC's edges near the
/// output are cheaper than those near the input): the time the last one took from the same step on, scaled by this
/// one's pace relative to it, trusted in proportion to how far it has got; the steps left take as long as the last,
/// at that pace. So ACDC's estimate after its first τ is "the rest of this τ as the last τ went from here, plus the τs
/// left at the last τ's duration, both scaled by how fast this τ is going".</para>
/// <para>Stages to come: an evaluation costs its forward passes (sizes × batches, its task's total) at the rate
/// measured in the evaluations done so far, assuming the median size of the sweeps done; a scoring stage the median
/// duration of the scoring stages done. Before one of a kind has completed, its stages are not estimated and the
/// estimate is a lower bound (<see cref="ProgressStatus.RemainingIsPartial"/>).</para>
/// </remarks>
internal sealed class JobProgress : IProgressSink
{
    private readonly object _lock = new();
    private readonly Func<TimeSpan> _clock;
    private readonly CancellationToken _cancellation; // a stage ending while it is requested was stopped
    private readonly TimeSpan _started;
    private readonly List<Stage> _stages = [];
    private readonly List<TaskNode> _loose = [];
    private Stage? _current;

    /// <summary>Creates the model; <paramref name="clock"/> (tests) defaults to a stopwatch started now.</summary>
    public JobProgress(Func<TimeSpan>? clock = null, CancellationToken cancellation = default)
    {
        _cancellation = cancellation;
        var watch = Stopwatch.StartNew();
        _clock = clock ?? (() => watch.Elapsed);
        _started = _clock();
    }

    /// <summary>Raised on the job's thread when a stage ends.</summary>
    public event Action<FinishedStage>? StageFinished;

    /// <summary>Declares the stages the job will run, in order (labels repeat: an algorithm's scoring and evaluation).</summary>
    public void Plan(IEnumerable<(string Label, StageKind Kind)> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        lock (_lock)
        {
            foreach (var (label, kind) in stages)
            {
                _stages.Add(new Stage(label, kind));
            }
        }
    }

    /// <summary>
    /// Begins the first pending stage with this label and kind (appending it when it was not planned); tasks started
    /// until it is disposed belong to it.
    /// </summary>
    public IStageScope BeginStage(string label, StageKind kind)
    {
        Stage? previous;
        lock (_lock)
        {
            previous = _current;
        }

        if (previous is not null)
        {
            End(previous, failed: false); // raises StageFinished outside the lock
        }

        lock (_lock)
        {
            var stage = _stages.FirstOrDefault(s => s.State == StageState.Pending && s.Label == label && s.Kind == kind);
            if (stage is null)
            {
                stage = new Stage(label, kind);
                _stages.Add(stage);
            }

            stage.State = StageState.Running;
            stage.Start = _clock();
            _current = stage;
            return new StageScope(this, stage);
        }
    }

    /// <summary>Leaves a stage out (an algorithm that was skipped or failed before evaluation).</summary>
    public void Skip(string label, StageKind kind)
    {
        lock (_lock)
        {
            var stage = _stages.FirstOrDefault(s => s.State == StageState.Pending && s.Label == label && s.Kind == kind);
            if (stage is not null)
            {
                stage.State = StageState.Skipped;
            }
        }
    }

    /// <inheritdoc />
    public IProgressTask Start(string description, long total) => Start(description, total, null);

    /// <inheritdoc />
    public IProgressTask Start(string description, long total, string? unit, IProgressTask? parent = null)
    {
        lock (_lock)
        {
            var node = new TaskNode(this, description, Math.Max(0, total), unit, parent as TaskNode, _current, _clock());
            if (node.Parent is { } p)
            {
                p.Child = node;
            }
            else if (_current is { } stage)
            {
                stage.Root = node;
                stage.Steps += node.Total;
            }
            else
            {
                _loose.Add(node);
            }

            return node;
        }
    }

    /// <summary>The status now.</summary>
    public ProgressStatus Snapshot()
    {
        lock (_lock)
        {
            var now = _clock();
            var root = _current?.Root ?? _loose.LastOrDefault(n => !n.Closed);
            var levels = new List<ProgressLevel>();
            for (var n = root; n is not null; n = n.Child)
            {
                var current = n.Child is null ? n.Done : Math.Min(n.Done + 1, n.Total);
                levels.Add(new ProgressLevel(n.Unit ?? n.Original, current, n.Total, n.Note));
            }

            var (remaining, partial) = Remaining(now);
            var labels = _stages.Select(s => s.Label).Distinct(StringComparer.Ordinal).ToList();
            var number = _current is null ? 0 : labels.IndexOf(_current.Label) + 1;
            return new ProgressStatus(
                _current?.Label, _current?.Kind ?? StageKind.Other, number, labels.Count, levels, now - _started, remaining, partial);
        }
    }

    /// <summary>The stages that ran, in order, with their durations.</summary>
    public IReadOnlyList<FinishedStage> Finished()
    {
        lock (_lock)
        {
            return _stages.Where(s => s.State == StageState.Done).Select(Describe).ToList();
        }
    }

    /// <summary>Time since the job started.</summary>
    public TimeSpan Elapsed => _clock() - _started;

    private FinishedStage Describe(Stage s)
    {
        var labels = _stages.Select(x => x.Label).Distinct(StringComparer.Ordinal).ToList();
        return new FinishedStage(
            s.Label, s.Kind, labels.IndexOf(s.Label) + 1, labels.Count, s.End - s.Start, s.Steps, s.State == StageState.Done);
    }

    private void End(Stage stage, bool failed)
    {
        FinishedStage? finished = null;
        lock (_lock)
        {
            if (stage.State != StageState.Running)
            {
                return;
            }

            // A stopped stage (failed, or cut short by cancellation) is reported as such and not used for estimates.
            stage.State = failed || _cancellation.IsCancellationRequested ? StageState.Stopped : StageState.Done;
            stage.End = _clock();
            if (ReferenceEquals(_current, stage))
            {
                _current = null;
            }

            finished = Describe(stage);
        }

        StageFinished?.Invoke(finished);
    }

    /// <summary>The estimate (see the remarks on the class); the second value: some stages could not be estimated.</summary>
    private (TimeSpan? Remaining, bool Partial) Remaining(TimeSpan now)
    {
        var done = _stages.Where(s => s.State == StageState.Done).ToList();
        var scoring = done.Where(s => s.Kind == StageKind.Score).Select(s => (s.End - s.Start).TotalSeconds).ToList();
        var evaluations = done.Where(s => s.Kind == StageKind.Evaluate && s.Steps > 0).ToList();
        double? evalRate = evaluations.Count == 0
            ? null
            : evaluations.Sum(s => (s.End - s.Start).TotalSeconds) / evaluations.Sum(s => s.Steps);
        double? evalSteps = evaluations.Count == 0 ? null : Median(evaluations.Select(s => (double)s.Steps).ToList());

        double? Typical(StageKind kind) => kind switch
        {
            StageKind.Score => scoring.Count == 0 ? null : Median(scoring),
            StageKind.Evaluate => evalRate * evalSteps,
            _ => null,
        };

        var total = 0.0;
        var partial = false;
        var any = false;
        if (_current is { } stage)
        {
            double? left = stage.Root is { Closed: false } root
                ? TaskRemaining(root, now)
                : Typical(stage.Kind) is double typical ? Math.Max(0, typical - (now - stage.Start).TotalSeconds) : null;
            if (stage.Kind == StageKind.Evaluate && stage.Root is { Closed: false } r && r.Done == 0 && evalRate is double rate)
            {
                left = rate * r.Total; // a sweep's first steps are slower (warm-up): use the measured rate
            }

            Add(left);
        }

        foreach (var s in _stages.Where(s => s.State == StageState.Pending))
        {
            Add(Typical(s.Kind));
        }

        if (_current is null && !_stages.Any(s => s.State == StageState.Pending))
        {
            return (TimeSpan.Zero, false); // nothing left
        }

        return (any ? TimeSpan.FromSeconds(total) : null, partial);

        void Add(double? seconds)
        {
            if (seconds is double v && double.IsFinite(v))
            {
                total += Math.Max(0, v);
                any = true;
            }
            else
            {
                partial = true;
            }
        }
    }

    /// <summary>The time left in <paramref name="task"/>, in seconds, or <c>null</c> before anything can be measured.</summary>
    private static double? TaskRemaining(TaskNode task, TimeSpan now)
    {
        var sinceLast = (now - task.LastAdvance).TotalSeconds;
        double? perStep = task.Done > 0 ? (task.LastAdvance - task.Started).TotalSeconds / task.Done : null;
        if (task.Child is { Closed: false } child)
        {
            var after = Math.Max(0, task.Total - task.Done - 1);
            if (task.LastChild is { } previous && previous.Total == child.Total && child.Done > 0 &&
                previous.SecondsAt(child.Done) is > 0 and var then && previous.Seconds > 0)
            {
                // A step like the last one (ACDC's next τ over the same edges, whose costs vary along the way): the
                // time the last step took from here, scaled by how this step's pace compares with it so far, trusted
                // in proportion to how far into the step we are.
                var w = Math.Clamp(then / previous.Seconds, 0, 1);
                var pace = (child.LastAdvance - child.Started).TotalSeconds / then;
                var scale = (w * pace) + (1 - w);
                var currentLeft = Math.Max(0, ((previous.Seconds - then) * scale) - (now - child.LastAdvance).TotalSeconds);
                return currentLeft + (after * previous.Seconds * scale);
            }

            var childLeft = TaskRemaining(child, now);
            perStep ??= childLeft is double cl ? (now - child.Started).TotalSeconds + cl : null;
            var current = childLeft ?? (perStep is double p ? Math.Max(0, p - sinceLast) : null);
            return current is double c && perStep is double ps ? c + (after * ps) : null;
        }

        return perStep is double step ? Math.Max(0, (step * (task.Total - task.Done)) - sinceLast) : null;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }

    private enum StageState
    {
        Pending,
        Running,
        Done,
        Stopped,
        Skipped,
    }

    private sealed class Stage(string label, StageKind kind)
    {
        public string Label { get; } = label;

        public StageKind Kind { get; } = kind;

        public StageState State { get; set; }

        public TimeSpan Start { get; set; }

        public TimeSpan End { get; set; }

        /// <summary>The outermost task running in the stage.</summary>
        public TaskNode? Root { get; set; }

        /// <summary>The steps of the stage's outermost tasks (an evaluation's forward passes).</summary>
        public long Steps { get; set; }
    }

    /// <summary>
    /// When an inner task reached each count of steps (seconds since it started), thinned to at most
    /// <see cref="MaxPoints"/> points so that a task of a million steps stays small.
    /// </summary>
    private sealed class StepProfile(long total)
    {
        private const int MaxPoints = 2048;
        private readonly List<(long Done, double Seconds)> _points = [(0, 0)];
        private int _stride = 1;
        private long _calls;

        public long Total { get; } = total;

        /// <summary>How long the task took (at its last step).</summary>
        public double Seconds => _points[^1].Seconds;

        public void Add(long done, double seconds)
        {
            if (++_calls % _stride != 0 && done < Total)
            {
                return;
            }

            _points.Add((done, seconds));
            if (_points.Count > MaxPoints)
            {
                // Keep every other point (and the last): the profile's resolution halves, its span stays.
                var kept = _points.Where((_, i) => i % 2 == 0 || i == _points.Count - 1).ToList();
                _points.Clear();
                _points.AddRange(kept);
                _stride *= 2;
            }
        }

        /// <summary>When the task had done <paramref name="done"/> steps (linear between recorded points).</summary>
        public double SecondsAt(long done)
        {
            var i = _points.FindIndex(p => p.Done >= done);
            if (i < 0)
            {
                return _points[^1].Seconds;
            }

            if (i == 0 || _points[i].Done == done)
            {
                return _points[i].Seconds;
            }

            var (d0, s0) = _points[i - 1];
            var (d1, s1) = _points[i];
            return s0 + ((s1 - s0) * (done - d0) / (d1 - d0));
        }
    }

    private sealed class StageScope(JobProgress owner, Stage stage) : IStageScope
    {
        private bool _failed;

        public void Fail() => _failed = true;

        public void Dispose() => owner.End(stage, _failed);
    }

    private sealed class TaskNode(
        JobProgress owner, string description, long total, string? unit, TaskNode? parent, Stage? stage, TimeSpan started)
        : IProgressTask
    {
        private readonly StepProfile _profile = new(total);

        public string Original { get; } = description;

        public string? Note { get; private set; }

        public long Total { get; } = total;

        public string? Unit { get; } = unit;

        public TaskNode? Parent { get; } = parent;

        public TaskNode? Child { get; set; }

        /// <summary>How the last inner task that ran to its end progressed.</summary>
        public StepProfile? LastChild { get; set; }

        public TimeSpan Started { get; } = started;

        public TimeSpan LastAdvance { get; private set; } = started;

        public long Done { get; private set; }

        public bool Closed { get; private set; }

        public void Advance(long steps = 1)
        {
            lock (owner._lock)
            {
                Done = Math.Min(Total, Done + steps);
                LastAdvance = owner._clock();
                if (Parent is not null)
                {
                    _profile.Add(Done, (LastAdvance - Started).TotalSeconds);
                }
            }
        }

        public void Describe(string description)
        {
            lock (owner._lock)
            {
                // "Subnetwork probing: loss 8.2" under the task "Subnetwork probing" is shown as "loss 8.2".
                var prefix = Original + ": ";
                Note = description.StartsWith(prefix, StringComparison.Ordinal) ? description[prefix.Length..] : description;
            }
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                Closed = true;
                if (Parent?.Child == this)
                {
                    Parent.Child = null;
                }

                if (Parent is not null && Total > 0 && Done == Total)
                {
                    Parent.LastChild = _profile;
                }

                if (stage?.Root == this)
                {
                    stage.Root = null;
                }
            }
        }
    }
}

/// <summary>
/// What a job tells its progress about its stages; does nothing unless the sink is a <see cref="JobProgress"/> (the
/// CLI's), so jobs run the same under tests' plain sinks.
/// </summary>
internal static class ProgressStages
{
    /// <summary>See <see cref="JobProgress.Plan"/>.</summary>
    public static void Plan(this IProgressSink sink, IEnumerable<(string Label, StageKind Kind)> stages)
    {
        if (sink is JobProgress job)
        {
            job.Plan(stages);
        }
    }

    /// <summary>See <see cref="JobProgress.BeginStage"/>.</summary>
    public static IStageScope BeginStage(this IProgressSink sink, string label, StageKind kind) =>
        sink is JobProgress job ? job.BeginStage(label, kind) : NoStage.Instance;

    /// <summary>See <see cref="JobProgress.Skip"/>.</summary>
    public static void SkipStage(this IProgressSink sink, string label, StageKind kind)
    {
        if (sink is JobProgress job)
        {
            job.Skip(label, kind);
        }
    }

    private sealed class NoStage : IStageScope
    {
        public static readonly NoStage Instance = new();

        public void Fail()
        {
        }

        public void Dispose()
        {
        }
    }
}
