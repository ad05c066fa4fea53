//! `run --matrix`: the seed's "for each hypervisor, for each configuration", walked cell by cell.
//!
//! The captures directory is the walk's only state: a cell is done when its capture holds a
//! whole tx run and its metadata does not say the run was cut short, so running the same command
//! again resumes where the last one stopped. A partial capture (a run interrupted, a board that
//! hung) is moved aside to `<capture>.partial` (with `.partial.meta.json` and `.partial.rx`)
//! before its cell runs again, so that nothing captured is lost and nothing partial is reported.

use crate::names::{Configuration, Hypervisor};
use crate::report::status::configurations;
use crate::run::{meta_path, rx_console_path, Outcome, RunSpec};
use anyhow::{Context, Result};
use ivc_proto::capture::{self, TAG};
use ivc_proto::params::Experiment;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What to walk.
pub struct Walk {
    /// Root of the captures (`experiments/comm`).
    pub out_root: PathBuf,
    pub experiment: Experiment,
    pub hypervisors: Vec<Hypervisor>,
    /// For the instructions to a person (`ivcbench config --platform …`).
    pub platform: String,
    /// Run done cells again too (`--force`).
    pub redo_done: bool,
    /// A person boots the board for each cell: tell them what to boot.
    pub person_boots: bool,
}

/// Where a cell stands before the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Missing,
    /// A whole capture: kept.
    Done,
    /// A capture that is not whole, and why.
    Partial(String),
}

/// What the walk did with each cell.
#[derive(Debug, Default)]
pub struct Done {
    pub rows: Vec<(Hypervisor, Configuration, String)>,
}

impl Done {
    /// One line per cell: what happened to it.
    pub fn table(&self) -> String {
        let mut s = String::from("matrix:\n");
        for (h, c, what) in &self.rows {
            let _ = writeln!(s, "  {:<10} {:<26} {what}", h.name(), c.to_string());
        }
        s
    }
}

/// Cells a board cannot give under their name whatever the images: baremetal has no hypervisor
/// to colour memory.
pub fn board_refusal(h: Hypervisor, c: Configuration) -> Option<String> {
    (h == Hypervisor::Baremetal && c.suffix.col)
        .then(|| format!("{c}: baremetal has no hypervisor to colour memory, so it has no coloured configuration"))
}

/// Where a cell's capture stands.
pub fn state(capture: &Path) -> State {
    let Ok(bytes) = std::fs::read(capture) else { return State::Missing };
    let meta = std::fs::read(meta_path(capture)).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    if let Some(m) = meta.filter(|m| m["complete"] == false) {
        return State::Partial(m["error"].as_str().unwrap_or("marked incomplete").to_string());
    }
    // The artifact's own tables (no records) are data from elsewhere: kept as done.
    if !bytes.windows(TAG.len()).any(|w| w == TAG.as_bytes()) {
        return State::Done;
    }
    let c = capture::decode_lenient(&bytes);
    match c.run("tx") {
        None => State::Partial("no tx run".into()),
        Some(r) if !r.is_complete() => State::Partial(r.damage.first().map_or("no end record".to_string(), |e| e.to_string())),
        Some(_) => State::Done,
    }
}

/// `<capture>.partial`, `<capture>.partial.meta.json`, `<capture>.partial.rx`.
pub fn partial_path(capture: &Path) -> PathBuf {
    let mut name = capture.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Moves a partial capture and its companions aside (replacing older ones).
fn move_aside(capture: &Path) -> Result<PathBuf> {
    let to = partial_path(capture);
    for (from, dest) in
        [(capture.to_path_buf(), to.clone()), (meta_path(capture), meta_path(&to)), (rx_console_path(capture), rx_console_path(&to))]
    {
        if from.exists() {
            std::fs::rename(&from, &dest).with_context(|| format!("moving {} aside to {}", from.display(), dest.display()))?;
        }
    }
    Ok(to)
}

/// Walks the cells in the seed's order (hypervisor by hypervisor, configurations in order):
/// keeps done ones, skips refused ones with the reason, runs the others with `run`. Stops at the
/// first failing cell, whose raw capture is kept and marked partial; running again resumes.
pub fn walk(
    w: &Walk,
    spec_of: impl Fn(Hypervisor, Configuration) -> Result<RunSpec>,
    refusal: impl Fn(&RunSpec) -> Option<String>,
    mut run: impl FnMut(&RunSpec) -> Result<Outcome>,
) -> Result<Done> {
    let cells: Vec<(Hypervisor, Configuration)> = w
        .hypervisors
        .iter()
        .flat_map(|&h| configurations(w.experiment).into_iter().map(move |suffix| (h, Configuration { experiment: w.experiment, suffix })))
        .collect();
    let mut done = Done::default();
    let mut todo = Vec::new();
    for (h, c) in cells {
        let mut spec = spec_of(h, c)?;
        let path = c.capture_path(&w.out_root, h);
        if let Some(why) = refusal(&spec) {
            done.rows.push((h, c, format!("skipped: {why}")));
            continue;
        }
        match state(&path) {
            State::Done if !w.redo_done => {
                done.rows.push((h, c, format!("done before ({})", path.display())));
                continue;
            }
            State::Partial(why) => {
                let aside = move_aside(&path)?;
                eprintln!(
                    "ivcbench: {h}/{c}: the capture there is partial ({why}); moved to {} and running the cell again",
                    aside.display()
                );
            }
            State::Done | State::Missing => {}
        }
        // The cell's files are moved aside or to be redone: nothing there is kept by refusing.
        spec.force = true;
        todo.push((h, c, spec));
    }
    let total = todo.len();
    eprintln!(
        "ivcbench: matrix of {}: {} cell(s) to run, {} done before, {} skipped",
        w.experiment.name(),
        total,
        done.rows.iter().filter(|r| r.2.starts_with("done")).count(),
        done.rows.iter().filter(|r| r.2.starts_with("skipped")).count()
    );
    for (i, (h, c, spec)) in todo.into_iter().enumerate() {
        if w.person_boots {
            let files = format!("`ivcbench config --hypervisor {h} --experiment {c} --platform {} --out DIR`", w.platform);
            eprintln!("ivcbench: cell {} of {total}: boot {h} with {c} on the board now (its files: {files}, docs/boards.md)", i + 1);
        } else {
            eprintln!("ivcbench: cell {} of {total}: {h}/{c}", i + 1);
        }
        let o = run(&spec).with_context(|| {
            format!("the matrix stopped at {h}/{c} (cell {} of {total}); run the same command again to resume from there", i + 1)
        })?;
        done.rows.push((h, c, format!("ran ({})", o.capture_path.display())));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_capture_and_its_metadata() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("notif/xen+interf");
        assert_eq!(state(&p), State::Missing);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // A legacy table of the artifact: data from elsewhere, kept.
        std::fs::write(&p, "latency\n1\n2\n").unwrap();
        assert_eq!(state(&p), State::Done);
        // A record without the rest of its run: partial.
        std::fs::write(&p, "@ivc1 tx 0 H v=1 ~0000\n").unwrap();
        assert!(matches!(state(&p), State::Partial(_)), "{:?}", state(&p));
        // Marked incomplete by its metadata, whatever the bytes.
        std::fs::write(&p, "latency\n1\n").unwrap();
        std::fs::write(meta_path(&p), r#"{"complete": false, "error": "the guest stopped answering"}"#).unwrap();
        assert_eq!(state(&p), State::Partial("the guest stopped answering".into()));
        let aside = move_aside(&p).unwrap();
        assert!(!p.exists() && aside.exists() && meta_path(&aside).exists());
        assert_eq!(aside.file_name().unwrap(), "xen+interf.partial");
    }

    #[test]
    fn baremetal_has_no_coloured_cells_on_a_board() {
        let c = |s| Configuration::parse(s).unwrap();
        assert!(board_refusal(Hypervisor::Baremetal, c("notif+interf+col")).is_some());
        assert!(board_refusal(Hypervisor::Baremetal, c("notif+interf")).is_none());
        assert!(board_refusal(Hypervisor::Bao, c("notif+col")).is_none());
    }
}
