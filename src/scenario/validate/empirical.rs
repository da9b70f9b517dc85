//! Empirical distributions from files: an HdrHistogram (the lab's `latency.hdr`, a `dsp_time.hdr` from a
//! live run or `calibrate`, or a histogram log of the HdrHistogram tools) or samples in a CSV column.

use std::path::Path;

use crate::dist::Empirical;
use crate::scenario::raw::TimeUnit;

/// Loads `file` (relative to `base`); the error names the file and the problem.
pub(super) fn load(base: &Path, file: &str, column: Option<&str>, unit: Option<TimeUnit>) -> Result<Empirical, String> {
    let path = base.join(file);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let pairs = if is_csv {
        csv_samples(&bytes, column, unit).map_err(|e| format!("`{shown}`: {e}"))?
    } else {
        if column.is_some() {
            return Err(format!("`{shown}` is a histogram: `column` is for CSV files"));
        }
        histogram(&bytes, unit.unwrap_or(TimeUnit::Ns)).map_err(|e| format!("`{shown}`: {e}"))?
    };
    Empirical::new(pairs).ok_or_else(|| format!("`{shown}` holds no value"))
}

/// The values of a histogram: a serialized one (V2, compressed or not), or an interval log whose
/// intervals are added up.
fn histogram(bytes: &[u8], unit: TimeUnit) -> Result<Vec<(f64, u64)>, String> {
    use hdrhistogram::serialization::{Deserializer, interval_log};
    let mut de = Deserializer::new();
    let hist: hdrhistogram::Histogram<u64> = match de.deserialize(&mut std::io::Cursor::new(bytes)) {
        Ok(h) => h,
        Err(_) => {
            let mut total: Option<hdrhistogram::Histogram<u64>> = None;
            let mut intervals = 0;
            for entry in interval_log::IntervalLogIterator::new(bytes) {
                let entry = entry.map_err(|e| format!("neither an HdrHistogram nor a histogram log: {e:?}"))?;
                if let interval_log::LogEntry::Interval(i) = entry {
                    use base64::Engine as _;
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(i.encoded_histogram())
                        .map_err(|e| format!("interval {}: bad base64: {e}", intervals + 1))?;
                    let h: hdrhistogram::Histogram<u64> = de
                        .deserialize(&mut std::io::Cursor::new(raw))
                        .map_err(|e| format!("interval {}: not an HdrHistogram: {e:?}", intervals + 1))?;
                    match total.as_mut() {
                        Some(t) => t.add(&h).map_err(|e| format!("interval {}: {e:?}", intervals + 1))?,
                        None => total = Some(h),
                    }
                    intervals += 1;
                }
            }
            total.ok_or("neither an HdrHistogram nor a histogram log with intervals")?
        }
    };
    let k = unit.ns();
    Ok(hist
        .iter_recorded()
        .map(|v| (hist.median_equivalent(v.value_iterated_to()) as f64 * k, v.count_at_value()))
        .collect())
}

/// The samples of a CSV column, in nanoseconds.
fn csv_samples(bytes: &[u8], column: Option<&str>, unit: Option<TimeUnit>) -> Result<Vec<(f64, u64)>, String> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers: Vec<String> = rdr.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
    let col = match column {
        Some(c) => headers
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| format!("no column `{c}` (columns: {})", headers.join(", ")))?,
        None if headers.len() == 1 => 0,
        None => return Err(format!("several columns ({}): say which with `column`", headers.join(", "))),
    };
    let name = &headers[col];
    let unit = match unit {
        Some(u) => u,
        None => {
            let suffix = [("_ns", TimeUnit::Ns), ("_us", TimeUnit::Us), ("_ms", TimeUnit::Ms), ("_s", TimeUnit::S)];
            suffix.iter().find(|(s, _)| name.ends_with(s)).map(|(_, u)| *u).ok_or_else(|| {
                format!("the unit of column `{name}` is unknown: name it `..._ms` (or _us, _ns, _s), or give `unit`")
            })?
        }
    };
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 2);
        let cell = rec.get(col).unwrap_or("");
        let v: f64 = cell.parse().map_err(|_| format!("line {line}: `{cell}` in column `{name}` is not a number"))?;
        if !(v >= 0.0 && v.is_finite()) {
            return Err(format!("line {line}: {v} in column `{name}` is not a duration (expected >= 0)"));
        }
        out.push((v * unit.ns(), 1));
    }
    Ok(out)
}
