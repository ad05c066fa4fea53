//! What ivcbench checks in a bao.bin the user built (Bao is not shipped, docs/bao.md): that the VM
//! images inside are the cell's, and which Bao it is, for what is known about that version.

use crate::names::Configuration;
use anyhow::{bail, Result};
use ivc_proto::params::{Params, Role};
use std::path::Path;

/// The commit that moved the page pools' bitmaps into a static array in Bao's image, which Bao's
/// self-recolouring (`+hypcol`) then cannot map: `git describe` calls it v1.0.0-147.
pub const STATIC_BITMAP_COMMIT: &str = "8d6a4e7 (v1.0.0-147, 2025-08-19)";

/// Refuses a bao.bin whose VM images were not made for `config` by `ivcbench config`: `found` are
/// the parameter blocks inside it, in the order they appear.
pub fn check_cell(bao: &Path, found: &[Params], config: Configuration) -> Result<()> {
    let has = |r: Role| found.iter().any(|p| p.role == r);
    if !has(Role::Tx) || !has(Role::Rx) || has(Role::Interf) != config.suffix.interf {
        bail!(
            "{} holds VMs {:?}, but {config} needs tx, rx{}: build it from `ivcbench config --experiment {config}`",
            bao.display(),
            found.iter().map(|p| p.role.name()).collect::<Vec<_>>(),
            if config.suffix.interf { " and interf" } else { " and no interf" },
        );
    }
    // The images carry the cell they were generated for; the hypervisor's configuration (colours,
    // the interferer) is built around them, so another cell's bao.bin would run under this name.
    let want = config.suffix.to_string();
    if let Some(p) = found.iter().find(|p| p.experiment != config.experiment || p.config_str() != want) {
        bail!(
            "{} was built for {}{} (its {} image says so), not for {config}: build Bao from `ivcbench config --experiment {config}`",
            bao.display(),
            p.experiment.name(),
            p.config_str(),
            p.role.name()
        );
    }
    Ok(())
}

/// Bao's version as its Makefile writes it into the image (`git describe --tags --dirty --match
/// "v*.*.*"`: `v2.0.0`, `v2.0.0-41-g738e3dc-dirty`), if there is one.
pub fn version(image: &[u8]) -> Option<String> {
    image.split(|&b| b == 0).filter_map(|s| std::str::from_utf8(s).ok()).find(|s| parse(s).is_some()).map(str::to_string)
}

/// `(major, minor, patch, commits since the tag)` of a `git describe` version string.
fn parse(s: &str) -> Option<(u32, u32, u32, u32)> {
    let s = s.strip_prefix('v')?;
    let s = s.strip_suffix("-dirty").unwrap_or(s);
    let mut parts = s.splitn(2, '-');
    let tag: Vec<u32> = parts.next()?.split('.').map(|n| n.parse().ok()).collect::<Option<_>>()?;
    let [major, minor, patch] = tag[..] else { return None };
    let since = match parts.next() {
        None => 0,
        Some(rest) => {
            let (n, hash) = rest.split_once("-g")?;
            if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            n.parse().ok()?
        }
    };
    Some((major, minor, patch, since))
}

/// Whether this Bao keeps its page pools' bitmaps in its image (since [`STATIC_BITMAP_COMMIT`]),
/// where its self-recolouring cannot map them; `None` for a version string it cannot read.
pub fn has_static_bitmap(version: &str) -> Option<bool> {
    let (major, minor, patch, since) = parse(version)?;
    Some((major, minor, patch) > (1, 0, 0) || ((major, minor, patch) == (1, 0, 0) && since >= 147))
}

/// What a `+hypcol` run says about the Bao it boots: unchanged Bao does not get through its own
/// recolouring on QEMU (docs/bao.md, "+hypcol").
pub fn hypcol_warning(version: Option<&str>) -> String {
    let which = match version {
        Some(v) => match has_static_bitmap(v) {
            Some(true) => format!("this is Bao {v}, which stops while recolouring itself (\"Can't allocate address for cpu interface\": its page-pool bitmap sits in its image since {STATIC_BITMAP_COMMIT}, every v2.0 release included)"),
            _ => format!("this is Bao {v}"),
        },
        None => "no Bao version string found in it".into(),
    };
    format!(
        "+hypcol: {which}; and Bao up to at least 738e3dc clears its old image while another core may still run from it. \
         Unless this bao.bin carries the two changes in docs/bao.md (\"+hypcol\"), expect no output at all"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivc_proto::params::Experiment;

    fn cell(s: &str) -> Configuration {
        Configuration::parse(s).unwrap()
    }

    fn images(exp: Experiment, suffix: &str, roles: &[Role]) -> Vec<Params> {
        roles.iter().map(|&role| Params { experiment: exp, role, ..Params::DEFAULT }.with_config(suffix).unwrap()).collect()
    }

    #[test]
    fn a_bao_bin_for_another_cell_is_refused() {
        let p = Path::new("bao.bin");
        let tx_rx = [Role::Tx, Role::Rx];
        check_cell(p, &images(Experiment::Notif, "", &tx_rx), cell("notif")).unwrap();
        check_cell(p, &images(Experiment::Transfer, "", &tx_rx), cell("transfer")).unwrap();
        let e = check_cell(p, &images(Experiment::Transfer, "", &tx_rx), cell("notif")).unwrap_err().to_string();
        assert!(e.contains("built for transfer") && e.contains("not for notif"), "{e}");
        let e = check_cell(p, &images(Experiment::Notif, "+col", &tx_rx), cell("notif")).unwrap_err().to_string();
        assert!(e.contains("built for notif+col"), "{e}");
        let all = [Role::Tx, Role::Rx, Role::Interf];
        check_cell(p, &images(Experiment::Notif, "+interf+col+hypcol", &all), cell("notif+interf+col+hypcol")).unwrap();
        let e = check_cell(p, &images(Experiment::Notif, "+interf+col", &all), cell("notif+interf+col+hypcol")).unwrap_err();
        assert!(e.to_string().contains("built for notif+interf+col (its tx image"), "{e}");
        assert!(check_cell(p, &images(Experiment::Notif, "", &tx_rx), cell("notif+interf")).is_err());
        assert!(check_cell(p, &images(Experiment::Notif, "+interf", &all), cell("notif")).is_err());
    }

    #[test]
    fn reads_bao_s_version_and_knows_which_have_the_static_bitmap() {
        let mut img = b"\x00Bao Hypervisor %s (%s - %s)\x00v1.2\x00".to_vec();
        img.extend_from_slice(b"v2.0.0-41-g738e3dc-dirty\x00Nov 26 2026\x00");
        assert_eq!(version(&img).as_deref(), Some("v2.0.0-41-g738e3dc-dirty"));
        assert_eq!(version(b"\x00v0.1.0x\x00ivcbench 0.1.0\x00"), None);
        for (v, yes) in [
            ("v2.0.0-41-g738e3dc-dirty", true),
            ("v2.0.0", true),
            ("v1.0.0-147-g8d6a4e7", true),
            ("v1.0.0-146-g345eec2", false),
            ("v1.0.0", false),
            ("v0.1.1-3-gabc-dirty", false),
        ] {
            assert_eq!(has_static_bitmap(v), Some(yes), "{v}");
        }
        assert_eq!(has_static_bitmap("738e3dc"), None);
        assert!(hypcol_warning(Some("v2.0.0")).contains("Can't allocate address for cpu interface"));
        assert!(!hypcol_warning(Some("v1.0.0")).contains("Can't allocate"));
        assert!(hypcol_warning(None).contains("docs/bao.md"));
    }
}
