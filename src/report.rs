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

/// Files rendered in memory, ready to be written.
pub struct Bundle {
    /// `(file name, contents)`; a name may have a directory (`original/summary.json`).
    pub files: Vec<(std::borrow::Cow<'static, str>, Vec<u8>)>,
}

/// Why the output directory could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The directory exists and does not look like one of ours.
    #[error(
        "output directory `{0}` exists and is not an ag06-lab output directory: refusing to replace it; choose another --out"
    )]
    NotOurs(PathBuf),
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
        Bundle { files: files.into_iter().map(|(n, b)| (n.into(), b)).collect() }
    }

    /// Every output file of a run (report.html rendered from the others, as `ag06-lab report` would).
    pub fn of_run(
        sc: &crate::scenario::Scenario,
        run: crate::run::RunOutput,
        summary: &Summary,
    ) -> Result<Bundle, html::data::DataError> {
        let output = &run;
        let mut files = vec![
            ("summary.json", summary.to_json()),
            ("timeseries.csv", csv::timeseries(sc, output)),
            ("events.csv", csv::events(&output.events)),
            ("events.jsonl", crate::model::event::to_jsonl(&output.events)),
            ("client.csv", csv::client(output)),
            ("slo.csv", csv::slo(sc, output)),
        ];
        if let Some(a) = &output.audio {
            files.push(("audio.csv", csv::audio(a)));
        }
        if !output.bus_rows.is_empty() {
            files.push(("bus.csv", csv::bus(output)));
        }
        if let Some(h) = &output.live_dsp_time {
            // What each callback took: `dsp_time = { dist = "empirical", file = ".../dsp_time.hdr" }`.
            files.push(("dsp_time.hdr", latency_hdr(h)));
        }
        files.push(("junit.xml", junit::render(&summary.scenario, &junit::run_cases(summary))));
        files.push(("latency.hdr", latency_hdr(output.client.latency.histogram())));
        // The run's rows are in the files now: the page is drawn from those, so the run's own copy goes
        // first (a long run's windows are the larger part of its memory).
        drop(run);
        let html = html::render_run(|name| files.iter().find(|f| f.0 == name).map(|f| f.1.as_slice()))?;
        files.push(("report.html", html.into_bytes()));
        Ok(Bundle::of(files))
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
            fs::write(&p, bytes).map_err(io_err(&p))?;
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
