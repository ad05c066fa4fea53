//! Jailhouse's ivshmem device (the "IVSHMEM v2" virtual PCI device of Jailhouse's
//! Documentation/ivshmem-v2-specification.md): finding it in a PCI configuration space, sizing and
//! programming its register BAR, reading where its shared-memory sections are, and the layout of
//! its registers.
//!
//! Written against [`ConfigSpace`], 32-bit accesses at ECAM offsets, so that the guest runs it
//! over the memory-mapped configuration space Jailhouse emulates and the tests run it over an
//! in-memory model of the device.

/// Vendor and device id (Siemens, IVSHMEM).
pub const VENDOR_ID: u16 = 0x110A;
pub const DEVICE_ID: u16 = 0x4106;
/// Base class "other"; sub-class and interface carry the protocol.
pub const CLASS_OTHER: u8 = 0xFF;
/// JAILHOUSE_SHMEM_PROTO_UNDEFINED: no protocol on top (the cell configurations say so).
pub const PROTO_UNDEFINED: u16 = 0x0000;

/// Configuration-space header registers (byte offsets).
pub mod cfg {
    pub const ID: u32 = 0x00;
    /// Command (low half) and status (high half).
    pub const COMMAND: u32 = 0x04;
    /// Revision (byte 0) and class code (bytes 1-3).
    pub const CLASS_REV: u32 = 0x08;
    pub const BAR0: u32 = 0x10;
    pub const CAP_PTR: u32 = 0x34;
    /// Interrupt line (byte 0) and pin (byte 1).
    pub const INT: u32 = 0x3C;
    /// Command: memory space enable, bus master, INTx disable.
    pub const CMD_MEM: u32 = 1 << 1;
    pub const CMD_MASTER: u32 = 1 << 2;
    pub const CMD_INTX_OFF: u32 = 1 << 10;
    /// Status (as a bit of the COMMAND dword): the capability list exists.
    pub const STATUS_CAPS: u32 = 1 << (16 + 4);
    /// Capability ids.
    pub const CAP_VENDOR: u8 = 0x09;
    pub const CAP_MSIX: u8 = 0x11;
}

/// The vendor-specific capability (byte offsets from its start).
pub mod vndr {
    pub const LENGTH: u32 = 0x02;
    pub const STATE_TABLE_SIZE: u32 = 0x04;
    pub const RW_SIZE: u32 = 0x08;
    pub const OUTPUT_SIZE: u32 = 0x10;
    pub const BASE_ADDRESS: u32 = 0x18;
    /// Length when the (non-relocatable) base address register is present.
    pub const LEN_WITH_ADDRESS: u8 = 0x20;
}

/// The register region behind BAR 0 (byte offsets; aligned 32-bit accesses only).
pub mod reg {
    pub const ID: u64 = 0x00;
    pub const MAX_PEERS: u64 = 0x04;
    pub const INT_CONTROL: u64 = 0x08;
    pub const DOORBELL: u64 = 0x0C;
    pub const STATE: u64 = 0x10;
    /// INT_CONTROL bit 0: interrupts on.
    pub const INT_ENABLE: u32 = 1;
}

/// The doorbell value that raises `vector` in peer `target`.
pub const fn doorbell(target: u16, vector: u16) -> u32 {
    (target as u32) << 16 | vector as u32
}

/// The inverse of [`doorbell`]: (target, vector).
pub const fn doorbell_fields(v: u32) -> (u16, u16) {
    ((v >> 16) as u16, v as u16)
}

/// The INTx pin Jailhouse gives a device without MSI-X: it rotates with the device number
/// (1 = INTA).
pub const fn intx_pin(bdf: u16) -> u8 {
    (((bdf >> 3) & 3) + 1) as u8
}

/// The SPI (INTID) Jailhouse raises for INTx `pin` of a cell whose `vpci_irq_base` is given.
pub const fn intx_intid(vpci_irq_base: u32, pin: u8) -> u32 {
    32 + vpci_irq_base + pin as u32 - 1
}

/// Bus/device/function as the 16-bit number ECAM addresses by.
pub const fn bdf(bus: u8, dev: u8, func: u8) -> u16 {
    (bus as u16) << 8 | ((dev as u16) & 0x1f) << 3 | (func as u16 & 7)
}

/// The byte offset of function `bdf`'s configuration space from the ECAM base.
pub const fn ecam_offset(bdf: u16) -> u32 {
    (bdf as u32) << 12
}

/// A PCI configuration space reached by ECAM offsets ([`ecam_offset`] + register).
pub trait ConfigSpace {
    fn read32(&self, off: u32) -> u32;
    fn write32(&mut self, off: u32, v: u32);
}

/// What can go wrong on the way to a working device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No function on bus 0 has vendor 110A / device 4106.
    NotFound,
    /// The device's class/revision dword is not "other" with the expected protocol.
    Class(u32),
    /// The status register says there is no capability list.
    NoCapabilities,
    /// The capability list has no vendor-specific capability, or loops.
    NoVendorCapability,
    /// The vendor capability is too short to hold the base address: the shared memory would
    /// have to be placed through BAR 2, which Jailhouse does not implement.
    NoBaseAddress(u8),
    /// BAR 0 reads back no writable address bits.
    NoRegisterBar,
    /// The address chosen for BAR 0 is not aligned to its size.
    BarAlignment { addr: u64, size: u32 },
    /// The state table is empty or the sections do not fit in the address space.
    Sections,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::NotFound => write!(f, "no ivshmem device (110a:4106) on PCI bus 0"),
            Error::Class(v) => write!(f, "class/revision {v:#010x}: not an ivshmem device with an undefined protocol"),
            Error::NoCapabilities => write!(f, "the device has no capability list"),
            Error::NoVendorCapability => write!(f, "the device has no vendor-specific capability"),
            Error::NoBaseAddress(len) => write!(f, "vendor capability of length {len:#x} has no shared-memory base address"),
            Error::NoRegisterBar => write!(f, "BAR 0 is not implemented"),
            Error::BarAlignment { addr, size } => write!(f, "BAR 0 address {addr:#x} is not aligned to its size {size:#x}"),
            Error::Sections => write!(f, "the shared-memory sections are empty or overflow"),
        }
    }
}

/// The shared-memory sections as the device reports them (guest-physical addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections {
    pub state_table: u64,
    pub state_table_size: u32,
    /// The common read/write section.
    pub rw: u64,
    pub rw_size: u64,
    /// Output section of peer 0 (peer `n`'s is `n * output_size` above).
    pub output: u64,
    pub output_size: u64,
}

impl Sections {
    /// Peer `id`'s output section.
    pub const fn output_of(&self, id: u32) -> u64 {
        self.output + id as u64 * self.output_size
    }
}

/// A device found, its register BAR programmed and memory decoding on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub bdf: u16,
    /// Offset of the vendor capability in its configuration space.
    pub vendor_cap: u8,
    /// Where BAR 0 (the register region) now is, and its size.
    pub regs: u64,
    pub regs_size: u32,
    /// The INTx pin (1 = INTA; 0 with MSI-X).
    pub intx_pin: u8,
    pub sections: Sections,
}

/// Finds the first ivshmem function on bus 0 (an absent function reads all ones).
pub fn find(cs: &impl ConfigSpace) -> Result<u16, Error> {
    let want = (DEVICE_ID as u32) << 16 | VENDOR_ID as u32;
    // Bus 0's functions are bdf 0..=255.
    (0..=255u16).find(|&b| cs.read32(ecam_offset(b) + cfg::ID) == want).ok_or(Error::NotFound)
}

/// Offset of capability `id` in `bdf`'s list (a list that loops or runs into the header is
/// treated as ending there).
pub fn find_capability(cs: &impl ConfigSpace, bdf: u16, id: u8) -> Result<Option<u8>, Error> {
    let base = ecam_offset(bdf);
    if cs.read32(base + cfg::COMMAND) & cfg::STATUS_CAPS == 0 {
        return Err(Error::NoCapabilities);
    }
    let mut pos = (cs.read32(base + cfg::CAP_PTR) & 0xfc) as u8;
    // At most 48 capabilities fit between 0x40 and 0x100; more steps mean a loop.
    for _ in 0..48 {
        if pos < 0x40 {
            return Ok(None);
        }
        let head = cs.read32(base + pos as u32);
        if head as u8 == id {
            return Ok(Some(pos));
        }
        pos = ((head >> 8) & 0xfc) as u8;
    }
    Ok(None)
}

fn read64(cs: &impl ConfigSpace, off: u32) -> u64 {
    cs.read32(off) as u64 | (cs.read32(off + 4) as u64) << 32
}

/// The size of memory BAR `n` of `bdf`, by writing all ones and reading back which address bits
/// stick (the BAR's previous value is restored). 0 when the BAR is not implemented.
pub fn bar_size(cs: &mut impl ConfigSpace, bdf: u16, n: u32) -> u32 {
    let off = ecam_offset(bdf) + cfg::BAR0 + 4 * n;
    let old = cs.read32(off);
    cs.write32(off, u32::MAX);
    let mask = cs.read32(off) & !0xf;
    cs.write32(off, old);
    if mask == 0 {
        0
    } else {
        (!mask).wrapping_add(1)
    }
}

/// Checks that `bdf` is an ivshmem device speaking `protocol`, sizes and programs its register BAR
/// at `regs` (which must be aligned to the BAR's size), turns memory decoding on (INTx stays
/// enabled) and reads where its shared-memory sections are.
pub fn probe(cs: &mut impl ConfigSpace, bdf: u16, protocol: u16, regs: u64) -> Result<Device, Error> {
    let base = ecam_offset(bdf);
    let class_rev = cs.read32(base + cfg::CLASS_REV);
    if class_rev != ((CLASS_OTHER as u32) << 24 | (protocol as u32) << 8) {
        return Err(Error::Class(class_rev));
    }
    let cap = find_capability(cs, bdf, cfg::CAP_VENDOR)?.ok_or(Error::NoVendorCapability)?;
    let cap_off = base + cap as u32;
    let len = (cs.read32(cap_off) >> 16) as u8;
    if len < vndr::LEN_WITH_ADDRESS {
        return Err(Error::NoBaseAddress(len));
    }
    let state_table_size = cs.read32(cap_off + vndr::STATE_TABLE_SIZE);
    let rw_size = read64(cs, cap_off + vndr::RW_SIZE);
    let output_size = read64(cs, cap_off + vndr::OUTPUT_SIZE);
    let state_table = read64(cs, cap_off + vndr::BASE_ADDRESS);
    let rw = state_table.checked_add(state_table_size as u64).ok_or(Error::Sections)?;
    let output = rw.checked_add(rw_size).ok_or(Error::Sections)?;
    if state_table_size == 0 {
        return Err(Error::Sections);
    }
    let size = bar_size(cs, bdf, 0);
    if size == 0 {
        return Err(Error::NoRegisterBar);
    }
    if !regs.is_multiple_of(size as u64) || regs > u32::MAX as u64 {
        return Err(Error::BarAlignment { addr: regs, size });
    }
    cs.write32(base + cfg::BAR0, regs as u32);
    let cmd = cs.read32(base + cfg::COMMAND) & 0xffff;
    cs.write32(base + cfg::COMMAND, (cmd | cfg::CMD_MEM) & !cfg::CMD_INTX_OFF);
    let intx_pin = (cs.read32(base + cfg::INT) >> 8) as u8;
    Ok(Device {
        bdf,
        vendor_cap: cap,
        regs,
        regs_size: size,
        intx_pin,
        sections: Sections { state_table, state_table_size, rw, rw_size, output, output_size },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory model of the configuration space Jailhouse emulates for a cell: one ivshmem
    /// device at `bdf` (INTx, register BAR of 4 KiB, vendor capability at 0x40 with the base
    /// address), another vendor's device at 00:00.0, nothing elsewhere (all ones).
    struct Model {
        bdf: u16,
        cspace: [u32; 0x60 / 4],
        bar: [u32; 6],
        bar_mask: [u32; 6],
        other: [u32; 0x40 / 4],
        writes: usize,
    }

    const SHM: u64 = 0x2_41FF_F000;

    impl Model {
        fn new(bdf: u16) -> Model {
            let mut c = [0u32; 0x60 / 4];
            c[0] = (DEVICE_ID as u32) << 16 | VENDOR_ID as u32;
            c[1] = cfg::STATUS_CAPS;
            c[2] = (CLASS_OTHER as u32) << 24 | (PROTO_UNDEFINED as u32) << 8;
            c[0x2c / 4] = c[0];
            c[0x34 / 4] = 0x40;
            c[0x3c / 4] = (intx_pin(bdf) as u32) << 8;
            // Vendor cap: id 9, next 0 (MSI-X disabled, as Jailhouse does for INTx), length 0x20.
            c[0x40 / 4] = 0x20 << 16 | cfg::CAP_VENDOR as u32;
            c[0x44 / 4] = 0x1000;
            c[0x48 / 4] = 0x0100_1000;
            c[0x4c / 4] = 0;
            c[0x50 / 4] = 0;
            c[0x54 / 4] = 0;
            c[0x58 / 4] = SHM as u32;
            c[0x5c / 4] = (SHM >> 32) as u32;
            let mut other = [0u32; 0x40 / 4];
            other[0] = 0x1234_10ee;
            Model { bdf, cspace: c, bar: [0; 6], bar_mask: [0xffff_f000, 0, 0, 0, 0, 0], other, writes: 0 }
        }
    }

    impl ConfigSpace for Model {
        fn read32(&self, off: u32) -> u32 {
            assert_eq!(off % 4, 0, "aligned accesses only");
            let (f, reg) = ((off >> 12) as u16, (off & 0xfff) as usize);
            if f == 0 && self.bdf != 0 {
                return self.other.get(reg / 4).copied().unwrap_or(0);
            }
            if f != self.bdf {
                return u32::MAX;
            }
            match reg {
                0x10..=0x27 => self.bar[(reg - 0x10) / 4],
                0x30 => 0,
                _ => self.cspace.get(reg / 4).copied().unwrap_or(u32::MAX),
            }
        }
        fn write32(&mut self, off: u32, v: u32) {
            self.writes += 1;
            let (f, reg) = ((off >> 12) as u16, (off & 0xfff) as usize);
            assert_eq!(f, self.bdf, "writes only to the device found");
            match reg {
                0x10..=0x27 => {
                    let n = (reg - 0x10) / 4;
                    self.bar[n] = v & self.bar_mask[n];
                }
                // Command: only MEM, MASTER and INTX_OFF are writable; status is read-only.
                0x04 => {
                    let w = cfg::CMD_MEM | cfg::CMD_MASTER | cfg::CMD_INTX_OFF;
                    self.cspace[1] = (self.cspace[1] & !w) | (v & w);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn register_layout_and_doorbell_encoding_follow_the_specification() {
        assert_eq!((reg::ID, reg::MAX_PEERS, reg::INT_CONTROL, reg::DOORBELL, reg::STATE), (0, 4, 8, 0xc, 0x10));
        assert_eq!(doorbell(1, 0), 0x0001_0000);
        assert_eq!(doorbell(0xffff, 3), 0xffff_0003);
        assert_eq!(doorbell_fields(doorbell(7, 2)), (7, 2));
        assert_eq!((vndr::STATE_TABLE_SIZE, vndr::RW_SIZE, vndr::OUTPUT_SIZE, vndr::BASE_ADDRESS), (4, 8, 0x10, 0x18));
    }

    #[test]
    fn intx_follows_jailhouses_pin_rotation() {
        assert_eq!(intx_pin(bdf(0, 0, 0)), 1);
        assert_eq!(intx_pin(bdf(0, 1, 0)), 2);
        assert_eq!(intx_pin(bdf(0, 4, 0)), 1);
        // Mainline's ZCU102 Linux demo cell: vpci_irq_base 140-32, device 00:01.0 -> INTID 141.
        assert_eq!(intx_intid(140 - 32, intx_pin(bdf(0, 1, 0))), 141);
        assert_eq!(ecam_offset(bdf(0, 1, 0)), 0x8000);
        assert_eq!(ecam_offset(bdf(1, 0, 0)), 0x10_0000);
    }

    #[test]
    fn finds_probes_and_programs_the_device() {
        let mut m = Model::new(bdf(0, 1, 0));
        let b = find(&m).unwrap();
        assert_eq!(b, bdf(0, 1, 0));
        let d = probe(&mut m, b, PROTO_UNDEFINED, 0xE000_0000).unwrap();
        assert_eq!(d.regs_size, 0x1000);
        assert_eq!(d.vendor_cap, 0x40);
        assert_eq!(d.intx_pin, 2);
        assert_eq!(m.bar[0], 0xE000_0000, "BAR 0 programmed");
        assert_eq!(m.cspace[1] & 0xffff, cfg::CMD_MEM, "memory decoding on, INTx not disabled");
        let s = d.sections;
        assert_eq!((s.state_table, s.state_table_size), (SHM, 0x1000));
        assert_eq!((s.rw, s.rw_size), (SHM + 0x1000, 0x0100_1000));
        assert_eq!((s.output, s.output_size), (SHM + 0x0100_2000, 0));
        assert_eq!(s.output_of(1), s.output);
    }

    #[test]
    fn bar_sizing_restores_the_bar_and_reads_unimplemented_ones_as_zero() {
        let mut m = Model::new(bdf(0, 2, 0));
        m.bar[0] = 0xE000_0000;
        assert_eq!(bar_size(&mut m, bdf(0, 2, 0), 0), 0x1000);
        assert_eq!(m.bar[0], 0xE000_0000);
        assert_eq!(bar_size(&mut m, bdf(0, 2, 0), 1), 0, "no MSI-X BAR with INTx");
        m.bar_mask[0] = 0xffff_0000;
        assert_eq!(bar_size(&mut m, bdf(0, 2, 0), 0), 0x1_0000);
        assert_eq!(
            probe(&mut m, bdf(0, 2, 0), PROTO_UNDEFINED, 0xE000_1000),
            Err(Error::BarAlignment { addr: 0xE000_1000, size: 0x1_0000 })
        );
    }

    #[test]
    fn a_missing_or_different_device_is_refused_with_the_reason() {
        let mut m = Model::new(bdf(0, 1, 0));
        m.cspace[0] = 0x1111_2222;
        assert_eq!(find(&m), Err(Error::NotFound));
        let mut m = Model::new(bdf(0, 1, 0));
        assert_eq!(probe(&mut m, bdf(0, 1, 0), 0x0001, 0xE000_0000), Err(Error::Class(0xff00_0000)));
        m.cspace[1] = 0;
        assert_eq!(probe(&mut m, bdf(0, 1, 0), PROTO_UNDEFINED, 0xE000_0000), Err(Error::NoCapabilities));
        let mut m = Model::new(bdf(0, 1, 0));
        m.cspace[0x40 / 4] = 0x18 << 16 | cfg::CAP_VENDOR as u32;
        assert_eq!(probe(&mut m, bdf(0, 1, 0), PROTO_UNDEFINED, 0xE000_0000), Err(Error::NoBaseAddress(0x18)));
        let mut m = Model::new(bdf(0, 1, 0));
        m.bar_mask[0] = 0;
        assert_eq!(probe(&mut m, bdf(0, 1, 0), PROTO_UNDEFINED, 0xE000_0000), Err(Error::NoRegisterBar));
        let mut m = Model::new(bdf(0, 1, 0));
        m.cspace[0x44 / 4] = 0;
        assert_eq!(probe(&mut m, bdf(0, 1, 0), PROTO_UNDEFINED, 0xE000_0000), Err(Error::Sections));
        assert!(std::format!("{}", Error::NotFound).contains("110a:4106"));
    }

    #[test]
    fn the_capability_walk_follows_next_pointers_and_survives_loops() {
        let mut m = Model::new(bdf(0, 1, 0));
        // The list rebuilt as 0x34 -> 0x50 (MSI-X) -> 0x40 (vendor).
        m.cspace[0x34 / 4] = 0x50;
        m.cspace[0x50 / 4] = 0x40 << 8 | cfg::CAP_MSIX as u32;
        assert_eq!(find_capability(&m, bdf(0, 1, 0), cfg::CAP_VENDOR), Ok(Some(0x40)));
        assert_eq!(find_capability(&m, bdf(0, 1, 0), cfg::CAP_MSIX), Ok(Some(0x50)));
        assert_eq!(find_capability(&m, bdf(0, 1, 0), 0x05), Ok(None));
        // A list that points back at itself ends instead of spinning.
        m.cspace[0x40 / 4] = 0x20 << 16 | 0x50 << 8 | cfg::CAP_VENDOR as u32;
        assert_eq!(find_capability(&m, bdf(0, 1, 0), 0x05), Ok(None));
        assert_eq!(m.writes, 0, "walking writes nothing");
    }
}
