//! Output files of a run: `summary.json`, `timeseries.csv`, `events.csv`, written together or not at all.

pub mod csv;
pub mod html;
pub mod junit;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::model::summary::{Summary, Verdict};

/// A latency histogram in HdrHistogram's V2 compressed form (what `merge` adds up exactly).
pub fn latency_hdr(h: &hdrhistogram::Histogram<u64>) -> Vec<u8> {
    use hdrhistogram::serialization::Serializer;
    let mut buf = Vec::new();
    hdrhistogram::serialization::V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("invariant: serializing a histogram to memory");
    buf
}

/// Reads a histogram written by [`latency_hdr`].
pub fn read_latency_hdr(bytes: &[u8]) -> Result<hdrhistogram::Histogram<u64>, String> {
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

/// Files rendered, ready to be written.
pub struct Bundle {
    /// `(file name, contents)`; a name may have a directory (`original/summary.json`).
    pub files: Vec<(std::borrow::Cow<'static, str>, Contents)>,
}

/// What a file of a [`Bundle`] holds.
#[derive(Debug)]
pub enum Contents {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// Bytes spooled to an unnamed temporary file (gone when dropped): the files that grow with a run's
    /// length (a row per window), so that a day's run does not hold them in memory beside its rows.
    Spooled(fs::File),
}

impl From<crate::model::rows::Spool> for Contents {
    fn from(spool: crate::model::rows::Spool) -> Self {
        match spool {
            crate::model::rows::Spool::File(f) => Contents::Spooled(f),
            crate::model::rows::Spool::Bytes(b) => Contents::Bytes(b),
        }
    }
}

impl From<Vec<u8>> for Contents {
    fn from(bytes: Vec<u8>) -> Self {
        Contents::Bytes(bytes)
    }
}

impl Contents {
    /// The CSV file of `rows`, spooled (in memory when no temporary file can be made).
    fn csv<T: serde::Serialize + for<'de> serde::Deserialize<'de>>(
        name: &str,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<Contents, OutputError> {
        let Ok(file) = tempfile::tempfile() else {
            return Ok(Contents::Bytes(crate::model::rows::to_csv(rows)));
        };
        let spool_err = |source| OutputError::Spool { file: name.to_string(), source };
        // The csv writer buffers its writes to the file itself.
        Ok(Contents::Spooled(crate::model::rows::write_csv(file, rows).map_err(spool_err)?))
    }

    /// The file as the report reads it.
    pub fn as_run_file(&self) -> html::data::RunFile<'_> {
        match self {
            Contents::Bytes(b) => html::data::RunFile::Bytes(b),
            Contents::Spooled(f) => html::data::RunFile::File(f),
        }
    }
}

/// Why the output directory could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The directory exists and does not look like one of ours.
    #[error(
        "output directory `{0}` exists and is not an ag06-lab output directory: refusing to replace it; choose another --out"
    )]
    NotOurs(PathBuf),
    /// A file of the run could not be spooled to a temporary file.
    #[error("cannot write `{file}` to a temporary file: {source}")]
    Spool {
        /// The output file.
        file: String,
        /// The error.
        source: io::Error,
    },
    /// What a run spilled to a temporary file could not be read back.
    #[error("cannot read back {what} from its temporary file: {source}")]
    ReadBack {
        /// What was spilled.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
    /// report.html could not be drawn from the run's files.
    #[error("cannot render report.html: {0}")]
    Render(#[from] html::data::DataError),
    /// An I/O error.
    #[error("cannot write output directory `{path}`: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Checks before a run that `dir` could be written by it (a live run should not find out at its end).
pub fn check_writable(dir: &Path) -> Result<(), OutputError> {
    check_ours(dir, "summary.json")
}

/// Refuses an existing non-empty `dir` without the file `marker` (not an output directory of ours).
fn check_ours(dir: &Path, marker: &str) -> Result<(), OutputError> {
    if dir.exists() {
        let is_empty_dir = fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_empty_dir && !dir.join(marker).is_file() {
            return Err(OutputError::NotOurs(dir.to_path_buf()));
        }
    }
    Ok(())
}

impl Bundle {
    /// A bundle of files with static names.
    pub fn of(files: Vec<(&'static str, Vec<u8>)>) -> Bundle {
        Bundle { files: files.into_iter().map(|(n, b)| (n.into(), b.into())).collect() }
    }

    /// The file `name`, as the report reads it.
    pub fn file(&self, name: &str) -> Option<html::data::RunFile<'_>> {
        self.files.iter().find(|f| f.0 == name).map(|f| f.1.as_run_file())
    }

    /// Every output file of a run (report.html rendered from the others, as `ag06-lab report` would).
    pub fn of_run(
        sc: &crate::scenario::Scenario,
        run: crate::run::RunOutput,
        summary: &Summary,
    ) -> Result<Bundle, OutputError> {
        let mut run = run;
        // audio.csv was written as the run went.
        let audio_csv = run.audio.as_mut().and_then(|a| a.csv.take());
        if let Some(source) = run.audio.as_mut().and_then(|a| a.loudness_error.take()) {
            return Err(OutputError::ReadBack { what: "the loudness meter's gating blocks", source });
        }
        let output = &run;
        let mut files: Vec<(&'static str, Contents)> = vec![
            ("summary.json", summary.to_json().into()),
            ("timeseries.csv", Contents::csv("timeseries.csv", csv::timeseries_rows(sc, output))?),
            ("events.csv", csv::events(&output.events).into()),
            ("events.jsonl", crate::model::event::to_jsonl(&output.events).into()),
            ("client.csv", Contents::csv("client.csv", csv::client_rows(output))?),
            ("slo.csv", Contents::csv("slo.csv", csv::slo_rows(sc, &csv::slo_series(sc, output)))?),
        ];
        if let Some(spool) = audio_csv {
            let spool = spool.finish().map_err(|source| OutputError::Spool { file: "audio.csv".into(), source })?;
            files.push(("audio.csv", spool.into()));
        }
        if !output.bus_rows.is_empty() {
            files.push(("bus.csv", Contents::csv("bus.csv", output.bus_rows.iter().cloned())?));
        }
        if let Some(h) = &output.live_dsp_time {
            // What each callback took: `dsp_time = { dist = "empirical", file = ".../dsp_time.hdr" }`.
            files.push(("dsp_time.hdr", latency_hdr(h).into()));
        }
        files.push(("junit.xml", junit::render(&summary.scenario, &junit::run_cases(summary)).into()));
        files.push(("latency.hdr", latency_hdr(output.client.latency.histogram()).into()));
        // The run's rows are in the files now: the page is drawn from those, so the run's own copy goes
        // first (a long run's windows are the larger part of its memory).
        drop(run);
        let html = html::render_run(|name| files.iter().find(|f| f.0 == name).map(|f| f.1.as_run_file()))?;
        files.push(("report.html", html.into_bytes().into()));
        Ok(Bundle { files: files.into_iter().map(|(n, c)| (n.into(), c)).collect() })
    }

    /// Writes every file into `dir` atomically: into a temporary sibling first, then renamed into place.
    /// A previous report in `dir` is replaced; any other existing non-empty directory is refused. On error
    /// nothing is left behind.
    pub fn write_to(&self, dir: &Path) -> Result<(), OutputError> {
        self.write_to_marked(dir, "summary.json")
    }

    /// [`Bundle::write_to`], recognising a previous output of ours by the file `marker`.
    pub fn write_to_marked(&self, dir: &Path, marker: &str) -> Result<(), OutputError> {
        check_ours(dir, marker)?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
        let created_parent = !parent.exists();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
        let result = self.write_tmp(&tmp).and_then(|()| swap_into_place(&tmp, dir, &parent, &base));
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
            if created_parent {
                let _ = fs::remove_dir(&parent);
            }
        }
        result
    }

    fn write_tmp(&self, tmp: &Path) -> Result<(), OutputError> {
        let _ = fs::remove_dir_all(tmp);
        fs::create_dir(tmp).map_err(io_err(tmp))?;
        for (name, bytes) in &self.files {
            let p = tmp.join(name.as_ref());
            if let Some(dir) = p.parent().filter(|d| *d != tmp) {
                fs::create_dir_all(dir).map_err(io_err(dir))?;
            }
            match bytes {
                Contents::Bytes(b) => fs::write(&p, b).map_err(io_err(&p))?,
                Contents::Spooled(f) => {
                    let mut from = f;
                    io::Seek::rewind(&mut from).map_err(io_err(&p))?;
                    let mut to = fs::File::create(&p).map_err(io_err(&p))?;
                    io::copy(&mut from, &mut to).map_err(io_err(&p))?;
                }
            }
        }
        Ok(())
    }
}

fn swap_into_place(tmp: &Path, dir: &Path, parent: &Path, base: &str) -> Result<(), OutputError> {
    if dir.exists() {
        let old = parent.join(format!(".{base}.old-{}", std::process::id()));
        fs::rename(dir, &old).map_err(io_err(dir))?;
        if let Err(e) = fs::rename(tmp, dir) {
            let _ = fs::rename(&old, dir);
            return Err(io_err(dir)(e));
        }
        let _ = fs::remove_dir_all(&old);
        Ok(())
    } else {
        fs::rename(tmp, dir).map_err(io_err(dir))
    }
}
