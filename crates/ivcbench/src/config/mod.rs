//! Step 2 of the workflow: the hypervisor configuration of one matrix cell, generated.
//!
//! [`System`] describes a whole cell the way Bao's `config.c` does: the VMs with their core,
//! memory, devices and interrupts, the shared region, the cache colours. It is built from one
//! board description ([`Platform`]) and one configuration name, checked ([`System::check`]), and
//! only then written out in a hypervisor's own format ([`bao`], [`xen`], [`jailhouse`], [`sel4`]).

pub mod bao;
pub mod jailhouse;
pub mod sel4;
pub mod xen;

use crate::names::{Configuration, Hypervisor};
use anyhow::{bail, ensure, Context, Result};
use ivc_proto::layout::SHMEM_SIZE;
use ivc_proto::params::{Experiment, Role};
use ivc_proto::platform::{Gic, Platform, UartKind, PAGE};
use ivc_proto::vm::{self, Hyp};
use std::fmt;
use std::path::{Path, PathBuf};

/// A guest-physical address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

impl Region {
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
    pub fn overlaps(&self, o: &Region) -> bool {
        self.base < o.end() && o.base < self.end()
    }
    pub fn contains(&self, o: &Region) -> bool {
        self.base <= o.base && o.end() <= self.end()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.base, self.end())
    }
}

/// A set of page colours, bit `c` for colour `c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colours(pub u64);

impl Colours {
    /// Colours `first..=last`.
    pub fn range(first: u32, last: u32) -> Colours {
        Colours((first..=last).fold(0, |m, c| m | 1 << c))
    }
    pub fn count(&self) -> u32 {
        self.0.count_ones()
    }
}

impl fmt::Display for Colours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = (0..64).filter(|c| self.0 >> c & 1 == 1).map(|c| c.to_string()).collect();
        write!(f, "{{{}}}", list.join(","))
    }
}

/// A device passed through to a VM, or emulated for it at this address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub name: &'static str,
    pub region: Region,
    pub irqs: Vec<u32>,
}

/// One VM: one role of the experiment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    pub role: Role,
    /// The physical core it runs on, alone.
    pub core: usize,
    /// Its RAM (guest-physical), which holds the image at `entry`.
    pub ram: Region,
    /// Where the image is loaded and entered (guest-physical).
    pub entry: u64,
    /// The image file, as the generated configuration names it.
    pub image: PathBuf,
    /// Whether the shared region is mapped (tx and rx).
    pub shmem: bool,
    /// The doorbell interrupt the VM receives (rx).
    pub doorbell_irq: Option<u32>,
    pub devices: Vec<Device>,
    /// Interrupts the VM takes that belong to no device (the virtual timer).
    pub irqs: Vec<u32>,
    /// Its memory's colours, with `+col`.
    pub colours: Option<Colours>,
}

/// A whole cell: what a hypervisor configuration has to say.
#[derive(Clone, Debug)]
pub struct System {
    pub hypervisor: Hypervisor,
    /// The board as it is.
    pub board: &'static Platform,
    /// The board as the VMs see it (ivc_proto::vm::view).
    pub view: Platform,
    pub config: Configuration,
    pub vms: Vec<Vm>,
    /// The shared region, at the same guest-physical address in tx and rx.
    pub shmem: Region,
    pub shmem_colours: Option<Colours>,
    /// The hypervisor's own colours, with `+hypcol`.
    pub hyp_colours: Option<Colours>,
    /// The interference buffer (inside interf's RAM).
    pub interf_buffer: Region,
    /// The interferer's status page shared with tx, where the interferer has no console and the
    /// hypervisor's configuration maps it (Bao, Jailhouse; see ivc_proto::layout::InterfStatus).
    pub interf_status: Option<Region>,
}

/// The colour split of `+col` and `+hypcol` on a cache with `n` colours: tx, rx and the shared
/// region share the lower half, the interferer gets the upper half, and with `+hypcol` the
/// hypervisor takes the lowest eighth out of tx and rx's half (its footprint is small). The
/// halves are disjoint, so the interferer cannot evict tx's and rx's lines from the shared cache.
pub fn colour_plan(n: u32, hypcol: bool) -> (Colours, Colours, Option<Colours>) {
    let half = n / 2;
    let hyp = hypcol.then(|| Colours::range(0, (n / 8).max(1) - 1));
    let first = if hypcol { (n / 8).max(1) } else { 0 };
    (Colours::range(first, half - 1), Colours::range(half, n - 1), hyp)
}

/// How many colours `hyp` makes of the board's last-level cache. Xen and Jailhouse colour by
/// page: way size / 4 KiB (16 on the ZynqMP's L2). Bao makes each colour an L1 way wide (8 KiB
/// on the Cortex-A53), so that no L1 set spans two colours: 8 on the same L2, and a colour mask
/// bit above that is ignored by Bao (an interferer on colours 8-15 would be uncoloured).
pub fn colour_count(hyp: Hypervisor, board: &Platform) -> u32 {
    match hyp {
        Hypervisor::Bao => board.llc.colours_of(board.llc.l1d_way) as u32,
        _ => board.llc.colours() as u32,
    }
}

/// The ivc_proto view of a hypervisor.
pub fn hyp_of(h: Hypervisor) -> Hyp {
    match h {
        Hypervisor::Baremetal => Hyp::Baremetal,
        Hypervisor::Bao => Hyp::Bao,
        Hypervisor::Xen => Hyp::Xen,
        Hypervisor::Jailhouse => Hyp::Jailhouse,
        Hypervisor::Sel4 => Hyp::Sel4,
    }
}

impl System {
    /// The cell `config` of `hyp` on `board`, with role images named `<images>/<role>.bin`.
    pub fn new(hyp: Hypervisor, board: &'static Platform, config: Configuration, images: &Path) -> Result<System> {
        ensure!(
            hyp != Hypervisor::Baremetal,
            "baremetal runs without a hypervisor: it has no VMs to describe (its cell is one image; see `generate`)"
        );
        let view = vm::view(hyp_of(hyp), *board);
        let s = config.suffix;
        let colours = s.col.then(|| colour_plan(colour_count(hyp, board), s.hypcol));
        let mut roles = vec![Role::Tx, Role::Rx];
        if s.interf {
            roles.push(Role::Interf);
        }
        let ram = Region { base: view.vm_ram.0, size: view.vm_ram.1 };
        let uarts = [view.uart_base, view.uart2_base.unwrap_or(view.uart_base)];
        let vms = roles
            .iter()
            .enumerate()
            .map(|(i, &role)| {
                let mut devices = Vec::new();
                // tx gets the board's first UART and rx its second; the interferer none (see
                // the Bao backend: two VMs on one UART break each other's record lines).
                // Under Xen every domU has its own emulated vpl011 instead.
                if role != Role::Interf && view.uart_kind != UartKind::None && hyp != Hypervisor::Xen {
                    devices.push(Device {
                        name: if i == 0 { "uart0" } else { "uart1" },
                        region: Region { base: uarts[i], size: PAGE },
                        irqs: vec![],
                    });
                }
                Vm {
                    role,
                    core: board.role_cores[i],
                    ram,
                    entry: view.load_addr,
                    image: images.join(format!("{}.bin", role.name())),
                    shmem: role != Role::Interf,
                    doorbell_irq: (role == Role::Rx).then_some(doorbell_irq(hyp)),
                    devices,
                    irqs: vec![vm::VTIMER_PPI],
                    colours: colours.map(|(txrx, interf, _)| if role == Role::Interf { interf } else { txrx }),
                }
            })
            .collect();
        let buffer = ivc_proto::params::Params::DEFAULT.interf_size.max(2 * board.llc.size);
        Ok(System {
            hypervisor: hyp,
            board,
            view,
            config,
            vms,
            shmem: Region { base: view.shmem_base, size: SHMEM_SIZE as u64 },
            shmem_colours: colours.map(|c| c.0),
            hyp_colours: colours.and_then(|c| c.2),
            interf_buffer: Region { base: view.interf_base, size: buffer },
            interf_status: (s.interf && matches!(hyp, Hypervisor::Bao | Hypervisor::Jailhouse)).then_some(Region {
                base: ivc_proto::layout::interf_status_base(view.shmem_base),
                size: ivc_proto::layout::INTERF_STATUS_SIZE as u64,
            }),
        })
    }

    /// Everything a configuration promises, checked before anything is written: memory that does
    /// not overlap, one role per core, colours that isolate what `+col` says they isolate.
    pub fn check(&self) -> Result<()> {
        let board = self.board;
        let board_ram = Region { base: board.ram_base, size: board.ram_size };
        let cell = format!("{} {} on {}", self.hypervisor, self.config, board.name);
        let fail = |what: String| -> Result<()> { bail!("{cell}: {what}") };
        let mmio = Region { base: self.view.mmio.0, size: self.view.mmio.1 };
        for (i, vm) in self.vms.iter().enumerate() {
            let r = vm.role.name();
            if vm.core >= board.cores {
                fail(format!("{r} is placed on core {}, but {} has {} cores", vm.core, board.name, board.cores))?;
            }
            if let Some(o) = self.vms[..i].iter().find(|o| o.core == vm.core) {
                fail(format!("{r} and {} are both placed on core {} (one role per core)", o.role.name(), vm.core))?;
            }
            if !vm.ram.contains(&Region { base: vm.entry, size: PAGE }) {
                fail(format!("{r}'s image at {:#x} is outside its RAM {}", vm.entry, vm.ram))?;
            }
            if vm.shmem && vm.ram.overlaps(&self.shmem) {
                fail(format!("{r}'s RAM {} overlaps the shared region {}", vm.ram, self.shmem))?;
            }
            if vm.role == Role::Interf && !vm.ram.contains(&self.interf_buffer) {
                fail(format!("the interference buffer {} is not inside interf's RAM {}", self.interf_buffer, vm.ram))?;
            }
            if self.hypervisor != Hypervisor::Xen && !board_ram.contains(&vm.ram) {
                fail(format!("{r}'s RAM {} is not in {}'s RAM {}", vm.ram, board.name, board_ram))?;
            }
            for d in &vm.devices {
                if d.region.overlaps(&vm.ram) || d.region.overlaps(&self.shmem) {
                    fail(format!("{r}'s {} at {} overlaps its memory", d.name, d.region))?;
                }
                if !mmio.contains(&d.region) && self.hypervisor != Hypervisor::Xen {
                    fail(format!("{r}'s {} at {} is outside {}'s device window {}", d.name, d.region, board.name, mmio))?;
                }
                if let Some(o) =
                    self.vms[..i].iter().flat_map(|o| o.devices.iter().map(move |d| (o, d))).find(|(_, od)| od.region.overlaps(&d.region))
                {
                    fail(format!("{r} and {} are both given the device at {} ({})", o.0.role.name(), d.region, d.name))?;
                }
            }
        }
        for (name, gic) in [("GIC", gic_regions(&self.view.gic))] {
            for g in gic {
                if g.overlaps(&self.shmem) || self.vms.iter().any(|v| g.overlaps(&v.ram)) {
                    fail(format!("the {name} at {g} overlaps VM memory"))?;
                }
            }
        }
        if self.hypervisor != Hypervisor::Xen && !board_ram.contains(&self.shmem) {
            fail(format!("the shared region {} is not in {}'s RAM {}", self.shmem, board.name, board_ram))?;
        }
        if let Some(st) = self.interf_status {
            let devices = self.vms.iter().flat_map(|v| v.devices.iter());
            if st.overlaps(&self.shmem) || self.vms.iter().any(|v| v.ram.overlaps(&st)) || devices.clone().any(|d| d.region.overlaps(&st)) {
                fail(format!("the interferer's status page {st} overlaps VM memory, the shared region or a device"))?;
            }
        }
        self.check_colours(&fail)
    }

    fn check_colours(&self, fail: &dyn Fn(String) -> Result<()>) -> Result<()> {
        let n = colour_count(self.hypervisor, self.board) as u64;
        let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        let mut sets: Vec<(String, Colours)> = self.vms.iter().filter_map(|v| v.colours.map(|c| (v.role.name().to_string(), c))).collect();
        sets.extend(self.shmem_colours.map(|c| ("the shared region".to_string(), c)));
        sets.extend(self.hyp_colours.map(|c| (self.hypervisor.to_string(), c)));
        if !self.config.suffix.col {
            if !sets.is_empty() {
                fail("colours are given but the configuration has no +col".into())?;
            }
            return Ok(());
        }
        ensure!(self.vms.iter().all(|v| v.colours.is_some()), "{}: +col, but a VM has no colours", self.config);
        for (who, c) in &sets {
            if c.0 == 0 || c.0 & !all != 0 {
                fail(format!(
                    "{who}'s colours {c} are not a non-empty subset of the {n} colours of {}'s last-level cache",
                    self.board.name
                ))?;
            }
        }
        let of = |r: Role| self.vms.iter().find(|v| v.role == r).and_then(|v| v.colours);
        if let (Some(tx), Some(rx)) = (of(Role::Tx), of(Role::Rx)) {
            if let Some(i) = of(Role::Interf) {
                if i.0 & (tx.0 | rx.0) != 0 {
                    fail(format!("interf's colours {i} overlap tx's {tx} or rx's {rx}: +col promises the interferer cannot evict them"))?;
                }
                if let Some(s) = self.shmem_colours.filter(|s| s.0 & i.0 != 0) {
                    fail(format!("the shared region's colours {s} overlap interf's {i}"))?;
                }
            }
        }
        if self.config.suffix.hypcol {
            let Some(h) = self.hyp_colours else {
                return fail("+hypcol, but the hypervisor has no colours".into());
            };
            for (who, c) in sets.iter().filter(|(w, _)| *w != self.hypervisor.to_string()) {
                if c.0 & h.0 != 0 {
                    fail(format!("{}'s colours {h} overlap {who}'s {c}: +hypcol promises they are disjoint", self.hypervisor))?;
                }
            }
        }
        Ok(())
    }

    /// The parameters each role's image is patched with.
    pub fn params(&self, role: Role) -> Result<ivc_proto::params::Params> {
        cell_params(self.config, role)
    }
}

/// The default parameters of `config` for `role` (a board's run takes the defaults; the QEMU
/// testbed patches its own).
fn cell_params(config: Configuration, role: Role) -> Result<ivc_proto::params::Params> {
    use ivc_proto::params::{flag, Params};
    let mut p = Params { experiment: config.experiment, role, ..Params::DEFAULT };
    if config.suffix.interf {
        p.flags |= flag::INTERF;
    }
    p.with_config(&config.suffix.to_string()).context("configuration name too long for the parameter block")
}

/// baremetal has no hypervisor to configure: a cell is its one image (tx, rx and the interferer
/// on cores 0, 1, 2), patched for the cell, and on a board the U-Boot script that boots it.
fn baremetal_files(board: &Platform, config: Configuration) -> Result<Vec<(&'static str, String)>> {
    if config.suffix.col {
        bail!(
            "baremetal {config}: there is no hypervisor to colour memory, so {} would run the uncoloured setup under a coloured name",
            config.suffix
        );
    }
    if board.name == "qemu-virt" {
        return Ok(Vec::new());
    }
    let a = board.load_addr;
    Ok(vec![(
        "boot.cmd",
        format!(
            "# U-Boot script for the ivcbench cell {config} on {} without a hypervisor (tx core 0, rx core 1, interf core 2).\n\
             # mkimage -A arm64 -T script -C none -d boot.cmd boot.scr; files from the SD card's first partition.\n\
             fatload mmc 0 {a:#x} images/baremetal.bin\n\
             # The image ignores the device tree; booti wants one, U-Boot's own will do.\n\
             booti {a:#x} - ${{fdtcontroladdr}}\n",
            board.name
        ),
    )])
}

/// The interrupt rx's doorbell arrives on.
fn doorbell_irq(h: Hypervisor) -> u32 {
    match h {
        Hypervisor::Xen => vm::xen::EVTCHN_PPI,
        Hypervisor::Jailhouse => vm::jailhouse::DOORBELL_IRQ,
        Hypervisor::Sel4 => vm::sel4::CROSSVM_IRQ,
        _ => vm::bao::IPC_IRQ,
    }
}

/// The GIC's MMIO frames (distributor and CPU interface or redistributors for the cores).
fn gic_regions(g: &Gic) -> Vec<Region> {
    match *g {
        Gic::V2 { gicd, gicc } => vec![Region { base: gicd, size: 0x1000 }, Region { base: gicc, size: 0x2000 }],
        Gic::V3 { gicd, gicr } => vec![Region { base: gicd, size: 0x1_0000 }, Region { base: gicr, size: 4 * 0x2_0000 }],
    }
}

/// Every configuration name the seed's matrix has, in its order.
pub fn matrix() -> Vec<Configuration> {
    let mut v = Vec::new();
    for suffix in crate::names::Suffix::ALL {
        v.push(Configuration { experiment: Experiment::Notif, suffix });
    }
    for interf in [false, true] {
        v.push(Configuration { experiment: Experiment::Transfer, suffix: crate::names::Suffix { interf, ..Default::default() } });
    }
    v
}

/// What `ivcbench config` writes.
pub struct Options {
    pub out: PathBuf,
    /// Build and patch the role images into `<out>/images` (otherwise only the configuration).
    pub images: bool,
    /// The user says their Xen build has cache colouring (Debian's has not).
    pub xen_colouring: bool,
    /// The user's Jailhouse is the colouring fork (ESRGv3/jailhouse-shedlight): its cell format,
    /// and `+col` cells.
    pub jailhouse_colouring: bool,
    pub force: bool,
    /// PMU events tx's image counts (`--pmu-events`, notif; docs/pmu.md): boards and farms
    /// boot these images, so this is where their runs get them.
    pub pmu: ivc_proto::pmu::Selection,
}

/// Generates the configuration of one cell into `opts.out`; returns the files written.
pub fn generate(hyp: Hypervisor, board: &'static Platform, config: Configuration, opts: &Options) -> Result<Vec<PathBuf>> {
    // Refused before anything is written (transfer counts no PMU events).
    let mut check = ivc_proto::params::Params::DEFAULT;
    crate::pmu::apply(&mut check, opts.pmu, config.experiment, false)?;
    std::fs::create_dir_all(&opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    // Absolute: Bao's build includes the images with `.incbin`, relative to its own directory.
    let out = opts.out.canonicalize().with_context(|| format!("resolving {}", opts.out.display()))?;
    let images = out.join("images");
    if hyp == Hypervisor::Baremetal {
        let files = baremetal_files(board, config)?;
        let image = (images.join("baremetal.bin"), cell_params(config, Role::All)?);
        return write_cell(opts, &out, files, opts.images.then(|| (hyp, vec![image])), board);
    }
    let sys = System::new(hyp, board, config, &images)?;
    sys.check()?;
    let files: Vec<(&str, String)> = match hyp {
        Hypervisor::Bao => vec![("config.c", bao::config_c(&sys)?)],
        Hypervisor::Xen => xen::files(&sys, opts.xen_colouring)?,
        Hypervisor::Jailhouse => jailhouse::files(&sys, opts.jailhouse_colouring)?,
        Hypervisor::Sel4 => sel4::files(&sys)?,
        Hypervisor::Baremetal => unreachable!("handled above"),
    };
    let images = match opts.images {
        true => Some((hyp, sys.vms.iter().map(|vm| Ok((vm.image.clone(), sys.params(vm.role)?))).collect::<Result<Vec<_>>>()?)),
        false => None,
    };
    write_cell(opts, &out, files, images, board)
}

/// Writes a cell's files into `out`, and the image built for `hyp` once per entry of `images`,
/// patched with that entry's parameters.
fn write_cell(
    opts: &Options,
    out: &Path,
    files: Vec<(&str, String)>,
    images: Option<(Hypervisor, Vec<(PathBuf, ivc_proto::params::Params)>)>,
    board: &Platform,
) -> Result<Vec<PathBuf>> {
    if !opts.force && std::fs::read_dir(out)?.next().is_some() {
        bail!("{} is not empty: pass --force to write into it", opts.out.display());
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = opts.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    if let Some((hyp, images)) = images {
        let root = crate::build::project_root();
        let built = crate::build::build_image(&root, hyp, board.name)?;
        let image = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
        std::fs::create_dir_all(out.join("images"))?;
        for (path, mut params) in images {
            if matches!(params.role, Role::Tx | Role::All) {
                let experiment = params.experiment;
                crate::pmu::apply(&mut params, opts.pmu, experiment, board.name == "qemu-virt")?;
            }
            let mut bytes = image.clone();
            crate::build::patch_params(&mut bytes, &params)?;
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivc_proto::platform::{ALL, QEMU_VIRT, ZCU104};

    fn sys(h: Hypervisor, p: &'static Platform, c: &str) -> System {
        System::new(h, p, Configuration::parse(c).unwrap(), Path::new("images")).unwrap()
    }

    #[test]
    fn every_cell_of_the_matrix_is_consistent_on_every_board() {
        for p in ALL.iter() {
            for c in matrix() {
                for h in [Hypervisor::Bao, Hypervisor::Xen] {
                    let s = System::new(h, p, c, Path::new("images")).unwrap();
                    s.check().unwrap_or_else(|e| panic!("{e:#}"));
                    assert_eq!(s.vms.len(), if c.suffix.interf { 3 } else { 2 });
                    let cores: std::collections::BTreeSet<_> = s.vms.iter().map(|v| v.core).collect();
                    assert_eq!(cores.len(), s.vms.len(), "one role per core");
                }
            }
        }
    }

    #[test]
    fn colours_split_the_zynqmp_l2_into_disjoint_halves() {
        assert_eq!(ZCU104.llc.colours(), 16);
        let (txrx, interf, hyp) = colour_plan(16, true);
        assert_eq!((txrx.0, interf.0, hyp.unwrap().0), (0x00FC, 0xFF00, 0x0003));
        // Bao's colours are L1-way wide: 8 on the same cache, all of them inside Bao's mask.
        assert_eq!(colour_count(Hypervisor::Bao, &ZCU104), 8);
        let s = sys(Hypervisor::Bao, &ZCU104, "notif+interf+col+hypcol");
        let used = s.vms.iter().filter_map(|v| v.colours).chain(s.hyp_colours).fold(0, |m, c| m | c.0);
        assert_eq!(used, 0xFF);
        assert_eq!((s.vms[0].colours.unwrap().0, s.vms[2].colours.unwrap().0, s.hyp_colours.unwrap().0), (0x0E, 0xF0, 0x01));
        let s = sys(Hypervisor::Bao, &ZCU104, "notif+interf+col+hypcol");
        assert_eq!(s.vms[0].colours, s.vms[1].colours);
        assert_eq!(s.vms[2].colours.unwrap().0 & s.vms[0].colours.unwrap().0, 0);
    }

    #[test]
    fn an_overlapping_platform_is_rejected_with_what_collides() {
        static BAD: Platform = Platform { shmem_base: 0x2000_0000 + 0x0100_0000, ..ZCU104 };
        let e = System::new(Hypervisor::Bao, &BAD, Configuration::parse("notif").unwrap(), Path::new("i"))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("tx's RAM 0x20000000..0x24000000 overlaps the shared region 0x21000000..0x22001000"), "{e}");
        static SAME_CORE: Platform = Platform { role_cores: [0, 1, 1], ..QEMU_VIRT };
        let e = System::new(Hypervisor::Bao, &SAME_CORE, Configuration::parse("notif+interf").unwrap(), Path::new("i"))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("interf and rx are both placed on core 1"), "{e}");
        static TOO_SMALL: Platform = Platform { vm_ram: (0x2000_0000, 0x0200_0000), ..ZCU104 };
        let e = System::new(Hypervisor::Bao, &TOO_SMALL, Configuration::parse("notif+interf").unwrap(), Path::new("i"))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("the interference buffer 0x22000000..0x22200000 is not inside interf's RAM 0x20000000..0x22000000"), "{e}");
    }

    #[test]
    fn colours_that_break_isolation_are_rejected() {
        let mut s = sys(Hypervisor::Xen, &ZCU104, "notif+interf+col+hypcol");
        s.vms[2].colours = Some(Colours(0x0180));
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("interf's colours {7,8} overlap tx's {2,3,4,5,6,7}"), "{e}");
        let mut s = sys(Hypervisor::Bao, &ZCU104, "notif+interf+col+hypcol");
        s.hyp_colours = Some(Colours(0x0004));
        assert!(s.check().unwrap_err().to_string().contains("+hypcol promises they are disjoint"));
        let mut s = sys(Hypervisor::Xen, &ZCU104, "notif+col");
        s.vms[0].colours = Some(Colours(1 << 16));
        assert!(s.check().unwrap_err().to_string().contains("not a non-empty subset of the 16 colours"));
        // Bao ignores mask bits above its 8 colours: a colour there would silently mean "all".
        let mut s = sys(Hypervisor::Bao, &ZCU104, "notif+interf+col");
        s.vms[2].colours = Some(Colours(0xFF00));
        assert!(s.check().unwrap_err().to_string().contains("not a non-empty subset of the 8 colours"));
    }

    #[test]
    fn baremetal_cells_are_an_image_and_a_boot_script() {
        let files = baremetal_files(&ZCU104, Configuration::parse("notif+interf").unwrap()).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].1.contains("fatload mmc 0 0x20080000 images/baremetal.bin\n"), "{}", files[0].1);
        assert!(files[0].1.contains("booti 0x20080000 - ${fdtcontroladdr}\n"), "{}", files[0].1);
        assert!(baremetal_files(&QEMU_VIRT, Configuration::parse("notif").unwrap()).unwrap().is_empty());
        let e = baremetal_files(&ZCU104, Configuration::parse("notif+col").unwrap()).unwrap_err().to_string();
        assert!(e.contains("no hypervisor to colour memory"), "{e}");
        let p = cell_params(Configuration::parse("transfer+interf").unwrap(), Role::All).unwrap();
        assert!(p.has(ivc_proto::params::flag::INTERF) && p.config_str() == "+interf");
    }

    #[test]
    fn baremetal_has_no_system() {
        let e = System::new(Hypervisor::Baremetal, &QEMU_VIRT, Configuration::parse("notif").unwrap(), Path::new("i")).unwrap_err();
        assert!(e.to_string().contains("no VMs to describe"));
    }
}
