//! `cargo xtask bench` part: what the figures were measured on.
//!
//! A figure of this benchmark means little without its machine: the cost of
//! a syscall, of a call and of a return differ several-fold between CPUs and
//! with the kernel's mitigations (on AMD Zen 3/4 with SRSO "Safe RET" every
//! return in the kernel goes through a thunk; retpolines do the same to
//! indirect calls). The report opens with the CPU and the mitigations that
//! bear on those costs, read from `/proc/cpuinfo`, `/proc/cmdline` and
//! `/sys/devices/system/cpu/vulnerabilities`, so that runs on different
//! machines can be compared.
//!
//! ```text
//! let machine = Machine::read();
//! println!("{machine}");
//! ```

use std::fmt;
use std::fs;
use std::path::Path;

const VULNERABILITIES: &str = "/sys/devices/system/cpu/vulnerabilities";

/// Mitigations that make calls and returns dearer: every BPF helper call,
/// kernel function call and return pays them.
const CALL_RETURN: [&str; 4] = [
    "spectre_v2",
    "spec_rstack_overflow",
    "retbleed",
    "indirect_target_selection",
];

/// Mitigations paid on each kernel entry and exit, so on every syscall
/// (page-table switch, buffer clearing).
const ENTRY_EXIT: [&str; 5] = [
    "meltdown",
    "mds",
    "mmio_stale_data",
    "reg_file_data_sampling",
    "tsa",
];

/// The machine a benchmark ran on.
#[derive(Debug, Default, PartialEq)]
pub struct Machine {
    /// `model name`, which hypervisors often cut short (`AMD EPYC`).
    pub model: String,
    /// Vendor, family, model and stepping: what names the core when the
    /// model name does not.
    pub id: String,
    pub cpus: usize,
    /// The CPU flags say a hypervisor runs this machine.
    pub virtual_machine: bool,
    pub kernel: String,
    /// `mitigations=` on the kernel command line, if given.
    pub mitigations_arg: Option<String>,
    /// Every file of the vulnerabilities directory: name and the kernel's
    /// state, sorted by name.
    pub vulnerabilities: Vec<(String, String)>,
}

impl Machine {
    /// Reads this machine's description; what cannot be read is left empty
    /// rather than failing the benchmark.
    pub fn read() -> Machine {
        let mut machine = parse_cpuinfo(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
        machine.kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        machine.mitigations_arg = fs::read_to_string("/proc/cmdline")
            .ok()
            .and_then(|line| mitigations_arg(&line));
        machine.vulnerabilities = read_vulnerabilities(Path::new(VULNERABILITIES));
        machine
    }

    fn vulnerability(&self, name: &str) -> &str {
        self.vulnerabilities
            .iter()
            .find(|(n, _)| n == name)
            .map_or("(not reported by this kernel)", |(_, state)| state.as_str())
    }
}

/// The CPU part of the description from `/proc/cpuinfo`.
fn parse_cpuinfo(text: &str) -> Machine {
    let field = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_string())
            .unwrap_or_default()
    };
    let cpus = text
        .lines()
        .filter(|line| line.split(':').next().map(str::trim) == Some("processor"))
        .count();
    Machine {
        model: field("model name"),
        id: format!(
            "{} family {} model {} stepping {}",
            field("vendor_id"),
            field("cpu family"),
            field("model"),
            field("stepping")
        ),
        cpus,
        virtual_machine: field("flags").split_whitespace().any(|f| f == "hypervisor"),
        ..Machine::default()
    }
}

/// The value of `mitigations=` on a kernel command line.
fn mitigations_arg(cmdline: &str) -> Option<String> {
    cmdline
        .split_whitespace()
        .take_while(|word| *word != "--")
        .find_map(|word| word.strip_prefix("mitigations="))
        .map(str::to_string)
}

fn read_vulnerabilities(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let state = fs::read_to_string(entry.path()).ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                state.trim().to_string(),
            ))
        })
        .collect();
    found.sort();
    found
}

/// Markdown, to paste above the figures.
impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "## Machine\n")?;
        writeln!(
            f,
            "- CPU: {} ({}), {} CPUs{}",
            self.model,
            self.id,
            self.cpus,
            if self.virtual_machine {
                ", a virtual machine"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "- Kernel: {}, mitigations={}",
            self.kernel,
            self.mitigations_arg.as_deref().unwrap_or("(default)")
        )?;
        writeln!(f, "\n| mitigation | what it costs | kernel's state |")?;
        writeln!(f, "|---|---|---|")?;
        for name in CALL_RETURN {
            writeln!(
                f,
                "| {name} | calls, returns | {} |",
                self.vulnerability(name)
            )?;
        }
        for name in ENTRY_EXIT {
            writeln!(
                f,
                "| {name} | kernel entry and exit | {} |",
                self.vulnerability(name)
            )?;
        }
        let others: Vec<String> = self
            .vulnerabilities
            .iter()
            .filter(|(name, state)| {
                !CALL_RETURN.contains(&name.as_str())
                    && !ENTRY_EXIT.contains(&name.as_str())
                    && state != "Not affected"
            })
            .map(|(name, state)| format!("{name}: {state}"))
            .collect();
        if !others.is_empty() {
            writeln!(f, "\nOther mitigations: {}.", others.join("; "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu vme hypervisor avx2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu vme hypervisor avx2
";

    #[test]
    fn cpuinfo_gives_model_id_count_and_hypervisor() {
        assert_eq!(
            parse_cpuinfo(CPUINFO),
            Machine {
                model: "AMD EPYC".into(),
                id: "AuthenticAMD family 25 model 17 stepping 1".into(),
                cpus: 2,
                virtual_machine: true,
                ..Machine::default()
            }
        );
    }

    #[test]
    fn mitigations_argument_before_init_arguments() {
        assert_eq!(
            mitigations_arg("console=ttyS0 mitigations=auto,nosmt quiet"),
            Some("auto,nosmt".into())
        );
        assert_eq!(mitigations_arg("quiet -- mitigations=off"), None);
        assert_eq!(mitigations_arg("quiet"), None);
    }

    #[test]
    fn report_names_the_call_and_return_mitigations_first() {
        let machine = Machine {
            model: "AMD EPYC".into(),
            vulnerabilities: vec![
                ("gather_data_sampling".into(), "Not affected".into()),
                (
                    "spec_rstack_overflow".into(),
                    "Vulnerable: Safe RET, no microcode".into(),
                ),
                ("spec_store_bypass".into(), "Vulnerable".into()),
            ],
            ..Machine::default()
        };
        let text = machine.to_string();
        assert!(
            text.contains(
                "| spec_rstack_overflow | calls, returns | Vulnerable: Safe RET, no microcode |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| retbleed | calls, returns | (not reported by this kernel) |"),
            "{text}"
        );
        assert!(
            text.contains("Other mitigations: spec_store_bypass: Vulnerable."),
            "{text}"
        );
        assert!(!text.contains("gather_data_sampling"), "{text}");
    }
}
