//! seL4 with the CAmkES VMM: one CAmkES application per matrix cell, with one VM component per
//! role (vm0 tx, vm1 rx, vm2 interf), each with one vCPU pinned to its core, and the cross-VM
//! connector between tx and rx: a dataport (the shared region) and an event tx emits and rx
//! consumes. Written for the artifact's tree, ESRGv3/sel4-camkes-vmm (seL4, CAmkES and the
//! CAmkES VMM in one checkout; docs/sel4.md), whose VM component has the attributes used here
//! (`linux_address_config`, `linux_image_config`, `vcpu_affinity`) and whose connector puts the
//! dataport in the page after the event page. Files (flat, in the application's directory):
//! - `ivcbench.camkes`: the assembly (components, connections, per-VM attributes);
//! - `devices.camkes`: the board part (VM RAM, image names, passthrough UARTs, GIC, cores);
//! - `crossvm.c`: the VMM module that sets the connection up at the view's event page with
//!   [`sel4::CROSSVM_IRQ`] (the tree's own helper takes the platform's first free interrupt);
//! - `vm_ram.c`: every VMM's RAM set-up: the VM's RAM backed by memory the VMM allocates, so that
//!   every VM sees its RAM at the same guest-physical range (the tree maps RAM one-to-one to
//!   physical memory on qemu-arm-virt and zynqmp, where three VMs cannot all sit at one range);
//! - `CMakeLists.txt`, `settings.cmake`: the application's build for the tree's `qemu-arm-virt`
//!   platform (the QEMU testbed) or its `zynqmp` platform (board zcu102; seL4 has no ZCU104 platform; the
//!   ZCU104 has the same MPSoC).
//!
//! Supported cells: the base and `+interf` cells of notif and transfer, as the artifact ran them.
//! The CAmkES VMM has no cache colouring, so `+col` and `+hypcol` are refused.

use super::{System, Vm};
use anyhow::{bail, Result};
use ivc_proto::params::Role;
use ivc_proto::platform::Gic;
use ivc_proto::vm::sel4;
use std::fmt::Write;

/// What each VM gets from the untyped pool of 16 MiB objects: its RAM, plus one for the VMM.
fn untyped24(vm: &Vm) -> u64 {
    vm.ram.size.div_ceil(16 << 20) + 1
}

/// Where the VMM puts the DTB it generates (the guest ignores it): the last MiB of the VM's
/// RAM, clear of the image and of the interference buffer (check() makes sure).
pub fn dtb_addr(vm: &Vm) -> u64 {
    vm.ram.end() - 0x10_0000
}

/// The seL4 platform (`init-build.sh -DPLATFORM=`) that runs the cell's board, as the tree names
/// it: `qemu-arm-virt`, or `zynqmp` (its board `zcu102`, the default; the tree's
/// zynqmp-instructions.md builds with `-DPLATFORM=zynqmp`), also accepted as `zcu102`.
pub fn platform(sys: &System) -> &'static str {
    if sys.board.name == "qemu-virt" {
        "qemu-arm-virt"
    } else {
        "zynqmp;zcu102"
    }
}

/// The DT path of the board's UART at `base` in seL4's device tree of the platform, for the
/// passthrough list (QEMU's DT names them `pl011@…`; the ZynqMP's sit under `/amba`).
fn uart_path(sys: &System, base: u64) -> String {
    if sys.board.name == "qemu-virt" {
        format!("/pl011@{base:x}")
    } else {
        format!("/amba/serial@{base:x}")
    }
}

/// The checks and refusals of this backend.
pub fn check(sys: &System) -> Result<()> {
    let s = sys.config.suffix;
    if s.col {
        bail!(
            "{}: the CAmkES VMM has no cache colouring, so sel4{} would run uncoloured under a coloured name; \
             seL4 supports the base and +interf cells (the artifact ran those only)",
            sys.config,
            s
        );
    }
    let ev = sel4::event_page(&sys.view);
    for vm in &sys.vms {
        if vm.ram.end() > ev {
            bail!("{}'s RAM {} runs into the connector's event page at {ev:#x}", vm.role.name(), vm.ram);
        }
        // The tree's VMM loads a raw image at the start of the VM's RAM and enters it there.
        if vm.entry != vm.ram.base {
            bail!("{}'s image is entered at {:#x}, but the VMM enters it at the start of its RAM {}", vm.role.name(), vm.entry, vm.ram);
        }
        let d = dtb_addr(vm);
        if d < vm.entry + 0x10_0000 || (vm.role == Role::Interf && d < sys.interf_buffer.end()) {
            bail!("{}'s DTB at {d:#x} would overlap its image or buffer", vm.role.name());
        }
    }
    if sys.shmem.base != sel4::connection(ev, 0).1 || sys.shmem.size > sel4::DATAPORT_SIZE {
        bail!("the shared region {} is not the connector's dataport at {:#x}", sys.shmem, sel4::connection(ev, 0).1);
    }
    if !matches!(sys.view.gic, Gic::V2 { .. }) {
        bail!("the CAmkES VMM emulates a GICv2 only, but the VMs would see {:?}", sys.view.gic);
    }
    Ok(())
}

/// `ivcbench.camkes`.
pub fn assembly(sys: &System) -> String {
    let mut s = String::new();
    let w = &mut s;
    let interf = sys.vms.iter().any(|v| v.role == Role::Interf);
    let _ = writeln!(
        w,
        "/* ivcbench cell {} on {} under seL4's CAmkES VMM: vm0 tx, vm1 rx{}.",
        sys.config,
        sys.board.name,
        if interf { ", vm2 interf" } else { "" }
    );
    let _ = writeln!(w, " * Generated by `ivcbench config --hypervisor sel4`; regenerate rather than edit. */\n");
    let _ = writeln!(w, "#include <configurations/vm.h>\n");
    for i in [
        "std_connector.camkes",
        "global-connectors.camkes",
        "seL4VMDTBPassthrough.idl4",
        "FileServerInterface.camkes",
        "FileServer/FileServer.camkes",
        // VM_INIT_DEF's optional interfaces (Batch, PutChar, GetChar) come from these.
        "SerialServer/SerialServer.camkes",
        "TimeServer/TimeServer.camkes",
        "vm-connectors.camkes",
        "devices.camkes",
    ] {
        let _ = writeln!(w, "import <{i}>;");
    }
    let _ = writeln!(w, "\n/* tx and rx: the cross-VM dataport, and the doorbell event (tx emits, rx consumes; the");
    let _ = writeln!(w, " * reverse direction is connected only so that no interface is left open). */");
    let _ = writeln!(w, "component VM {{");
    let _ = writeln!(w, "    VM_INIT_DEF()");
    let _ = writeln!(w, "    dataport Buf({:#x}) crossvm_dp_0;", sel4::DATAPORT_SIZE);
    let _ = writeln!(w, "    emits Doorbell doorbell_out;");
    let _ = writeln!(w, "    consumes Doorbell doorbell_in;");
    let _ = writeln!(w, "}}\n");
    if interf {
        let _ = writeln!(w, "/* The interferer: a VM without the connector. */");
        let _ = writeln!(w, "component VMNoComm {{\n    VM_INIT_DEF()\n}}\n");
    }
    let _ = writeln!(w, "assembly {{");
    let _ = writeln!(w, "    composition {{");
    let _ = writeln!(w, "        VM_GENERAL_COMPOSITION_DEF()");
    for (i, vm) in sys.vms.iter().enumerate() {
        if vm.shmem {
            let _ = writeln!(w, "        VM_COMPOSITION_DEF({i})");
        } else {
            let _ = writeln!(w, "        component VMNoComm vm{i};");
            let _ = writeln!(w, "        VM_COMPONENT_CONNECTIONS_DEF({i})");
        }
        let _ = writeln!(w, "        connection seL4VMDTBPassthrough vm{i}_dtb(from vm{i}.dtb_self, to vm{i}.dtb);");
    }
    let _ = writeln!(w, "        connection seL4SharedDataWithCaps ivc_shmem(from vm0.crossvm_dp_0, to vm1.crossvm_dp_0);");
    let _ = writeln!(w, "        connection seL4GlobalAsynch ivc_doorbell(from vm0.doorbell_out, to vm1.doorbell_in);");
    let _ = writeln!(w, "        connection seL4GlobalAsynch ivc_unused(from vm1.doorbell_out, to vm0.doorbell_in);");
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "    configuration {{");
    let _ = writeln!(w, "        VM_GENERAL_CONFIGURATION_DEF()");
    // The connector's size comes from the connection, not from the Buf type (4 KiB by default).
    let _ = writeln!(w, "        ivc_shmem.size = {:#x};", sel4::DATAPORT_SIZE);
    for (i, vm) in sys.vms.iter().enumerate() {
        let _ = writeln!(w, "        VM_CONFIGURATION_DEF({i})");
        let _ = writeln!(w, "        vm{i}.num_extra_frame_caps = 0;");
        let _ = writeln!(w, "        vm{i}.extra_frame_map_address = 0;");
        let _ = writeln!(w, "        vm{i}.cnode_size_bits = 20;");
        let _ = writeln!(w, "        vm{i}.simple_untyped24_pool = {};", untyped24(vm));
    }
    let _ = writeln!(w, "    }}");
    let _ = writeln!(w, "}}");
    s
}

/// `devices.camkes`: each VM's RAM, image, core, passthrough UART and GIC CPU interface.
pub fn devices(sys: &System) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "/* The board part of the ivcbench cell {} on {} (seL4 platform {}). Generated. */\n",
        sys.config,
        sys.board.name,
        platform(sys)
    );
    let _ = writeln!(w, "#include <configurations/vm.h>\n");
    let _ = writeln!(w, "assembly {{\n    composition {{}}\n    configuration {{");
    let gicv = sel4::gicv(sys.board);
    for (i, vm) in sys.vms.iter().enumerate() {
        let r = vm.role.name();
        let _ = writeln!(
            w,
            "        /* {r}: RAM at the same guest-physical range in every VM, backed by memory its VMM allocates \
             (vm_ram.c); the raw image is loaded and entered at its start. */"
        );
        let _ = writeln!(w, "        vm{i}.linux_address_config = {{");
        let _ = writeln!(w, "            \"linux_ram_base\" : \"{:#x}\",", vm.ram.base);
        let _ = writeln!(w, "            \"linux_ram_paddr_base\" : \"{:#x}\",", vm.ram.base);
        let _ = writeln!(w, "            \"linux_ram_size\" : \"{:#x}\",", vm.ram.size);
        let _ = writeln!(w, "            \"linux_ram_offset\" : \"0x0\",");
        let _ = writeln!(w, "            \"dtb_addr\" : \"{:#x}\",", dtb_addr(vm));
        let _ = writeln!(w, "            \"initrd_max_size\" : \"0x0\",");
        let _ = writeln!(w, "            \"initrd_addr\" : \"0x0\"");
        let _ = writeln!(w, "        }};");
        let _ = writeln!(w, "        vm{i}.linux_image_config = {{");
        let _ = writeln!(w, "            \"linux_name\" : \"{r}\",");
        let _ = writeln!(w, "            \"dtb_name\" : \"\",");
        let _ = writeln!(w, "            \"initrd_name\" : \"\",");
        let _ = writeln!(w, "            \"linux_bootcmdline\" : \"\",");
        let _ = writeln!(w, "            \"linux_stdout\" : \"\"");
        let _ = writeln!(w, "        }};");
        let _ = writeln!(w, "        vm{i}.num_vcpus = 1;");
        // The vCPU and the VMM's threads on the VM's core.
        let _ = writeln!(w, "        vm{i}.vcpu_affinity = [{}];", vm.core);
        let _ = writeln!(w, "        vm{i}.affinity = {};", vm.core);
        let paths: Vec<String> = vm.devices.iter().map(|d| format!("{{\"path\": \"{}\"}}", uart_path(sys, d.region.base))).collect();
        let _ = writeln!(w, "        vm{i}.dtb = dtb([{}]);", if paths.is_empty() { "{}".to_string() } else { paths.join(", ") });
        // A frame (not an untyped) so that every VMM can map the one GICV page.
        let _ = writeln!(w, "        vm{i}.mmios = [\"{gicv:#x}:0x1000:12\"]; // GIC virtual CPU interface (the VM's GICC)\n");
    }
    let _ = writeln!(w, "    }}\n}}");
    s
}

/// The interrupt the tree's connector library is given, registers and would inject: one no guest
/// enables. The generated module injects [`sel4::CROSSVM_IRQ`] itself (see [`crossvm_c`]).
pub const CONNECTOR_LIBRARY_IRQ: u32 = sel4::CROSSVM_IRQ + 1;

/// `crossvm.c`: the VMM module of tx's and rx's VMM that sets the connection up.
///
/// It injects the doorbell itself rather than through the connector library: the tree's vGIC
/// drops an injection of an interrupt it still holds pending, and it holds it until the guest's
/// EOI, so a doorbell rung while rx is still in the handler of the previous one was lost (found
/// running transfer in interrupt mode with 4 KiB chunks, where tx rings again as soon as rx has
/// acknowledged). The module keeps such a doorbell and injects it at rx's EOI.
pub fn crossvm_c(sys: &System) -> String {
    let ev = sel4::event_page(&sys.view);
    format!(
        r#"/* ivcbench: the cross-VM connection of tx (vm0) and rx (vm1), set up by their VMMs at boot.
 * The event page is mapped at {ev:#x} and the dataport in the pages after it, at {dp:#x}; an event
 * from the peer is injected as INTID {irq}. The tree's cross_vm_connections_init() would take the
 * platform's first free interrupt; this module passes ivcbench's own on every board.
 *
 * The vGIC ignores an injection while the interrupt is still pending from the last one (until the
 * guest's EOI), so an event that arrives then is kept and injected at the EOI: no doorbell is lost.
 * The connector library gets an interrupt of its own ({lib_irq}, never injected) so that this
 * module can register {irq} with its EOI callback. Generated by `ivcbench config --hypervisor sel4`. */

#include <camkes.h>
#include <vmlinux.h>
#include <sel4vm/guest_vm.h>
#include <sel4vm/guest_irq_controller.h>
#include <sel4vm/boot.h>
#include <sel4vmmplatsupport/drivers/cross_vm_connection.h>
#include <sel4vmmplatsupport/drivers/pci_helper.h>

#define IVCBENCH_CONNECTION_BASE {ev:#x}
#define IVCBENCH_CROSSVM_IRQ {irq}
#define IVCBENCH_CONNECTOR_LIBRARY_IRQ {lib_irq}

extern dataport_caps_handle_t crossvm_dp_0_handle;
extern vmm_pci_space_t *pci;
extern seL4_Word doorbell_in_notification_badge(void);

static crossvm_dataport_handle_t ivcbench_dataport;
static crossvm_handle_t ivcbench_connection[1];
static vm_vcpu_t *ivcbench_vcpu;
/* Only this VMM's thread touches these (events and EOIs are both handled on it). */
static int ivcbench_in_flight;
static int ivcbench_owed;

static int ivcbench_library_irq(void)
{{
    return IVCBENCH_CONNECTOR_LIBRARY_IRQ;
}}

static void ivcbench_inject(void)
{{
    ivcbench_in_flight = 1;
    if (vm_inject_irq(ivcbench_vcpu, IVCBENCH_CROSSVM_IRQ)) {{
        /* Not enabled yet by the guest: dropped, as the library would. */
        ivcbench_in_flight = 0;
    }}
}}

static void ivcbench_eoi(vm_vcpu_t *vcpu, int irq, void *cookie)
{{
    ivcbench_in_flight = 0;
    if (ivcbench_owed) {{
        ivcbench_owed = 0;
        ivcbench_inject();
    }}
}}

static int ivcbench_on_event(vm_t *vm, void *cookie)
{{
    /* Counts the event in the event page (the guest clears the count). */
    consume_connection_event(vm, ivcbench_connection[0].consume_id, false);
    if (ivcbench_in_flight) {{
        ivcbench_owed = 1;
    }} else {{
        ivcbench_inject();
    }}
    return 0;
}}

static void ivcbench_crossvm_init(vm_t *vm, void *cookie)
{{
    ivcbench_vcpu = vm->vcpus[BOOT_VCPU];
    ivcbench_dataport.size = crossvm_dp_0_handle.get_size();
    ivcbench_dataport.num_frames = crossvm_dp_0_handle.get_num_frame_caps();
    ivcbench_dataport.frames = crossvm_dp_0_handle.get_frame_caps();
    ivcbench_connection[0].dataport = &ivcbench_dataport;
    ivcbench_connection[0].emit_fn = doorbell_out_emit;
    ivcbench_connection[0].consume_id = doorbell_in_notification_badge();
    ivcbench_connection[0].connection_name = "{name}";
    int err = vm_register_irq(ivcbench_vcpu, IVCBENCH_CROSSVM_IRQ, ivcbench_eoi, NULL);
    ZF_LOGF_IF(err, "ivcbench: cannot register the doorbell's interrupt");
    err = register_async_event_handler(ivcbench_connection[0].consume_id, ivcbench_on_event, NULL);
    ZF_LOGF_IF(err, "ivcbench: cannot register the doorbell's event handler");
    err = cross_vm_connections_init_common(vm, IVCBENCH_CONNECTION_BASE, ivcbench_connection, 1, pci, ivcbench_library_irq);
    ZF_LOGF_IF(err, "ivcbench: cannot set up the cross-VM connection");
}}

DEFINE_MODULE(ivcbench_crossvm, NULL, ivcbench_crossvm_init)
"#,
        dp = sel4::connection(ev, 0).1,
        irq = sel4::CROSSVM_IRQ,
        lib_irq = CONNECTOR_LIBRARY_IRQ,
        name = sel4::CONNECTION_NAME,
    )
}

/// `vm_ram.c`: replaces the tree's weak init_ram_module (one-to-one RAM on qemu-arm-virt and
/// zynqmp) in every VMM of the cell.
pub fn vm_ram_c(sys: &System) -> String {
    format!(
        r#"/* ivcbench cell {} on {}: each VM's RAM ({}, the same guest-physical range in every VM) backed
 * by memory its VMM allocates rather than by the physical memory at that address (the tree's
 * default on qemu-arm-virt and zynqmp, where the VMs' ranges would collide).
 * Generated by `ivcbench config --hypervisor sel4`. */

#include <autoconf.h>
#include <sel4vm/guest_vm.h>
#include <sel4vm/guest_ram.h>
#include <utils/util.h>

extern unsigned long linux_ram_base;
extern unsigned long linux_ram_size;

void init_ram_module(vm_t *vm, void *cookie)
{{
    int err = vm_ram_register_at(vm, linux_ram_base, linux_ram_size, false);
    ZF_LOGF_IF(err, "ivcbench: cannot set up the VM's RAM");
}}
"#,
        sys.config, sys.board.name, sys.vms[0].ram
    )
}

/// `CMakeLists.txt`.
pub fn cmakelists(sys: &System) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# ivcbench cell {} on {} under seL4's CAmkES VMM. Generated by `ivcbench config`.", sys.config, sys.board.name);
    let _ =
        writeln!(w, "# Build in the artifact's tree (ESRGv3/sel4-camkes-vmm): see docs/sel4.md.\ncmake_minimum_required(VERSION 3.8.2)\n");
    let _ = writeln!(w, "project(ivcbench-{} C)\n", sys.config.to_string().replace('+', "-"));
    let _ = writeln!(w, "include(${{CAMKES_ARM_VM_HELPERS_PATH}})\n");
    for vm in &sys.vms {
        let r = vm.role.name();
        let _ = writeln!(w, "AddToFileServer(\"{r}\" \"${{CMAKE_CURRENT_SOURCE_DIR}}/images/{r}.bin\")");
    }
    let _ = writeln!(w, "\nDefineCAmkESVMFileServer()");
    let _ = writeln!(w, "CAmkESAddImportPath(${{CMAKE_CURRENT_SOURCE_DIR}})\n");
    let _ = writeln!(w, "# tx's and rx's VMM carry the connector module; every VMM the RAM set-up.");
    let _ = writeln!(w, "DeclareCAmkESComponent(VM SOURCES crossvm.c vm_ram.c)");
    if sys.vms.iter().any(|v| !v.shmem) {
        let _ = writeln!(w, "# The interferer's VMM: the tree's VM component without the connector.");
        let _ = writeln!(w, "DeclareCAmkESComponent(VMNoComm SOURCES vm_ram.c)");
    }
    let _ = writeln!(w, "\nDeclareCAmkESRootserver(ivcbench.camkes CPP_INCLUDES ${{CAMKES_VM_DIR}}/components/VM_Arm)");
    s
}

/// `settings.cmake`.
pub fn settings(sys: &System) -> String {
    let p = platform(sys);
    let mut s = format!(
        "# ivcbench cell {} on {}: build settings. Generated by `ivcbench config`.\n\
         set(supported \"{p}\")\n\
         if(NOT \"${{PLATFORM}}\" IN_LIST supported)\n    message(FATAL_ERROR \"PLATFORM: ${{PLATFORM}}: this cell was generated for {}, whose seL4 platform is {p}\")\nendif()\n\
         # One core per VM; the VMs' vCPUs are pinned. The tree sets KernelMaxNumNodes from NUM_NODES\n\
         # after reading this file (and to 1 without it).\nset(NUM_NODES 4 CACHE STRING \"\" FORCE)\n\
         # The connector registers a virtual PCI device in each VMM.\nset(VmPCISupport ON CACHE BOOL \"\" FORCE)\n\
         # Every vCPU keeps a zero virtual offset, so tx and rx read one counter (a one-way figure).\n\
         set(KernelArmVtimerUpdateVOffset OFF CACHE BOOL \"\" FORCE)\n\
         # The counters readable at user level, as the artifact built it (the tree's loader reads them).\n\
         set(KernelArmExportPCNTUser ON CACHE BOOL \"\" FORCE)\nset(KernelArmExportVCNTUser ON CACHE BOOL \"\" FORCE)\n\
         set(LibUSB OFF CACHE BOOL \"\" FORCE)\n\
         set(VmInitRdFile OFF CACHE BOOL \"\" FORCE)\n",
        sys.config, sys.board.name, sys.board.name
    );
    if p == "qemu-arm-virt" {
        s.push_str("# QEMU: four Cortex-A53s, 2 GiB (seL4's DTB is QEMU's own for this machine).\nset(QEMU_MEMORY \"2048\")\nset(KernelArmCPU cortex-a53 CACHE STRING \"\" FORCE)\n");
    }
    s
}

/// Every file of one cell.
pub fn files(sys: &System) -> Result<Vec<(&'static str, String)>> {
    check(sys)?;
    Ok(vec![
        ("ivcbench.camkes", assembly(sys)),
        ("devices.camkes", devices(sys)),
        ("crossvm.c", crossvm_c(sys)),
        ("CMakeLists.txt", cmakelists(sys)),
        ("settings.cmake", settings(sys)),
        ("vm_ram.c", vm_ram_c(sys)),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::{matrix, System};
    use super::*;
    use crate::names::{Configuration, Hypervisor};
    use ivc_proto::platform::{Platform, QEMU_VIRT, ZCU102, ZCU104};
    use std::path::Path;

    fn sys(p: &'static Platform, c: &str) -> System {
        let s = System::new(Hypervisor::Sel4, p, Configuration::parse(c).unwrap(), Path::new("images")).unwrap();
        s.check().unwrap();
        s
    }

    /// Values of `key = value;` lines.
    fn attr<'a>(t: &'a str, key: &str) -> Vec<&'a str> {
        let k = format!("{key} = ");
        t.lines().filter_map(|l| l.trim().strip_prefix(k.as_str())).map(|v| v.trim_end_matches(';')).collect()
    }

    #[test]
    fn every_supported_cell_is_generated_and_consistent_on_every_platform() {
        for p in [&QEMU_VIRT, &ZCU104, &ZCU102] {
            for cell in matrix().into_iter().filter(|c| !c.suffix.col) {
                let s = sys(p, &cell.to_string());
                let f = files(&s).unwrap_or_else(|e| panic!("{e:#}"));
                let n = s.vms.len();
                assert_eq!(n, if cell.suffix.interf { 3 } else { 2 });
                let file = |name: &str| &f.iter().find(|(n, _)| *n == name).unwrap().1;
                let (asm, dev, c, cm, st, ram) = (
                    file("ivcbench.camkes"),
                    file("devices.camkes"),
                    file("crossvm.c"),
                    file("CMakeLists.txt"),
                    file("settings.cmake"),
                    file("vm_ram.c"),
                );
                for (name, t) in &f {
                    assert_eq!(t.matches('{').count(), t.matches('}').count(), "{name} braces");
                    assert_eq!(t.matches('(').count(), t.matches(')').count(), "{name} parentheses");
                    assert_eq!(t.matches('[').count(), t.matches(']').count(), "{name} brackets");
                }
                // One VM per role, each with one vCPU pinned to its own core, the VMM with it.
                for i in 0..n {
                    assert_eq!(asm.matches(&format!("VM_CONFIGURATION_DEF({i})")).count(), 1);
                    assert_eq!(attr(dev, &format!("vm{i}.num_vcpus")), ["1"]);
                    assert_eq!(attr(dev, &format!("vm{i}.vcpu_affinity")), [format!("[{}]", s.vms[i].core)]);
                }
                let cores: Vec<&str> = (0..n).flat_map(|i| attr(dev, &format!("vm{i}.affinity"))).collect();
                let want: Vec<String> = s.vms.iter().map(|v| v.core.to_string()).collect();
                assert_eq!(cores, want);
                assert_eq!(cores.iter().collect::<std::collections::BTreeSet<_>>().len(), n, "cores disjoint");
                // Memory: every VM's RAM as the image is linked, the image entered at its start
                // (where the tree's VMM enters a raw image), below the event page; RAM the VMM
                // allocates, in every VMM (vm_ram.c in every component).
                assert_eq!(dev.matches(&format!("\"linux_ram_base\" : \"{:#x}\"", s.view.vm_ram.0)).count(), n);
                assert_eq!(dev.matches(&format!("\"linux_ram_size\" : \"{:#x}\"", s.view.vm_ram.1)).count(), n);
                assert_eq!(s.view.load_addr, s.view.vm_ram.0);
                assert!(s.view.vm_ram.0 + s.view.vm_ram.1 <= sel4::event_page(&s.view));
                assert!(ram.contains("vm_ram_register_at(vm, linux_ram_base, linux_ram_size, false)"));
                assert!(cm.contains("DeclareCAmkESComponent(VM SOURCES crossvm.c vm_ram.c)"));
                assert_eq!(cm.contains("DeclareCAmkESComponent(VMNoComm SOURCES vm_ram.c)"), n == 3);
                // Each image under its role's name, which the VMM loads.
                for (i, vm) in s.vms.iter().enumerate() {
                    let r = vm.role.name();
                    assert!(cm.contains(&format!("AddToFileServer(\"{r}\" \"${{CMAKE_CURRENT_SOURCE_DIR}}/images/{r}.bin\")")));
                    let block = &dev[dev.find(&format!("vm{i}.linux_image_config")).unwrap()..];
                    assert!(block[..block.find("};").unwrap()].contains(&format!("\"linux_name\" : \"{r}\"")));
                }
                // The connector: one dataport shared by tx and rx, sized to hold the shared region,
                // set up at the event page the guest expects, with the interrupt rx enables.
                assert!(asm.contains("connection seL4SharedDataWithCaps ivc_shmem(from vm0.crossvm_dp_0, to vm1.crossvm_dp_0);"));
                assert!(asm.contains(&format!("dataport Buf({:#x}) crossvm_dp_0;", sel4::DATAPORT_SIZE)));
                // seL4SharedDataWithCaps sizes the dataport from the connection (4 KiB otherwise:
                // found building it).
                assert_eq!(attr(asm, "ivc_shmem.size"), [format!("{:#x}", sel4::DATAPORT_SIZE)]);
                assert!(sel4::DATAPORT_SIZE >= ivc_proto::layout::SHMEM_SIZE as u64);
                assert!(asm.contains("ivc_doorbell(from vm0.doorbell_out, to vm1.doorbell_in)"));
                assert!(c.contains(&format!("#define IVCBENCH_CONNECTION_BASE {:#x}", sel4::event_page(&s.view))));
                assert_eq!(sel4::connection(sel4::event_page(&s.view), 0).1, s.view.shmem_base);
                assert!(c.contains(&format!("#define IVCBENCH_CROSSVM_IRQ {}", s.vms[1].doorbell_irq.unwrap())));
                assert!(c.contains(&format!("\"{}\"", sel4::CONNECTION_NAME)));
                // The doorbell is injected by the module, which keeps one that arrives while the
                // last is still pending and injects it at rx's EOI (the tree's vGIC drops it: found
                // running transfer with 4 KiB chunks in interrupt mode); the library gets an
                // interrupt of its own that it never injects.
                assert!(c.contains("vm_register_irq(ivcbench_vcpu, IVCBENCH_CROSSVM_IRQ, ivcbench_eoi, NULL)"));
                assert!(c.contains("consume_connection_event(vm, ivcbench_connection[0].consume_id, false);"));
                assert!(!c.contains("consume_id, true)"));
                let eoi = &c[c.find("static void ivcbench_eoi").unwrap()..];
                assert!(eoi[..eoi.find("\n}").unwrap()].contains("ivcbench_inject();"));
                let on_event = &c[c.find("static int ivcbench_on_event").unwrap()..];
                assert!(on_event[..on_event.find("\n}").unwrap()].contains("ivcbench_owed = 1;"));
                assert!(c.contains(&format!("#define IVCBENCH_CONNECTOR_LIBRARY_IRQ {CONNECTOR_LIBRARY_IRQ}")));
                assert_ne!(CONNECTOR_LIBRARY_IRQ, sel4::CROSSVM_IRQ);
                assert!(s.vms.iter().all(|v| v.irqs.iter().chain(v.doorbell_irq.iter()).all(|&i| i != CONNECTOR_LIBRARY_IRQ)));
                // The GIC: a GICv2 whose CPU interface is the GICV page every VMM maps.
                assert!(matches!(s.view.gic, ivc_proto::platform::Gic::V2 { .. }));
                assert_eq!(dev.matches(&format!("mmios = [\"{:#x}:0x1000:12\"]", sel4::gicv(p))).count(), n);
                // UARTs: tx the first, rx the second, interf none; named as in seL4's DT.
                let (u0, u1) = if p.name == "qemu-virt" {
                    ("/pl011@9000000", "/pl011@9040000")
                } else {
                    ("/amba/serial@ff000000", "/amba/serial@ff010000")
                };
                assert!(dev.contains(&format!("vm0.dtb = dtb([{{\"path\": \"{u0}\"}}]);")));
                assert!(dev.contains(&format!("vm1.dtb = dtb([{{\"path\": \"{u1}\"}}]);")));
                assert_eq!(asm.contains("component VMNoComm vm2;"), n == 3);
                // The build for the board's seL4 platform, with the counters the one-way figure needs.
                assert!(
                    st.contains(&format!("set(supported \"{}\")", if p.name == "qemu-virt" { "qemu-arm-virt" } else { "zynqmp;zcu102" }))
                );
                for o in ["KernelArmVtimerUpdateVOffset OFF", "KernelArmExportPCNTUser ON", "KernelArmExportVCNTUser ON"] {
                    assert!(st.contains(o), "{o}");
                }
                // Four cores, through NUM_NODES: the tree forces KernelMaxNumNodes from it after
                // reading settings.cmake, to 1 without it (found running it: all VMs on core 0).
                assert!(st.contains("set(NUM_NODES 4 CACHE STRING \"\" FORCE)"), "{st}");
                assert!(!st.contains("set(KernelMaxNumNodes"), "{st}");
                assert_eq!(st.contains("QEMU_MEMORY \"2048\""), p.name == "qemu-virt");
            }
        }
    }

    #[test]
    fn refused_cells_say_why() {
        for p in [&QEMU_VIRT, &ZCU104] {
            for c in ["notif+col", "notif+interf+col", "notif+interf+col+hypcol"] {
                let e = files(&sys(p, c)).unwrap_err().to_string();
                assert!(e.contains("the CAmkES VMM has no cache colouring") && e.contains("base and +interf"), "{e}");
            }
        }
    }

    #[test]
    fn an_overlapping_description_is_rejected() {
        let mut s = sys(&ZCU104, "notif");
        s.vms[0].ram.size = sel4::event_page(&s.view) + 0x1000 - s.vms[0].ram.base;
        assert!(check(&s).unwrap_err().to_string().contains("runs into the connector's event page"));
        let mut s = sys(&ZCU104, "notif");
        s.shmem.base += 0x1000;
        assert!(check(&s).unwrap_err().to_string().contains("is not the connector's dataport"));
        let mut s = sys(&QEMU_VIRT, "notif");
        s.vms[1].entry += 0x8_0000;
        assert!(check(&s).unwrap_err().to_string().contains("the VMM enters it at the start of its RAM"));
        let mut s = sys(&QEMU_VIRT, "notif");
        s.view.gic = QEMU_VIRT.gic;
        assert!(check(&s).unwrap_err().to_string().contains("emulates a GICv2 only"));
    }
}
