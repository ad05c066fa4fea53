//! `--force` never loses a capture: the old one (with its metadata and rx console) is kept as
//! `<capture>.1` (or the next free number) before the new run writes its own. Names with a `.`
//! are not captures to the report, so the kept copies stay out of it.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The files that belong to a capture: itself, its metadata, rx's console.
fn companions(capture: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = capture.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [capture.to_path_buf(), with(".meta.json"), with(".rx")]
}

/// Moves an existing capture and its companions to `<capture>.N` (the first N free for all of
/// them) and says so on stderr; `None` when there was nothing to keep.
pub fn keep_old(capture: &Path) -> Result<Option<PathBuf>> {
    let files = companions(capture);
    if !files.iter().any(|f| f.exists()) {
        return Ok(None);
    }
    let numbered = |n: u32| {
        let mut s = capture.as_os_str().to_owned();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    };
    let n = (1..).find(|&n| companions(&numbered(n)).iter().all(|f| !f.exists())).expect("a free number");
    let kept = numbered(n);
    for (from, to) in files.iter().zip(companions(&kept)) {
        if from.exists() {
            std::fs::rename(from, &to).with_context(|| format!("keeping {} as {}", from.display(), to.display()))?;
        }
    }
    eprintln!("ivcbench: kept the previous capture {} as {}", capture.display(), kept.display());
    Ok(Some(kept))
}

/// Whether the capture at `capture` was written by `ivcbench <subcommand>` (its metadata's
/// command line says so): the demo replaces its own captures and nobody else's.
pub fn made_by(capture: &Path, subcommand: &str) -> bool {
    let meta = &companions(capture)[1];
    std::fs::read(meta)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["command"].get(1).and_then(|c| c.as_str()) == Some(subcommand))
}

/// Removes a capture and its companions (a capture the same command made, about to be made again).
pub fn remove(capture: &Path) -> Result<()> {
    for f in companions(capture).iter().filter(|f| f.exists()) {
        std::fs::remove_file(f).with_context(|| format!("removing {}", f.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_captures_are_numbered_never_lost() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("xen");
        assert_eq!(keep_old(&c).unwrap(), None);
        std::fs::write(&c, "first").unwrap();
        std::fs::write(d.path().join("xen.meta.json"), "{}").unwrap();
        assert_eq!(keep_old(&c).unwrap(), Some(d.path().join("xen.1")));
        std::fs::write(&c, "second").unwrap();
        assert_eq!(keep_old(&c).unwrap(), Some(d.path().join("xen.2")));
        assert_eq!(std::fs::read_to_string(d.path().join("xen.1")).unwrap(), "first");
        assert_eq!(std::fs::read_to_string(d.path().join("xen.1.meta.json")).unwrap(), "{}");
        assert_eq!(std::fs::read_to_string(d.path().join("xen.2")).unwrap(), "second");
        assert!(!c.exists());
    }
}
