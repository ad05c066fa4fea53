//! Step 1 of the workflow: build the guest images.
//!
//! One image per hypervisor backend and platform, built by cargo in `guests/` and turned from ELF
//! into a flat arm64 Image (the format Xen and QEMU's `-kernel` load). Runs patch a copy of it with
//! their parameters (see [`patch_params`]), so no rebuild is needed between configurations.

use crate::names::Hypervisor;
use anyhow::{bail, Context, Result};
use ivc_proto::params::{self, Params};
use object::{Object, ObjectSegment};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Backends whose guest side exists (the others are refused with a clear message). Every one
/// builds for every platform; which of them `run` can start on QEMU is run's business.
pub fn backend_available(h: Hypervisor) -> bool {
    matches!(h, Hypervisor::Baremetal | Hypervisor::Xen | Hypervisor::Bao | Hypervisor::Jailhouse | Hypervisor::Sel4)
}

/// Where the project is: the guests' workspace and the build outputs are found from here.
pub fn project_root() -> PathBuf {
    if let Ok(dir) = std::env::var("IVCBENCH_ROOT") {
        return PathBuf::from(dir);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}

/// Identity written into every image and capture: crate version and git commit.
pub fn build_id(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let mut id = format!("ivcbench-{}", env!("CARGO_PKG_VERSION"));
    if let Some(rev) = git(&["rev-parse", "--short=10", "HEAD"]) {
        id.push_str(&format!("+g{rev}"));
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
            id.push_str("-dirty");
        }
    }
    id
}

/// Builds the image for `hyp` on `platform` and returns the path of the flat Image.
pub fn build_image(root: &Path, hyp: Hypervisor, platform: &str) -> Result<PathBuf> {
    if !backend_available(hyp) {
        bail!("the {hyp} guest backend is not implemented yet (available: baremetal, xen, bao, jailhouse, sel4)");
    }
    let manifest = root.join("guests/Cargo.toml");
    if !manifest.exists() {
        bail!("{} not found: run ivcbench from the project's checkout, or set IVCBENCH_ROOT", manifest.display());
    }
    let variant = format!("{hyp}-{platform}");
    let target_dir = root.join("target/guests").join(&variant);
    let elf = target_dir.join("aarch64-unknown-none/release/ivc-guest");
    // Cargo rebuilds only what changed; say "building" only when it did.
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let before = modified(&elf);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "ivc-guest", "--no-default-features", "--features"])
        .arg(format!("{hyp},{platform}"))
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(root.join("guests"))
        // The host's flags would override the guests' own .cargo/config.toml.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env("IVC_BUILD_ID", build_id(root))
        .status()
        .context("cannot run cargo to build the guests")?;
    if !status.success() {
        bail!(
            "building the {variant} guest failed (is the target installed? `rustup target add aarch64-unknown-none`, or run scripts/setup.sh)"
        );
    }
    if modified(&elf) != before {
        eprintln!("ivcbench: built guest image {variant}");
    }
    let image = elf_to_image(&std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?)
        .with_context(|| format!("converting {}", elf.display()))?;
    let out_dir = root.join("target/ivcbench/images");
    std::fs::create_dir_all(&out_dir)?;
    let out = out_dir.join(format!("{variant}.img"));
    // Written aside and renamed, so a run reading the image while another build replaces it (tests
    // run in parallel) sees the old one or the new one, never half of one.
    let tmp = out_dir.join(format!("{variant}.img.{}", std::process::id()));
    std::fs::write(&tmp, image)?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// Lays the ELF's loadable segments out as the flat binary a boot loader copies to memory.
pub fn elf_to_image(elf: &[u8]) -> Result<Vec<u8>> {
    let file = object::File::parse(elf).context("not an ELF file")?;
    let segs: Vec<(u64, &[u8])> =
        file.segments().filter_map(|s| Some((s.address(), s.data().ok()?))).filter(|(_, d)| !d.is_empty()).collect();
    let Some(base) = segs.iter().map(|(a, _)| *a).min() else { bail!("the ELF has no loadable data") };
    let end = segs.iter().map(|(a, d)| a + d.len() as u64).max().unwrap_or(base);
    let mut image = vec![0u8; (end - base) as usize];
    for (a, d) in segs {
        let off = (a - base) as usize;
        image[off..off + d.len()].copy_from_slice(d);
    }
    if image.get(56..60) != Some(b"ARM\x64".as_slice()) {
        bail!("the image has no arm64 Image header (magic ARM\\x64 at offset 56)");
    }
    Ok(image)
}

/// Writes `p` over the parameter block of `image` (which must hold exactly one).
pub fn patch_params(image: &mut [u8], p: &Params) -> Result<()> {
    let hits: Vec<usize> = image.windows(params::MAGIC.len()).enumerate().filter(|(_, w)| *w == params::MAGIC).map(|(i, _)| i).collect();
    match hits.as_slice() {
        [at] => {
            image[*at..*at + params::SIZE].copy_from_slice(&p.encode());
            Ok(())
        }
        [] => bail!("the image has no parameter block (was it built by ivcbench build?)"),
        _ => bail!("the image has {} parameter blocks; expected one", hits.len()),
    }
}

/// Rewrites every parameter block in `image` (a hypervisor image holding several VM images) with
/// `params(role)` of the role each block already has; returns the blocks as they were, in image
/// order (the role and the cell each image was made for).
pub fn patch_roles(image: &mut [u8], mut params: impl FnMut(params::Role) -> Result<Params>) -> Result<Vec<Params>> {
    let hits: Vec<usize> = image.windows(params::MAGIC.len()).enumerate().filter(|(_, w)| *w == params::MAGIC).map(|(i, _)| i).collect();
    if hits.is_empty() {
        bail!("no ivcbench parameter block inside (were the VM images made by ivcbench config?)");
    }
    let mut found = Vec::new();
    for at in hits {
        let block: [u8; params::SIZE] =
            image.get(at..at + params::SIZE).and_then(|b| b.try_into().ok()).context("a parameter block is cut off")?;
        let old = Params::decode(&block).map_err(|e| anyhow::anyhow!("a parameter block at byte {at}: {e}"))?;
        image[at..at + params::SIZE].copy_from_slice(&params(old.role)?.encode());
        found.push(old);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_exactly_one_block() {
        let mut img = vec![0u8; 4096];
        img[1000..1000 + params::SIZE].copy_from_slice(&Params::DEFAULT.encode());
        let p = Params { samples: 42, ..Params::DEFAULT };
        patch_params(&mut img, &p).unwrap();
        let block: [u8; params::SIZE] = img[1000..1000 + params::SIZE].try_into().unwrap();
        assert_eq!(Params::decode(&block).unwrap().samples, 42);
        let mut none = vec![0u8; 4096];
        assert!(patch_params(&mut none, &p).is_err());
    }

    #[test]
    fn patches_every_vm_keeping_its_role() {
        use params::Role;
        let mut img = vec![0u8; 4096];
        for (at, role) in [(100, Role::Rx), (2000, Role::Tx)] {
            img[at..at + params::SIZE].copy_from_slice(&Params { role, ..Params::DEFAULT }.encode());
        }
        let roles = patch_roles(&mut img, |role| Ok(Params { role, samples: 7, ..Params::DEFAULT })).unwrap();
        assert_eq!(roles.iter().map(|p| p.role).collect::<Vec<_>>(), [Role::Rx, Role::Tx]);
        for (at, role) in [(100, Role::Rx), (2000, Role::Tx)] {
            let p = Params::decode(&img[at..at + params::SIZE].try_into().unwrap()).unwrap();
            assert_eq!((p.role, p.samples), (role, 7));
        }
        assert!(patch_roles(&mut [0u8; 64], |_| unreachable!()).unwrap_err().to_string().contains("no ivcbench parameter block"));
    }
}
