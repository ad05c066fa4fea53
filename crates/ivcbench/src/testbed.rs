//! The QEMU testbed's machines, one per hypervisor: the images patched with the run's
//! parameters, the QEMU command line, the bytes that start the run and where each role runs.

use crate::build::{self, patch_params};
use crate::names::Hypervisor;
use crate::qemu::{self, Clock};
use crate::run::{rx_console_path, RunSpec};
use crate::xen;
use anyhow::{anyhow, bail, ensure, Context, Result};
use ivc_proto::capture::START_KEY;
use ivc_proto::params::{flag, Fault, Params, Role};
use std::path::{Path, PathBuf};

/// The machine for `spec`'s hypervisor; `capture` is where the run's capture goes (rx's console,
/// when it has its own UART, goes beside it).
pub(crate) fn boot(spec: &RunSpec, root: &Path, capture: &Path) -> Result<Boot> {
    match spec.hypervisor {
        Hypervisor::Baremetal => boot_baremetal(spec, root),
        Hypervisor::Xen => boot_xen(spec, root),
        Hypervisor::Bao => boot_bao(spec, root, capture),
        Hypervisor::Jailhouse => crate::jailhouse::boot(spec, root, capture),
        Hypervisor::Sel4 => crate::sel4::boot(spec, root, capture),
    }
}

/// A machine ready to start: its command line, the bytes that start the run once tx prompts,
/// and where each role runs (for the metadata).
pub(crate) struct Boot {
    pub cmd: std::process::Command,
    pub start: Vec<u8>,
    pub placement: String,
    /// The machine stays up after tx's end record (VMs that cannot stop it): ivcbench stops QEMU.
    pub stays_up: bool,
    /// Bytes sent once tx's end record is in (a hypervisor's report), one at a time, each once
    /// the console has gone quiet after the last; then the machine is stopped.
    pub after_end: Vec<u8>,
    /// Checks the placement against the hypervisor's own report in the raw console, given the
    /// placement asked for; returns the placement to record.
    pub verify: Option<Verify>,
}

/// Checks a run's placement in its raw console: `(spec, console, placement asked)` to the
/// placement to record.
pub(crate) type Verify = fn(&RunSpec, &str, &str) -> Result<String>;

/// This run's own directory for patched images and generated files: runs in parallel (tests) must
/// never share one.
pub(crate) fn run_dir(spec: &RunSpec, root: &Path) -> PathBuf {
    root.join("target/ivcbench/run").join(format!(
        "{}{}-{}.{}",
        spec.hypervisor,
        spec.config.suffix,
        spec.config.experiment.name(),
        std::process::id()
    ))
}

/// The run's parameters for `role` in this cell.
pub(crate) fn cell_params(spec: &RunSpec, role: Role) -> Result<Params> {
    let mut p = spec.params;
    p.experiment = spec.config.experiment;
    p.role = role;
    // Under Xen the machine stays up after the run so that Xen can report the placement.
    if spec.hypervisor == Hypervisor::Xen {
        p.flags &= !flag::POWER_OFF;
    } else {
        p.flags |= flag::POWER_OFF;
    }
    if spec.config.suffix.interf {
        p.flags |= flag::INTERF;
    } else {
        p.flags &= !flag::INTERF;
    }
    p.with_config(&spec.config.suffix.to_string()).ok_or_else(|| anyhow!("configuration name too long"))
}

fn role_image(spec: &RunSpec, root: &Path, image: &[u8], role: Role) -> Result<PathBuf> {
    let p = cell_params(spec, role)?;
    let mut image = image.to_vec();
    patch_params(&mut image, &p)?;
    std::fs::create_dir_all(run_dir(spec, root))?;
    let out = run_dir(spec, root).join(format!("{}.img", role.name()));
    std::fs::write(&out, &image)?;
    Ok(out)
}

/// The baremetal image runs tx, rx and (with interference) the interferer on cores 0, 1, 2.
pub(crate) fn baremetal_cores(interf: bool) -> usize {
    if interf {
        3
    } else {
        2
    }
}

fn boot_baremetal(spec: &RunSpec, root: &Path) -> Result<Boot> {
    let image_path = build::build_image(root, spec.hypervisor, spec.platform.name)?;
    let image = std::fs::read(&image_path).with_context(|| format!("reading {}", image_path.display()))?;
    let img = role_image(spec, root, &image, Role::All)?;
    let cores = baremetal_cores(spec.config.suffix.interf);
    Ok(Boot {
        cmd: qemu::baremetal(spec.platform.name, &img, cores, spec.clock, spec.params.fault == Fault::ResetGuest)?,
        start: vec![START_KEY],
        placement: format!("one image on {cores} cores: tx core 0, rx core 1{}", if cores == 3 { ", interf core 2" } else { "" }),
        stays_up: false,
        after_end: Vec::new(),
        verify: None,
    })
}

fn boot_xen(spec: &RunSpec, root: &Path) -> Result<Boot> {
    let xen_path = xen_image(spec, root)?;
    let features = xen::features(&xen_path)?;
    check_xen_colouring(spec, &xen_path, &features)?;
    let image_path = build::build_image(root, spec.hypervisor, spec.platform.name)?;
    let image = std::fs::read(&image_path).with_context(|| format!("reading {}", image_path.display()))?;
    // tx holds the shared region in its RAM (at shmem_base, above its first 64 MiB); rx maps tx's pages just above its
    // own RAM; the interferer's buffer sits at interf_base.
    let mut roles = vec![(Role::Tx, 96), (Role::Rx, 32)];
    if spec.config.suffix.interf {
        roles.push((Role::Interf, 128));
    }
    let plan = xen_colours(spec)?;
    let mut domains = Vec::new();
    for (role, memory_mib) in roles {
        let colours = plan.as_ref().map(|p| p.domain(role));
        domains.push(xen::Domain { role: role.name(), image: role_image(spec, root, &image, role)?, memory_mib, colours });
    }
    let work = run_dir(spec, root);
    let icount = match spec.clock {
        Clock::Icount(n) => Some(n),
        Clock::RealTime => None,
    };
    let boot = xen::Boot { pinned: features.can_pin(), bootargs: plan.map(|p| p.bootargs).unwrap_or_default() };
    let mut cmd = if spec.platform.name == "qemu-virt" {
        xen::prepare(&qemu::binary(), &xen_path, &domains, &boot, &work, icount)?
    } else {
        // A board's cell: its generated /chosen fragment (pools, domains, colours) and its images
        // where its boot script loads them.
        let sys = crate::config::System::new(Hypervisor::Xen, spec.platform, spec.config, Path::new("images"))?;
        sys.check()?;
        let files = crate::config::xen::files(&sys, features.llc_colouring)?;
        let chosen = files.iter().find(|(name, _)| *name == "xen-chosen.dtsi").map(|(_, text)| text.as_str()).unwrap_or_default();
        let modules: Vec<_> = domains
            .iter()
            .enumerate()
            .map(|(i, d)| (d.image.clone(), crate::config::xen::DOMU_BASE + i as u64 * crate::config::xen::DOMU_SLOT))
            .collect();
        for (image, _) in &modules {
            let len = std::fs::metadata(image)?.len();
            if len > crate::config::xen::DOMU_SLOT {
                bail!("{}: {len} bytes, more than a boot module slot ({:#x})", image.display(), crate::config::xen::DOMU_SLOT);
            }
        }
        xen::prepare_zynqmp(&qemu::binary(), &xen_path, chosen, &modules, &work, icount)?
    };
    // A domU cannot stop the machine: tx's semihosting exit would, but then Xen could not report
    // the placement after the run; ivcbench stops QEMU once Xen has.
    cmd.args(["-semihosting-config", "enable=on,target=native"]);
    let n = domains.len();
    let domids = domains.iter().enumerate().map(|(i, d)| format!("{} dom{}", d.role, i + 1)).collect::<Vec<_>>().join(", ");
    Ok(Boot {
        cmd,
        start: xen::input_to_dom1(START_KEY, n, &features),
        placement: if boot.pinned {
            format!(
                "{} ({}), dom0less, each domain alone on its own CPU in a null-scheduler cpupool (asked): {domids}",
                features.describe(),
                xen_path.display()
            )
        } else {
            format!(
                "{} ({}), dom0less, one vCPU per domain, not pinned (this Xen has no null scheduler or boot-time cpupools): {domids}",
                features.describe(),
                xen_path.display()
            )
        },
        stays_up: true,
        after_end: if spec.config.suffix.col { [xen::DUMP_RUNQUEUES, xen::DUMP_COLOURS].concat() } else { xen::DUMP_RUNQUEUES.to_vec() },
        verify: Some(verify_xen),
    })
}

/// The Xen image of this run: `--xen`, or the testbed's default (scripts/build-xen.sh).
pub(crate) fn xen_image(spec: &RunSpec, root: &Path) -> Result<PathBuf> {
    match &spec.xen {
        Some(p) if !p.is_file() => bail!("{}: no such Xen image (--xen)", p.display()),
        Some(p) => Ok(p.clone()),
        None => xen::find_xen(root),
    }
}

/// A coloured cell needs a Xen that colours: read from the image, not assumed from its name.
pub(crate) fn check_xen_colouring(spec: &RunSpec, xen_path: &Path, features: &xen::Features) -> Result<()> {
    if spec.config.suffix.col && !features.llc_colouring {
        bail!(
            "{}: the Xen at {} is {}, built without LLC colouring, so xen{} cannot run (it needs Xen 4.20 or later built with \
             CONFIG_LLC_COLORING, passed with --xen; docs/testbed-xen.md)",
            spec.config,
            xen_path.display(),
            features.describe(),
            spec.config.suffix
        );
    }
    Ok(())
}

/// Colours of a coloured Xen cell on the testbed: the same plan as the boards' files (the
/// testbed's LLC geometry is the ZynqMP's), the geometry given to Xen explicitly (QEMU models no
/// cache for Xen to probe).
struct XenColours {
    sys: crate::config::System,
    bootargs: Vec<String>,
}

impl XenColours {
    fn domain(&self, role: Role) -> String {
        let c = self.sys.vms.iter().find(|v| v.role == role).and_then(|v| v.colours).expect("+col gives every domain colours");
        crate::config::xen::colour_list(c)
    }
}

fn xen_colours(spec: &RunSpec) -> Result<Option<XenColours>> {
    xen_colours_of(spec.config, spec.platform)
}

fn xen_colours_of(config: crate::names::Configuration, platform: &'static ivc_proto::platform::Platform) -> Result<Option<XenColours>> {
    if !config.suffix.col {
        return Ok(None);
    }
    let sys = crate::config::System::new(Hypervisor::Xen, platform, config, Path::new("images"))?;
    sys.check()?;
    let bootargs = crate::config::xen::colouring_bootargs(&sys).split(' ').map(str::to_string).collect();
    Ok(Some(XenColours { sys, bootargs }))
}

/// The placement Xen reported after the run (debug key `r`), checked against the pinning asked.
fn verify_xen(spec: &RunSpec, raw: &str, asked: &str) -> Result<String> {
    let report = xen::placement(raw).context("Xen's run-queue dump (debug key r) after the run")?;
    let pinned = asked.contains("null-scheduler cpupool");
    let mut roles = vec!["tx", "rx"];
    if spec.config.suffix.interf {
        roles.push("interf");
    }
    if pinned {
        report.check_pinned(roles.len())?;
    }
    let names = roles
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{r} dom{}: {}", i + 1, report.describe_domain(i as u32 + 1)))
        .collect::<Vec<_>>()
        .join(", ");
    let head = asked.split(", dom0less").next().unwrap_or(asked);
    let mut placement = if pinned {
        format!("{head}, dom0less; Xen reports (debug key r, after the run) each domain alone on its own CPU: {names}")
    } else {
        format!("{head}, dom0less, not pinned; Xen reports (debug key r, after the run): {names}")
    };
    if let Some(plan) = xen_colours(spec)? {
        placement += &format!("; {}", check_colours(raw, &plan, &roles)?);
    }
    Ok(placement)
}

/// The colours Xen reports (debug keys m and q) must be those the cell asked for.
fn check_colours(raw: &str, plan: &XenColours, roles: &[&str]) -> Result<String> {
    let c = xen::colouring(raw).context("Xen's colour report (debug keys m and q) after the run")?;
    let want_n = crate::config::colour_count(Hypervisor::Xen, plan.sys.board);
    ensure!(c.colours == want_n, "Xen reports {} LLC colours, but the cell's geometry makes {want_n}", c.colours);
    // Without xen-llc-colors Xen keeps colour 0.
    let want_xen = plan.sys.hyp_colours.map_or(vec![0], |h| (0..64).filter(|b| h.0 >> b & 1 == 1).collect());
    ensure!(c.xen == want_xen, "Xen reports its own colours {:?}, the cell asked for {want_xen:?}", c.xen);
    let mut said = vec![format!("Xen {{{}}}", xen::colour_ranges(&c.xen))];
    for (i, role) in roles.iter().enumerate() {
        let d = i as u32 + 1;
        let want = plan.sys.vms[i].colours.map(|m| (0..64).filter(|b| m.0 >> b & 1 == 1).collect::<Vec<u32>>()).unwrap_or_default();
        let got = c.domains.iter().find(|(dom, _)| *dom == d).map(|(_, s)| s.clone());
        ensure!(got.as_ref() == Some(&want), "Xen reports domain {d} ({role}) with colours {got:?}, the cell asked for {want:?}");
        said.push(format!("{role} {{{}}}", xen::colour_ranges(&want)));
    }
    Ok(format!("LLC colours as Xen reports them (debug keys m and q), of {}: {}", c.colours, said.join(", ")))
}

/// Bao on QEMU virt, from a bao.bin the user built (Bao's source is not part of ivcbench): the
/// run's parameters are patched into each VM image inside it, keeping each one's role; tx's
/// console is QEMU's first UART (the capture), rx's the second, written raw beside the capture.
fn boot_bao(spec: &RunSpec, root: &Path, capture: &Path) -> Result<Boot> {
    let Some(bao) = &spec.bao else {
        bail!("bao runs from a bao.bin you build: pass --bao PATH (docs/bao.md: `ivcbench config --hypervisor bao --platform qemu-virt`, then Bao's make)")
    };
    let mut image = std::fs::read(bao).with_context(|| format!("reading the Bao image {}", bao.display()))?;
    let found = build::patch_roles(&mut image, |role| {
        let mut p = cell_params(spec, role)?;
        // A VM cannot turn the machine off; ivcbench stops QEMU at tx's end record.
        p.flags &= !flag::POWER_OFF;
        Ok(p)
    })
    .with_context(|| format!("{}: patching the VM images inside it", bao.display()))?;
    crate::bao::check_cell(bao, &found, spec.config)?;
    if spec.config.suffix.hypcol {
        eprintln!("ivcbench: warning: {}", crate::bao::hypcol_warning(crate::bao::version(&image).as_deref()));
    }
    let dir = run_dir(spec, root);
    std::fs::create_dir_all(&dir)?;
    let img = dir.join("bao.bin");
    std::fs::write(&img, &image)?;
    let rx_console = rx_console_path(capture);
    let mut c = std::process::Command::new(qemu::binary());
    match qemu::machine(spec.platform.name)?.0 {
        // Bao's qemu-aarch64-virt platform has 4 GiB of RAM from 0x40000000.
        "virt" => c.args(["-machine", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a53", "-smp", "4", "-m", "4096"]),
        // Bao's zcu102/zcu104 platform, entered at EL2 on the ZynqMP model as TF-A enters it.
        m => c.args(["-machine", &format!("{m},virtualization=on"), "-m", "2048", "-audio", "none"]),
    };
    c.args(["-display", "none", "-monitor", "none", "-serial", "stdio", "-serial"])
        .arg(format!("file:{}", rx_console.display()))
        .arg("-kernel")
        .arg(&img)
        .arg("-no-reboot");
    match spec.clock {
        Clock::Icount(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        Clock::RealTime => c.args(["-accel", "tcg,thread=multi"]),
    };
    Ok(Boot {
        cmd: c,
        start: vec![START_KEY],
        placement: format!(
            "Bao ({}), one VM per role, each pinned to its core: tx vm0 core 0, rx vm1 core 1{}; rx's console in {}",
            bao.display(),
            if spec.config.suffix.interf { ", interf vm2 core 2" } else { "" },
            rx_console.display()
        ),
        stays_up: true,
        after_end: Vec::new(),
        verify: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Configuration;
    use ivc_proto::platform::QEMU_VIRT;

    fn plan(cell: &str) -> XenColours {
        xen_colours_of(Configuration::parse(cell).unwrap(), &QEMU_VIRT).unwrap().expect("a colour cell")
    }

    /// What Xen 4.20 prints for debug keys m and q, for the given colour sets.
    fn report(xen: &str, doms: &[&str]) -> String {
        let mut s =
            format!("(XEN) LLC coloring info:\n(XEN)     Number of LLC colors supported: 16\n(XEN)     Xen LLC colors (2): {{ {xen} }}\n");
        for (i, d) in doms.iter().enumerate() {
            s += &format!("(XEN) General information for domain {}:\n(XEN) 6 LLC colors: {{ {d} }}\n", i + 1);
        }
        s
    }

    #[test]
    fn testbed_colour_cells_are_the_boards_plan_with_explicit_geometry() {
        assert!(xen_colours_of(Configuration::parse("notif+interf").unwrap(), &QEMU_VIRT).unwrap().is_none());
        let col = plan("notif+col");
        assert_eq!(col.bootargs, ["llc-coloring=on", "llc-size=1024K", "llc-nr-ways=16"]);
        assert_eq!((col.domain(Role::Tx), col.domain(Role::Rx)), ("0,1,2,3,4,5,6,7".into(), "0,1,2,3,4,5,6,7".into()));
        let interf = plan("notif+interf+col");
        assert_eq!(interf.domain(Role::Interf), "8,9,10,11,12,13,14,15", "disjoint from tx's and rx's");
        let hyp = plan("notif+interf+col+hypcol");
        assert_eq!(hyp.bootargs.last().map(String::as_str), Some("xen-llc-colors=0,1"));
        assert_eq!((hyp.domain(Role::Tx), hyp.domain(Role::Interf)), ("2,3,4,5,6,7".into(), "8,9,10,11,12,13,14,15".into()));
    }

    #[test]
    fn colours_must_be_what_xen_reports() {
        let hyp = plan("notif+interf+col+hypcol");
        let roles = ["tx", "rx", "interf"];
        let ok = check_colours(&report("0-1", &["2-7", "2-7", "8-15"]), &hyp, &roles).unwrap();
        assert!(ok.ends_with("of 16: Xen {0-1}, tx {2-7}, rx {2-7}, interf {8-15}"), "{ok}");
        let e = check_colours(&report("0", &["2-7", "2-7", "8-15"]), &hyp, &roles).unwrap_err().to_string();
        assert!(e.contains("its own colours [0]"), "{e}");
        let e = check_colours(&report("0-1", &["2-7", "2-7", "0-15"]), &hyp, &roles).unwrap_err().to_string();
        assert!(e.contains("domain 3 (interf)"), "{e}");
        // +col without +hypcol: Xen keeps colour 0.
        let col = plan("notif+col");
        check_colours(&report("0", &["0-7", "0-7"]), &col, &roles[..2]).unwrap();
        let e = check_colours(&report("0", &["0-7"]), &col, &roles[..2]).unwrap_err().to_string();
        assert!(e.contains("domain 2 (rx) with colours None"), "{e}");
    }
}
