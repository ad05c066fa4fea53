//! The QEMU testbed's machines, one per hypervisor: the images patched with the run's
//! parameters, the QEMU command line, the bytes that start the run and where each role runs.

use crate::build::{self, patch_params};
use crate::names::Hypervisor;
use crate::qemu::{self, Clock};
use crate::run::{rx_console_path, RunSpec};
use crate::xen;
use anyhow::{anyhow, bail, Context, Result};
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
}

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
    p.flags |= flag::POWER_OFF;
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
    })
}

fn boot_xen(spec: &RunSpec, root: &Path) -> Result<Boot> {
    let xen_path = match &spec.xen {
        Some(p) if !p.is_file() => bail!("{}: no such Xen image (--xen)", p.display()),
        Some(p) => p.clone(),
        None => xen::find_xen(root)?,
    };
    let image_path = build::build_image(root, spec.hypervisor, spec.platform.name)?;
    let image = std::fs::read(&image_path).with_context(|| format!("reading {}", image_path.display()))?;
    // tx holds the shared region in its RAM (at shmem_base, above its first 64 MiB); rx maps tx's pages just above its
    // own RAM; the interferer's buffer sits at interf_base.
    let mut roles = vec![(Role::Tx, 96), (Role::Rx, 32)];
    if spec.config.suffix.interf {
        roles.push((Role::Interf, 128));
    }
    let mut domains = Vec::new();
    for (role, memory_mib) in roles {
        domains.push(xen::Domain { role: role.name(), image: role_image(spec, root, &image, role)?, memory_mib });
    }
    let work = run_dir(spec, root);
    let icount = match spec.clock {
        Clock::Icount(n) => Some(n),
        Clock::RealTime => None,
    };
    let mut cmd = xen::prepare(&qemu::binary(), &xen_path, &domains, &work, icount)?;
    // tx ends the whole emulation with a semihosting exit once its end record is out.
    cmd.args(["-semihosting-config", "enable=on,target=native"]);
    let n = domains.len();
    Ok(Boot {
        cmd,
        start: xen::input_to_dom1(START_KEY, n),
        placement: format!(
            "Xen 4.17 dom0less, {} physical CPUs, one vCPU per domain (credit2; Debian's 4.17 cannot pin dom0less vCPUs): {}",
            n + 1,
            domains.iter().enumerate().map(|(i, d)| format!("{} dom{}", d.role, i + 1)).collect::<Vec<_>>().join(", ")
        ),
        stays_up: false,
    })
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
    })
}
