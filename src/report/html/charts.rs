//! Charts as inline SVG (plotters' SVG backend: no system fonts, no files). Every time chart shares one
//! x axis (0 to the run's end, the same plot width and margins), so they line up on the page.

use plotters::coord::Shift;
use plotters::prelude::*;
pub use plotters::style::RGBColor;

/// Width of every chart [px].
pub const WIDTH: u32 = 1000;
/// Width of the label area left of every time chart [px] (the same everywhere, so that the axes align).
const LEFT: u32 = 140;
const RIGHT: u32 = 16;
/// Plot width [px]: series are downsampled to at most two points per pixel column of it.
pub const PLOT_W: usize = (WIDTH - LEFT - RIGHT) as usize;

/// The palette (Tableau 10), by series index.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Colour `i` of the palette.
pub fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// The CSS form of a colour.
pub fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Red for failures, faults and open breakers.
pub const RED: RGBColor = RGBColor(214, 39, 40);
/// Amber for half-open breakers and warnings.
pub const AMBER: RGBColor = RGBColor(240, 160, 20);
/// Green for recoveries.
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
/// Grey for ticket alerts and neutral marks.
pub const GREY: RGBColor = RGBColor(127, 127, 127);

/// A line of a chart, apart from its points: its legend name, colour and stroke.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// Drawn thin (1 px instead of 2).
    pub dashed: bool,
}

/// The points of a chart's lines, read as the chart is drawn: called with `point`, it calls
/// `point(line, t [s], value)` for every point of every line (`None`: no value, the line breaks), each
/// line's points in time order. A chart calls it once or, on a log scale, twice (for its y range, then
/// to draw).
pub type Points<'p> = dyn Fn(&mut dyn FnMut(usize, f64, Option<f64>)) -> Res<()> + 'p;

/// A line: a name, a colour and values at times (`None`: no value, the line breaks).
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// `(t [s], value)`.
    pub points: Vec<(f64, Option<f64>)>,
    /// Draw as steps (a value holds until the next), e.g. a window's level.
    pub dashed: bool,
}

/// What every time chart shares: the time range, fault windows, and event marks.
pub struct Axis {
    /// End of the x axis [s].
    pub end_s: f64,
    /// Fault windows `(start, end)` [s], shaded.
    pub faults: Vec<(f64, f64)>,
    /// Event marks `(t, colour)`: thin vertical lines.
    pub marks: Vec<(f64, RGBColor)>,
}

/// Y scale of a time chart.
#[derive(Copy, Clone, PartialEq)]
pub enum Scale {
    /// Linear from 0 (or the data's minimum if negative) to the data's maximum (at least `min_top`).
    Linear {
        /// Smallest top of the axis.
        min_top: f64,
    },
    /// Fixed range.
    Fixed(f64, f64),
    /// Base-10 logarithmic over the data.
    Log,
}

/// Formats seconds for an axis: `42s`, `12:30` (m:ss) or `3:05h` (h:mm).
pub fn fmt_t(t: f64, end: f64) -> String {
    let t = t.max(0.0);
    if end <= 12.0 {
        // Ticks are less than a second apart: tenths.
        format!("{t:.1}s")
    } else if end <= 120.0 {
        format!("{t:.0}s")
    } else if end <= 3.0 * 3600.0 {
        let s = t.round() as u64;
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        let m = (t / 60.0).round() as u64;
        format!("{}:{:02}h", m / 60, m % 60)
    }
}

/// Formats an axis value compactly.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

/// Formats `v` with enough decimals to tell apart values `range` apart.
pub fn fmt_in_range(v: f64, range: f64) -> String {
    if range <= 0.0 || !range.is_finite() || range >= 10.0 {
        return fmt_num(v);
    }
    let decimals = (1.0 - range.log10().floor()).clamp(0.0, 9.0) as usize;
    format!("{v:.decimals$}")
}

/// Keeps at most the first, minimum, maximum and last point of each of `cols` columns of `[x0, x1]`, in
/// time order: what a line drawn at that width shows anyway. All the points when there are at most 4 a
/// column on average.
pub fn downsample(points: &[(f64, f64)], x0: f64, x1: f64, cols: usize) -> Vec<(f64, f64)> {
    let mut r = Reducer::new(x0, x1, cols);
    for p in points {
        r.push(*p);
    }
    r.end_run();
    r.runs.pop().unwrap_or_default()
}

/// A point and its index in its run.
type Indexed = (usize, (f64, f64));

/// The points of one pixel column so far: the first, the (first) lowest, the (first) highest, the last.
struct Column {
    col: isize,
    keep: [Indexed; 4],
}

/// A line's runs of values (split where it has no value) reduced as their points arrive, to what
/// [`downsample`] keeps of each: the points themselves while a run has at most 4 a column on average,
/// otherwise the first, lowest, highest and last point of each column. A day of windows is drawn
/// without holding the day's points.
struct Reducer {
    x0: f64,
    x1: f64,
    cols: usize,
    /// The finished runs.
    runs: Vec<Vec<(f64, f64)>>,
    /// Points of the current run.
    n: usize,
    /// The current run's points, while it has at most `4 * cols` (then let go).
    all: Vec<(f64, f64)>,
    /// The current run's finished columns, reduced.
    reduced: Vec<(f64, f64)>,
    /// The current run's open column.
    open: Option<Column>,
}

impl Reducer {
    fn new(x0: f64, x1: f64, cols: usize) -> Self {
        Reducer { x0, x1, cols, runs: Vec::new(), n: 0, all: Vec::new(), reduced: Vec::new(), open: None }
    }

    /// Whether a run of `n` points is kept whole.
    fn whole(&self, n: usize) -> bool {
        n <= 4 * self.cols || self.x1 <= self.x0
    }

    fn col(&self, x: f64) -> isize {
        (((x - self.x0) / (self.x1 - self.x0) * self.cols as f64) as isize).clamp(0, self.cols as isize - 1)
    }

    /// The next point of the current run.
    fn push(&mut self, p: (f64, f64)) {
        let i = self.n;
        self.n += 1;
        if self.whole(self.n) {
            self.all.push(p);
        } else if !self.all.is_empty() {
            self.all = Vec::new();
        }
        if self.x1 <= self.x0 {
            return;
        }
        let c = self.col(p.0);
        match &mut self.open {
            Some(o) if o.col == c => {
                let [_, lo, hi, last] = &mut o.keep;
                if p.1 < lo.1.1 {
                    *lo = (i, p);
                }
                if p.1 > hi.1.1 {
                    *hi = (i, p);
                }
                *last = (i, p);
            }
            _ => {
                self.close_column();
                self.open = Some(Column { col: c, keep: [(i, p); 4] });
            }
        }
    }

    fn close_column(&mut self) {
        if let Some(Column { mut keep, .. }) = self.open.take() {
            keep.sort_unstable_by_key(|k| k.0);
            let mut last = usize::MAX;
            for (i, p) in keep {
                if i != last {
                    self.reduced.push(p);
                    last = i;
                }
            }
        }
    }

    /// A gap, or the end of the line: the current run (if any) is finished.
    fn end_run(&mut self) {
        if self.n == 0 {
            return;
        }
        self.close_column();
        let run = if self.whole(self.n) { std::mem::take(&mut self.all) } else { std::mem::take(&mut self.reduced) };
        self.runs.push(run);
        self.n = 0;
        self.all.clear();
        self.reduced.clear();
    }
}

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("chart: {e:?}")
}

fn svg(height: u32, draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Res<()>) -> Res<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    // Scale with the page: keep the viewBox, drop the fixed size.
    Ok(buf.replacen(&format!("<svg width=\"{WIDTH}\" height=\"{height}\""), "<svg class=\"chart\" role=\"img\"", 1))
}

const FONT: (&str, u32) = ("sans-serif", 13);

/// A time chart: `series` over the shared axis, with its fault windows shaded and event marks drawn.
pub fn time_chart(axis: &Axis, y_desc: &str, scale: Scale, series: &[Series], height: u32) -> Res<String> {
    let lines: Vec<Line> =
        series.iter().map(|s| Line { name: s.name.clone(), color: s.color, dashed: s.dashed }).collect();
    let points = |point: &mut dyn FnMut(usize, f64, Option<f64>)| -> Res<()> {
        for (k, s) in series.iter().enumerate() {
            for (t, v) in &s.points {
                point(k, *t, *v);
            }
        }
        Ok(())
    };
    streamed_chart(axis, y_desc, scale, &lines, &points, height)
}

/// A time chart of `lines` over the shared axis, their points read from `points` ([`Points`]) as it is
/// drawn, with its fault windows shaded and event marks drawn. Each line is drawn as a run of values
/// between its gaps, [`downsample`]d to the plot's pixel columns.
pub fn streamed_chart(
    axis: &Axis,
    y_desc: &str,
    scale: Scale,
    lines: &[Line],
    points: &Points,
    height: u32,
) -> Res<String> {
    let log = scale == Scale::Log;
    let tf = |v: f64| if log { v.max(1e-6).log10() } else { v };
    let end = axis.end_s.max(1e-9);
    let mut reduced: Vec<Reducer> = lines.iter().map(|_| Reducer::new(0.0, end, PLOT_W)).collect();
    // Where a value is drawn, when that is known before the data's range is: a fixed range clamps to
    // itself, and a linear one (from 0 or the data's bottom up to the data's top or more) leaves values as
    // they are. Then one pass both finds the range and reduces the lines; otherwise a second pass reduces.
    let known = match scale {
        Scale::Fixed(a, b) => Some((a, if b <= a { a + 1.0 } else { b })),
        Scale::Linear { min_top } if min_top >= 0.0 => Some((f64::NEG_INFINITY, f64::INFINITY)),
        _ => None,
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    points(&mut |k, t, v| {
        let v = v.filter(|v| v.is_finite());
        if let Some(v) = v
            && !(log && v <= 0.0)
        {
            (lo, hi) = (lo.min(tf(v)), hi.max(tf(v)));
        }
        if let (Some((a, b)), Some(r)) = (known, reduced.get_mut(k)) {
            match v {
                Some(v) => r.push((t, v.clamp(a, b))),
                None => r.end_run(),
            }
        }
    })?;
    match scale {
        Scale::Linear { min_top } => {
            lo = lo.min(0.0);
            hi = if hi.is_finite() { hi.max(min_top) * 1.05 } else { min_top };
            if !lo.is_finite() {
                lo = 0.0;
            }
        }
        Scale::Fixed(a, b) => (lo, hi) = (a, b),
        Scale::Log => {
            if !lo.is_finite() {
                (lo, hi) = (0.0, 1.0);
            }
            lo = lo.floor();
            hi = hi.ceil().max(lo + 1.0);
        }
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    if known.is_none() {
        points(&mut |k, t, v| {
            let Some(r) = reduced.get_mut(k) else { return };
            match v {
                Some(v) if v.is_finite() => r.push((t, tf(v).clamp(lo, hi))),
                _ => r.end_run(),
            }
        })?;
    }
    svg(height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(10)
            .margin_right(RIGHT)
            .x_label_area_size(24)
            .y_label_area_size(LEFT)
            .build_cartesian_2d(0.0..end, lo..hi)
            .map_err(err)?;
        let yfmt = |y: &f64| if log { fmt_num(10f64.powf(*y)) } else { fmt_num(*y) };
        chart
            .configure_mesh()
            .x_labels(12)
            .y_labels(if log { (hi - lo) as usize + 1 } else { 5 })
            .x_label_formatter(&|x| fmt_t(*x, end))
            .y_label_formatter(&yfmt)
            .y_desc(y_desc)
            .label_style(FONT)
            .axis_desc_style(FONT)
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()
            .map_err(err)?;
        shade(&mut chart, axis, lo, hi)?;
        for (line, mut r) in lines.iter().zip(reduced) {
            r.end_run();
            let style = line.color.stroke_width(if line.dashed { 1 } else { 2 });
            for pts in r.runs {
                if pts.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(pts[0], 2, style.filled()))).map_err(err)?;
                } else {
                    chart.draw_series(LineSeries::new(pts, style)).map_err(err)?;
                }
            }
        }
        Ok(())
    })
}

fn shade<DB: DrawingBackend>(
    chart: &mut ChartContext<
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    axis: &Axis,
    lo: f64,
    hi: f64,
) -> Res<()> {
    chart
        .draw_series(axis.faults.iter().map(|(a, b)| Rectangle::new([(*a, lo), (*b, hi)], RED.mix(0.10).filled())))
        .map_err(|e| format!("chart: {e:?}"))?;
    chart
        .draw_series(
            axis.marks.iter().map(|(t, c)| PathElement::new(vec![(*t, lo), (*t, hi)], c.mix(0.45).stroke_width(1))),
        )
        .map_err(|e| format!("chart: {e:?}"))?;
    Ok(())
}

/// One lane of the timeline: named spans (start, end, colour) and instants (t, colour).
pub struct Lane {
    /// Name shown left of the lane.
    pub name: String,
    /// Coloured intervals.
    pub spans: Vec<(f64, f64, RGBColor)>,
    /// Marks.
    pub points: Vec<(f64, RGBColor)>,
}

/// The correlated timeline: one lane per fault, breaker, service restarts, alert; on the shared axis.
pub fn lanes_chart(axis: &Axis, lanes: &[Lane]) -> Res<String> {
    let n = lanes.len().max(1) as f64;
    let height = 40 + 22 * lanes.len().max(1) as u32;
    let end = axis.end_s.max(1e-9);
    svg(height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(10)
            .margin_right(RIGHT)
            .x_label_area_size(24)
            .y_label_area_size(LEFT)
            .build_cartesian_2d(0.0..end, 0.0..n)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .y_labels(0)
            .x_label_formatter(&|x| fmt_t(*x, end))
            .label_style(FONT)
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()
            .map_err(err)?;
        shade(&mut chart, &Axis { end_s: end, faults: axis.faults.clone(), marks: Vec::new() }, 0.0, n)?;
        for (i, lane) in lanes.iter().enumerate() {
            let y0 = n - i as f64 - 0.85;
            let y1 = n - i as f64 - 0.15;
            chart
                .draw_series(lane.spans.iter().map(|(a, b, c)| {
                    // At least a pixel wide, so that a short span stays visible.
                    let b = b.max(a + end / PLOT_W as f64);
                    Rectangle::new([(*a, y0), (b, y1)], c.mix(0.85).filled())
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    lane.points.iter().map(|(t, c)| PathElement::new(vec![(*t, y0), (*t, y1)], c.stroke_width(2))),
                )
                .map_err(err)?;
            let (px, py) = chart.backend_coord(&(0.0, (y0 + y1) / 2.0));
            let name: String = if lane.name.chars().count() > 20 {
                lane.name.chars().take(19).chain(['…']).collect()
            } else {
                lane.name.clone()
            };
            root.draw(&Text::new(
                name,
                (px - 6, py),
                FONT.into_font().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                )),
            ))
            .map_err(err)?;
        }
        Ok(())
    })
}

/// The latency percentile spectrum (HdrHistogram style): latency against percentile, the percentile axis
/// logarithmic in 1/(1-q) (90%, 99%, 99.9%, ... equally spaced). One curve per histogram.
pub fn spectrum(curves: &[(String, RGBColor, &hdrhistogram::Histogram<u64>)]) -> Res<String> {
    let mut lines = Vec::new();
    let mut xmax: f64 = 1.0;
    let mut ymax: f64 = 0.0;
    for (_, c, h) in curves {
        if h.is_empty() {
            continue;
        }
        let n = h.len() as f64;
        // Up to the last quantile that more than one value supports.
        let top = (n.log10()).max(1.0);
        let mut pts = Vec::new();
        let steps = 200;
        for k in 0..=steps {
            let x = top * k as f64 / steps as f64;
            let q = 1.0 - 10f64.powf(-x);
            let v = h.value_at_quantile(q) as f64 / 1e6;
            pts.push((x, v));
            ymax = ymax.max(v);
        }
        xmax = xmax.max(top);
        lines.push((*c, pts));
    }
    let xmax = xmax.ceil();
    let ymax = if ymax > 0.0 { ymax * 1.05 } else { 1.0 };
    svg(300, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(10)
            .margin_right(48)
            .x_label_area_size(40)
            .y_label_area_size(LEFT)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(xmax as usize + 1)
            .y_labels(6)
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|y| fmt_num(*y))
            .x_desc("percentile")
            .y_desc("latency [ms]")
            .label_style(FONT)
            .axis_desc_style(FONT)
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()
            .map_err(err)?;
        for (c, pts) in lines {
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2))).map_err(err)?;
        }
        Ok(())
    })
}

/// `0` → "0%", `1` → "90%", `2` → "99%", `3` → "99.9%".
pub fn percentile_label(x: f64) -> String {
    if (x - x.round()).abs() > 1e-6 {
        return String::new();
    }
    let k = x.round() as i32;
    match k {
        0 => "0%".into(),
        1 => "90%".into(),
        _ => format!("99.{}%", "9".repeat((k - 2) as usize)).replace("99.%", "99%"),
    }
}

/// Values per seed: dots, the mean as a line and its 95% confidence interval shaded.
pub fn seed_chart(values: &[(u64, f64)], mean: f64, ci: [f64; 2]) -> Res<String> {
    let lo = values.iter().map(|v| v.1).fold(ci[0], f64::min);
    let hi = values.iter().map(|v| v.1).fold(ci[1], f64::max);
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 1e-6).max(1e-12);
    let (lo, hi) = (lo - pad, hi + pad);
    let n = values.len().max(1) as f64;
    svg(110, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(6)
            .margin_right(RIGHT)
            .x_label_area_size(20)
            .y_label_area_size(LEFT)
            .build_cartesian_2d(-0.5..n - 0.5, lo..hi)
            .map_err(err)?;
        let labels: Vec<String> = values.iter().map(|v| v.0.to_string()).collect();
        chart
            .configure_mesh()
            .x_labels(values.len().min(25))
            .y_labels(3)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| fmt_in_range(*y, hi - lo))
            .label_style(("sans-serif", 11))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.06))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(-0.5, ci[0]), (n - 0.5, ci[1])],
                color(0).mix(0.15).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(vec![(-0.5, mean), (n - 0.5, mean)], color(0).stroke_width(1)))
            .map_err(err)?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| Circle::new((i as f64, v.1), 3, color(1).filled())))
            .map_err(err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_the_extremes_of_every_column() {
        let pts: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, ((i * 7919) % 1000) as f64)).collect();
        let d = downsample(&pts, 0.0, 100_000.0, 100);
        assert!(d.len() <= 400, "{}", d.len());
        // Every column of 1000 points holds a 0 and a 999.
        assert_eq!(d.iter().filter(|p| p.1 == 999.0).count(), 100);
        assert_eq!(d.iter().filter(|p| p.1 == 0.0).count(), 100);
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        let few = &pts[..50];
        assert_eq!(downsample(few, 0.0, 100_000.0, 100), few.to_vec());
    }

    #[test]
    fn percentile_labels() {
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(4.0), "99.99%");
        assert_eq!(percentile_label(1.5), "");
    }

    #[test]
    fn gaps_split_a_series() {
        let mut r = Reducer::new(0.0, 10.0, 100);
        for (t, v) in [(0.0, Some(1.0)), (1.0, None), (2.0, Some(2.0)), (3.0, Some(3.0)), (4.0, Some(f64::NAN))] {
            match v {
                Some(v) if v.is_finite() => r.push((t, v)),
                _ => r.end_run(),
            }
        }
        r.end_run();
        assert_eq!(r.runs, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
    }

    /// The column reduction as a pass over a whole run held in memory: each maximal stretch of points in
    /// one column keeps its first, first lowest, first highest and last point.
    fn reduce_whole(points: &[(f64, f64)], x0: f64, x1: f64, cols: usize) -> Vec<(f64, f64)> {
        if points.len() <= 4 * cols {
            return points.to_vec();
        }
        let col = |x: f64| (((x - x0) / (x1 - x0) * cols as f64) as isize).clamp(0, cols as isize - 1);
        let mut out = Vec::new();
        let mut i = 0;
        while i < points.len() {
            let mut j = i;
            let (mut lo, mut hi) = (i, i);
            while j < points.len() && col(points[j].0) == col(points[i].0) {
                if points[j].1 < points[lo].1 {
                    lo = j;
                }
                if points[j].1 > points[hi].1 {
                    hi = j;
                }
                j += 1;
            }
            let mut keep = vec![i, lo, hi, j - 1];
            keep.dedup();
            keep.sort_unstable();
            keep.dedup();
            out.extend(keep.iter().map(|k| points[*k]));
            i = j;
        }
        out
    }

    /// Reduced as the points arrive, a line with gaps, ties, runs short and long, and points past the
    /// axis's end gives, run by run, what the whole run reduced at once gives.
    #[test]
    fn a_line_reduced_as_it_arrives_is_the_line_reduced_whole() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (cols, end) = (50, 900.0);
        let mut r = Reducer::new(0.0, end, cols);
        let (mut runs, mut run) = (Vec::new(), Vec::new());
        let mut t = 0.0;
        for _ in 0..20_000 {
            t += (next() % 100) as f64 / 1000.0;
            if next() % 397 == 0 {
                r.end_run();
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            } else {
                // Few distinct values: ties for the lowest and the highest in most columns.
                let p = (t, (next() % 7) as f64);
                r.push(p);
                run.push(p);
            }
        }
        r.end_run();
        runs.push(run);
        assert!(t > end, "some points past the end");
        let lens: Vec<usize> = runs.iter().map(Vec::len).collect();
        assert!(
            lens.len() > 5 && lens.iter().any(|n| *n <= 4 * cols) && lens.iter().any(|n| *n > 4 * cols),
            "{lens:?}"
        );
        let whole: Vec<Vec<(f64, f64)>> = runs.iter().map(|run| reduce_whole(run, 0.0, end, cols)).collect();
        assert_eq!(r.runs, whole);
    }
}
