//! The names users type and files carry: hypervisors, experiments, configurations, capture paths.

use anyhow::{bail, Result};
use ivc_proto::params::Experiment;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Hypervisor {
    /// No hypervisor: tx, rx and the interferer on cores of one bare-metal image (the floor).
    Baremetal,
    /// Bao: one VM per role, the IPC hypercall and shared-memory object (configs by `ivcbench config`;
    /// on the QEMU testbed with a bao.bin you build, `--bao`).
    Bao,
    /// Xen, dom0less: on the QEMU testbed, Xen 4.17 built from Debian's source with every domain pinned (another with --xen).
    Xen,
    /// Jailhouse: non-root cells with an ivshmem device (boards only; configs by `ivcbench config`).
    Jailhouse,
    /// seL4 with the CAmkES VMM: the cross-VM connector (boards only; configs by `ivcbench config`).
    Sel4,
}

impl Hypervisor {
    pub const ALL: [Hypervisor; 5] = [Hypervisor::Baremetal, Hypervisor::Bao, Hypervisor::Xen, Hypervisor::Jailhouse, Hypervisor::Sel4];

    pub fn name(self) -> &'static str {
        match self {
            Hypervisor::Baremetal => "baremetal",
            Hypervisor::Bao => "bao",
            Hypervisor::Xen => "xen",
            Hypervisor::Jailhouse => "jailhouse",
            Hypervisor::Sel4 => "sel4",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == s)
    }
}

impl fmt::Display for Hypervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a configuration suffix adds to the base setup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Suffix {
    /// `+interf`: an interference VM on its own core.
    pub interf: bool,
    /// `+col`: disjoint cache colours for the VMs.
    pub col: bool,
    /// `+hypcol`: the hypervisor's own memory coloured too.
    pub hypcol: bool,
}

impl Suffix {
    /// The suffixes the seed defines, in its order.
    pub const ALL: [Suffix; 5] = [
        Suffix { interf: false, col: false, hypcol: false },
        Suffix { interf: false, col: true, hypcol: false },
        Suffix { interf: true, col: false, hypcol: false },
        Suffix { interf: true, col: true, hypcol: false },
        Suffix { interf: true, col: true, hypcol: true },
    ];

    /// Parses `+interf+col` (and the artifact's `interf-col` spelling).
    pub fn parse(s: &str) -> Result<Suffix> {
        let mut x = Suffix::default();
        for part in s.split(['+', '-']).filter(|p| !p.is_empty()) {
            match part {
                "interf" => x.interf = true,
                "col" => x.col = true,
                "hypcol" => x.hypcol = true,
                _ => bail!("unknown configuration part `{part}` in `{s}` (known: +interf, +col, +hypcol)"),
            }
        }
        if x.hypcol && !x.col {
            bail!("`+hypcol` colours the hypervisor next to coloured VMs: use `+interf+col+hypcol`");
        }
        Ok(x)
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.interf {
            f.write_str("+interf")?;
        }
        if self.col {
            f.write_str("+col")?;
        }
        if self.hypcol {
            f.write_str("+hypcol")?;
        }
        Ok(())
    }
}

/// An experiment with its configuration suffix, as typed: `notif`, `notif+interf`, `transfer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Configuration {
    pub experiment: Experiment,
    pub suffix: Suffix,
}

impl Configuration {
    pub fn parse(s: &str) -> Result<Configuration> {
        let (exp, rest) = match s.find(['+', '-']) {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        let Some(experiment) = Experiment::from_name(exp) else {
            bail!("unknown experiment `{exp}` (known: notif, transfer; e.g. `notif+interf`)");
        };
        let suffix = Suffix::parse(rest)?;
        if experiment == Experiment::Transfer && suffix.col {
            bail!("the transfer experiment has the configurations `transfer` and `transfer+interf` only");
        }
        Ok(Configuration { experiment, suffix })
    }

    /// Where the capture of this configuration on `hyp` lives under `root` (experiments/comm).
    pub fn capture_path(&self, root: &Path, hyp: Hypervisor) -> PathBuf {
        root.join(self.experiment.name()).join(format!("{}{}", hyp.name(), self.suffix))
    }
}

impl fmt::Display for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.experiment.name(), self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seeds_names_and_the_artifacts_aliases() {
        let c = Configuration::parse("notif+interf+col+hypcol").unwrap();
        assert_eq!(c.to_string(), "notif+interf+col+hypcol");
        assert_eq!(Configuration::parse("notif-interf-col").unwrap().to_string(), "notif+interf+col");
        assert_eq!(
            Configuration::parse("transfer+interf").unwrap().capture_path(Path::new("experiments/comm"), Hypervisor::Xen),
            Path::new("experiments/comm/transfer/xen+interf")
        );
        assert_eq!(Configuration::parse("notif").unwrap().capture_path(Path::new("e"), Hypervisor::Bao), Path::new("e/notif/bao"));
    }

    #[test]
    fn rejects_what_the_seed_does_not_define() {
        for bad in ["notify", "notif+fast", "transfer+col", "notif+hypcol"] {
            assert!(Configuration::parse(bad).is_err(), "{bad}");
        }
    }
}
