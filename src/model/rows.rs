//! The rows of the tidy CSV files, written and read through serde (the csv crate): the header is the
//! field names, in order (contract: extend, don't rename).
//!
//! Numbers are written as Rust prints them (`5`, `0.25`), fixed-point where the column says so, and empty
//! for a missing value; the `fmt` helpers below keep every file byte-stable across versions.

use serde::{Deserialize, Serialize};

/// Serializers for CSV cells.
pub mod fmt {
    use serde::Serializer;

    /// `x` as Rust prints it (`5`, not `5.0`).
    pub fn plain<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(x)
    }

    /// `x` as Rust prints it, empty for `None`.
    pub fn plain_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.collect_str(v),
            None => s.serialize_str(""),
        }
    }

    /// Six decimals.
    pub fn fixed6<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{x:.6}"))
    }

    /// Six decimals, empty for `None`.
    pub fn fixed6_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.collect_str(&format_args!("{v:.6}")),
            None => s.serialize_str(""),
        }
    }

    /// Nine decimals (nanoseconds in seconds).
    pub fn fixed9<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{x:.9}"))
    }
}

/// A row of `timeseries.csv`: one per window per service (windows in time order, services in scenario
/// order within a window). Latency columns are empty in a window without successes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesRow {
    /// Window start [s].
    #[serde(serialize_with = "fmt::plain")]
    pub t_s: f64,
    /// Service name.
    pub service: String,
    /// Requests whose outcome was decided in the window.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Refused.
    pub rejected: u64,
    /// Median latency of the window's successes [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub p50_ms: Option<f64>,
    /// 99th percentile [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub p99_ms: Option<f64>,
    /// Maximum [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub max_ms: Option<f64>,
    /// Busy worker share over the window.
    #[serde(serialize_with = "fmt::fixed6")]
    pub utilization: f64,
    /// Time-averaged queue length over the window.
    #[serde(serialize_with = "fmt::fixed6")]
    pub queue_depth: f64,
    /// Time-averaged workers over the window.
    #[serde(serialize_with = "fmt::fixed6")]
    pub workers: f64,
    /// 99th percentile of the queue wait (arrival at the service to the start of processing) of the
    /// requests that started in the window [ms] (the last column, added after the others: absent from older files).
    #[serde(default, serialize_with = "fmt::plain_opt")]
    pub wait_p99_ms: Option<f64>,
}

/// A row of `bus.csv`: a partition of an event bus as one consumer group sees it, at the end of a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusRow {
    /// The window's end [s].
    #[serde(serialize_with = "fmt::plain")]
    pub t_s: f64,
    /// The event bus.
    pub bus: String,
    /// The consumer group.
    pub group: String,
    /// The partition.
    pub partition: u32,
    /// Log end offset: messages appended so far.
    pub end_offset: u64,
    /// The group's committed offset.
    pub committed: u64,
    /// end_offset − committed.
    pub lag: u64,
}

/// A row of `client.csv`: the end-to-end outcomes and latency seen by the load generator, one per window.
/// The rows add up to `summary.json` `requests`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    /// Window start [s].
    #[serde(serialize_with = "fmt::plain")]
    pub t_s: f64,
    /// Requests whose outcome was decided in the window.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Refused.
    pub rejected: u64,
    /// Median latency [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub p50_ms: Option<f64>,
    /// 99th percentile [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub p99_ms: Option<f64>,
    /// Maximum [ms].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub max_ms: Option<f64>,
}

/// A row of `slo.csv`: per window and objective, the good and total events of its SLI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloRow {
    /// Window start [s].
    #[serde(serialize_with = "fmt::plain")]
    pub t_s: f64,
    /// Objective name.
    pub slo: String,
    /// Good events.
    pub good: u64,
    /// All events.
    pub total: u64,
}

/// A row of `events.csv`: `detail` is rendered from the event's fields (`events.jsonl` has the fields).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// When [s].
    #[serde(serialize_with = "fmt::fixed9")]
    pub t_s: f64,
    /// What.
    pub kind: super::event::EventKind,
    /// Which actor, service or objective it is about.
    pub target: String,
    /// The figures, in words.
    pub detail: String,
}

/// A row of `audio.csv`: one per window per channel (ch1.., out_l, out_r); `xruns`, `dsp_load` and
/// `missing` are the device's, repeated on each channel's row; levels are empty for silence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioRow {
    /// Window start [s].
    #[serde(serialize_with = "fmt::plain")]
    pub t_s: f64,
    /// Channel name.
    pub channel: String,
    /// Peak [dBFS].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub peak_dbfs: Option<f64>,
    /// RMS [dBFS].
    #[serde(serialize_with = "fmt::plain_opt")]
    pub rms_dbfs: Option<f64>,
    /// Samples at or above full scale.
    pub clipped: u64,
    /// Late periods.
    pub xruns: u64,
    /// Modelled DSP load (processing time / period).
    #[serde(serialize_with = "fmt::fixed6_opt")]
    pub dsp_load: Option<f64>,
    /// Missing periods.
    pub missing: u64,
    /// Blocks of bit-exact zeros.
    pub zero_blocks: u64,
}

/// The CSV header of a row type: its serde field names, in order (asked of its `Deserialize`, so a file
/// without rows still has its header).
pub fn header<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names taken")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = T::deserialize(&mut names);
    names.0.expect("invariant: CSV rows are structs")
}

/// Renders rows as CSV with a header row.
pub fn to_csv<T: Serialize + for<'de> Deserialize<'de>>(rows: impl IntoIterator<Item = T>) -> Vec<u8> {
    write_csv(Vec::new(), rows).expect("invariant: writing to memory")
}

/// [`to_csv`] into `out` (a file), handed back flushed.
pub fn write_csv<W: std::io::Write, T: Serialize + for<'de> Deserialize<'de>>(
    out: W,
    rows: impl IntoIterator<Item = T>,
) -> std::io::Result<W> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(out);
    w.write_record(header::<T>())?;
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// A CSV file written row by row while a run goes on (the files with a row per window, so that a long
/// run does not hold its rows in memory): to an unnamed temporary file (in `$TMPDIR`, gone when dropped),
/// or to memory where no temporary file can be made. The same bytes as [`to_csv`] of the same rows.
pub struct CsvSpool<T> {
    w: csv::Writer<Spool>,
    /// The first write that failed: the spool stops there, and [`CsvSpool::finish`] returns it.
    error: Option<std::io::Error>,
    rows: std::marker::PhantomData<fn(T)>,
}

/// Where a [`CsvSpool`] goes.
#[derive(Debug)]
pub enum Spool {
    /// An unnamed temporary file.
    File(std::fs::File),
    /// Memory.
    Bytes(Vec<u8>),
}

impl std::io::Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Spool::File(f) => f.write(buf),
            Spool::Bytes(b) => b.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Spool::File(f) => f.flush(),
            Spool::Bytes(_) => Ok(()),
        }
    }
}

impl<T: Serialize + for<'de> Deserialize<'de>> CsvSpool<T> {
    /// A spool with the header row written.
    pub fn new() -> Self {
        let sink = tempfile::tempfile().map_or_else(|_| Spool::Bytes(Vec::new()), Spool::File);
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(sink);
        let error = w.write_record(header::<T>()).err().map(csv_to_io);
        CsvSpool { w, error, rows: std::marker::PhantomData }
    }

    /// Appends `row` (nothing after a failed write).
    pub fn push(&mut self, row: &T) {
        if self.error.is_none() {
            self.error = self.w.serialize(row).err().map(csv_to_io);
        }
    }

    /// The file, flushed; or the first write that failed.
    pub fn finish(self) -> std::io::Result<Spool> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

impl<T: Serialize + for<'de> Deserialize<'de>> Default for CsvSpool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for CsvSpool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSpool").field("error", &self.error).finish_non_exhaustive()
    }
}

/// The I/O error itself where the csv writer failed to write (its kind kept), else the csv error.
fn csv_to_io(e: csv::Error) -> std::io::Error {
    if !e.is_io_error() {
        return std::io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Reads CSV rows written by [`to_csv`]; the error names the row.
pub fn from_csv<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Vec<T>, String> {
    // One row a line after the header: sized up front, not doubled as it grows.
    let mut rows = Vec::with_capacity(bytes.iter().filter(|b| **b == b'\n').count().saturating_sub(1));
    for_each_csv(bytes, |r| rows.push(r))?;
    Ok(rows)
}

/// Reads CSV rows written by [`to_csv`] one at a time into `each` (nothing held but the row); the error
/// names the row.
pub fn for_each_csv<T: for<'de> Deserialize<'de>>(
    from: impl std::io::Read,
    mut each: impl FnMut(T),
) -> Result<(), String> {
    for (i, r) in csv::Reader::from_reader(from).deserialize().enumerate() {
        each(r.map_err(|e| format!("row {}: {e}", i + 2))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_csv_holds_the_same_bytes_as_one_rendered_in_memory() {
        // More rows than the csv writer's buffer holds, so the file is written in several writes.
        let rows: Vec<SloRow> = (0..5000)
            .map(|i| SloRow { t_s: i as f64 * 0.5, slo: format!("s{}", i % 7), good: i, total: 2 * i })
            .collect();
        let mut spool = CsvSpool::new();
        for r in &rows {
            spool.push(r);
        }
        let read = |spool: Spool| match spool {
            Spool::File(mut f) => {
                use std::io::{Read, Seek};
                f.rewind().unwrap();
                let mut b = Vec::new();
                f.read_to_end(&mut b).unwrap();
                b
            }
            Spool::Bytes(b) => b,
        };
        assert_eq!(read(spool.finish().unwrap()), to_csv(rows));
        // No rows: the header alone.
        assert_eq!(read(CsvSpool::<SloRow>::new().finish().unwrap()), b"t_s,slo,good,total\n");
    }

    #[test]
    fn headers_are_the_field_names() {
        assert_eq!(header::<SloRow>(), ["t_s", "slo", "good", "total"]);
        assert_eq!(
            String::from_utf8(to_csv(Vec::<ClientRow>::new())).unwrap(),
            "t_s,requests,ok,failed,timed_out,rejected,p50_ms,p99_ms,max_ms\n"
        );
        let row = SloRow { t_s: 5.0, slo: "a".into(), good: 1, total: 2 };
        let text = to_csv([row.clone()]);
        assert_eq!(String::from_utf8(text.clone()).unwrap(), "t_s,slo,good,total\n5,a,1,2\n");
        assert_eq!(from_csv::<SloRow>(&text).unwrap(), vec![row]);
    }
}
