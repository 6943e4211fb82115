using System.Globalization;
using System.Text;

namespace AutoCircuit.Host.Reports;

/// <summary>How an axis maps values.</summary>
internal enum AxisScale
{
    /// <summary>Linear.</summary>
    Linear,

    /// <summary><c>log10(1 + x)</c>: logarithmic for edge counts, with 0 edges at the origin.</summary>
    Log1p,
}

/// <summary>One line of a chart.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Color">Stroke colour.</param>
/// <param name="Points">(x, y) points in x order; a non-finite y breaks the line.</param>
/// <param name="Dash">An SVG dash pattern, or <c>null</c> for a solid line.</param>
internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, string? Dash = null);

/// <summary>What a chart shows.</summary>
internal sealed record ChartOptions
{
    /// <summary>Title above the plot.</summary>
    public required string Title { get; init; }

    /// <summary>X axis label.</summary>
    public required string XLabel { get; init; }

    /// <summary>Y axis label.</summary>
    public required string YLabel { get; init; }

    /// <summary>X axis scale.</summary>
    public AxisScale XScale { get; init; } = AxisScale.Linear;

    /// <summary>Fixed x range, or <c>null</c> for the data's.</summary>
    public (double Min, double Max)? XRange { get; init; }

    /// <summary>Fixed y range, or <c>null</c> for the data's (with a margin).</summary>
    public (double Min, double Max)? YRange { get; init; }

    /// <summary>Draws the diagonal y = x (ROC charts).</summary>
    public bool Diagonal { get; init; }

    /// <summary>Draws a dotted reference line at this y (e.g. 100 % of the full model).</summary>
    public double? ReferenceY { get; init; }

    /// <summary>Width in px.</summary>
    public int Width { get; init; } = 620;

    /// <summary>Width of the legend column on the right, in px.</summary>
    public int LegendWidth { get; init; } = 190;

    /// <summary>Height in px.</summary>
    public int Height { get; init; } = 380;
}

/// <summary>A line chart as a self-contained SVG element (no script; hover a point for its value).</summary>
internal static class LineChart
{
    private const double Left = 64;
    private const double Top = 34;
    private const double Bottom = 46;
    private const int MaxMarkers = 60;

    /// <summary>Renders the chart.</summary>
    public static string Render(ChartOptions options, IReadOnlyList<ChartSeries> series)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(series);
        var plotW = options.Width - Left - options.LegendWidth - 16;
        var plotH = options.Height - Top - Bottom;
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var (xMin, xMax) = options.XRange ?? (finite.Count == 0 ? (0, 1) : (finite.Min(p => p.X), finite.Max(p => p.X)));
        double FX(double x) => options.XScale == AxisScale.Log1p ? Math.Log10(1 + Math.Max(0, x)) : x;
        var fxMin = FX(xMin);
        var fxMax = FX(xMax);
        if (!(fxMax > fxMin))
        {
            fxMax = fxMin + 1;
        }

        double yMin, yMax;
        if (options.YRange is { } yr)
        {
            (yMin, yMax) = yr;
        }
        else
        {
            var ys = finite.Select(p => p.Y).ToList();
            if (options.ReferenceY is double r)
            {
                ys.Add(r);
            }

            yMin = ys.Count == 0 ? 0 : ys.Min();
            yMax = ys.Count == 0 ? 1 : ys.Max();
            if (!(yMax > yMin))
            {
                yMin -= 1;
                yMax += 1;
            }

            var pad = (yMax - yMin) * 0.06;
            yMin -= pad;
            yMax += pad;
        }

        double Px(double x) => Left + ((FX(x) - fxMin) / (fxMax - fxMin) * plotW);
        double Py(double y) => Top + plotH - ((y - yMin) / (yMax - yMin) * plotH);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{options.Width}\" height=\"{options.Height}\" " +
            $"viewBox=\"0 0 {options.Width} {options.Height}\" font-family=\"sans-serif\" role=\"img\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{Svg.Escape(options.Title)}</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{options.Width}\" height=\"{options.Height}\" fill=\"#fff\"/>");
        Svg.Text(sb, Left, 20, options.Title, "font-size=\"14\" font-weight=\"bold\"");

        // Grid, ticks and axis labels.
        sb.Append("<g font-size=\"11\" fill=\"#444\">");
        foreach (var t in XTicks(options.XScale, xMin, xMax))
        {
            var x = Px(t);
            sb.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Svg.N(x)}\" y1=\"{Svg.N(Top)}\" x2=\"{Svg.N(x)}\" y2=\"{Svg.N(Top + plotH)}\" stroke=\"#e6e6e6\"/>");
            Svg.Text(sb, x, Top + plotH + 15, Svg.Tick(t), "text-anchor=\"middle\"");
        }

        foreach (var t in Svg.NiceTicks(yMin, yMax))
        {
            var y = Py(t);
            sb.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Svg.N(Left)}\" y1=\"{Svg.N(y)}\" x2=\"{Svg.N(Left + plotW)}\" y2=\"{Svg.N(y)}\" stroke=\"#e6e6e6\"/>");
            Svg.Text(sb, Left - 6, y + 4, Svg.Tick(t), "text-anchor=\"end\"");
        }

        sb.Append("</g>");
        sb.Append(CultureInfo.InvariantCulture,
            $"<rect x=\"{Svg.N(Left)}\" y=\"{Svg.N(Top)}\" width=\"{Svg.N(plotW)}\" height=\"{Svg.N(plotH)}\" fill=\"none\" stroke=\"#888\"/>");
        Svg.Text(sb, Left + (plotW / 2), options.Height - 8,
            options.XLabel + (options.XScale == AxisScale.Log1p ? " (log scale)" : string.Empty),
            "text-anchor=\"middle\" font-size=\"12\"");
        sb.Append(CultureInfo.InvariantCulture,
            $"<text transform=\"translate(14 {Svg.N(Top + (plotH / 2))}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" +
            $"{Svg.Escape(options.YLabel)}</text>");

        if (options.Diagonal)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Svg.N(Px(xMin))}\" y1=\"{Svg.N(Py(xMin))}\" x2=\"{Svg.N(Px(xMax))}\" y2=\"{Svg.N(Py(xMax))}\" " +
                $"stroke=\"#999\" stroke-dasharray=\"4 4\"/>");
        }

        if (options.ReferenceY is double refY && refY >= yMin && refY <= yMax)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Svg.N(Left)}\" y1=\"{Svg.N(Py(refY))}\" x2=\"{Svg.N(Left + plotW)}\" y2=\"{Svg.N(Py(refY))}\" " +
                $"stroke=\"#666\" stroke-dasharray=\"2 3\"/>");
        }

        // Lines, clipped to the plot area.
        var clipId = Svg.Id("clip", options.Title + "|" + string.Join("|", series.Select(x => x.Name)));
        sb.Append(CultureInfo.InvariantCulture,
            $"<clipPath id=\"{clipId}\"><rect x=\"{Svg.N(Left)}\" y=\"{Svg.N(Top)}\" width=\"{Svg.N(plotW)}\" height=\"{Svg.N(plotH)}\"/></clipPath>");
        sb.Append(CultureInfo.InvariantCulture, $"<g clip-path=\"url(#{clipId})\" fill=\"none\" stroke-width=\"2\">");
        foreach (var s in series)
        {
            var dash = s.Dash is null ? string.Empty : " stroke-dasharray=\"" + s.Dash + "\"";
            foreach (var segment in Segments(s.Points))
            {
                var d = string.Join(" ", segment.Select((p, i) => $"{(i == 0 ? "M" : "L")}{Svg.N(Px(p.X))},{Svg.N(Py(p.Y))}"));
                sb.Append(CultureInfo.InvariantCulture,
                    $"<path d=\"{d}\" stroke=\"{s.Color}\"{dash}/>");
            }

            if (s.Points.Count <= MaxMarkers)
            {
                foreach (var (x, y) in s.Points.Where(p => double.IsFinite(p.Y)))
                {
                    sb.Append(CultureInfo.InvariantCulture,
                        $"<circle cx=\"{Svg.N(Px(x))}\" cy=\"{Svg.N(Py(y))}\" r=\"2.6\" fill=\"{s.Color}\" stroke=\"none\">" +
                        $"<title>{Svg.Escape($"{s.Name}: {Svg.Tick(x)} → {Svg.Format(y)}")}</title></circle>");
                }
            }
        }

        sb.Append("</g>");

        // Legend.
        var lx = Left + plotW + 14;
        var ly = Top + 6;
        sb.Append("<g font-size=\"11\">");
        foreach (var s in series)
        {
            var dash = s.Dash is null ? string.Empty : " stroke-dasharray=\"" + s.Dash + "\"";
            sb.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Svg.N(lx)}\" y1=\"{Svg.N(ly)}\" x2=\"{Svg.N(lx + 20)}\" y2=\"{Svg.N(ly)}\" stroke=\"{s.Color}\" stroke-width=\"3\"{dash}/>");
            var maxChars = (int)((options.LegendWidth - 30) / 6.4);
            var name = s.Name.Length > maxChars ? s.Name[..(maxChars - 1)] + "…" : s.Name;
            sb.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{Svg.N(lx + 26)}\" y=\"{Svg.N(ly + 4)}\">{Svg.Escape(name)}<title>{Svg.Escape(s.Name)}</title></text>");
            ly += 17;
        }

        sb.Append("</g></svg>");
        return sb.ToString();
    }

    private static IEnumerable<List<(double X, double Y)>> Segments(IReadOnlyList<(double X, double Y)> points)
    {
        var current = new List<(double X, double Y)>();
        foreach (var p in points)
        {
            if (double.IsFinite(p.X) && double.IsFinite(p.Y))
            {
                current.Add(p);
            }
            else if (current.Count > 0)
            {
                yield return current;
                current = [];
            }
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }

    private static List<double> XTicks(AxisScale scale, double min, double max)
    {
        if (scale == AxisScale.Linear)
        {
            return Svg.NiceTicks(min, max);
        }

        var ticks = new List<double>();
        if (min <= 0)
        {
            ticks.Add(0);
        }

        for (var v = 1.0; v <= max * 1.0001; v *= 10)
        {
            if (v >= min)
            {
                ticks.Add(v);
            }
        }

        // The end of the axis (e.g. every edge of the graph), unless a decade tick is close to it.
        if (max > 1 && (ticks.Count == 0 || Math.Log10(1 + max) - Math.Log10(1 + ticks[^1]) > 0.25))
        {
            ticks.Add(max);
        }

        return ticks;
    }
}
