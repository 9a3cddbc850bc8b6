//! CPU time and memory of a process, read from /proc.

use std::collections::HashMap;

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The fields of /proc/<pid>/stat after the command name, which may hold
/// spaces and parentheses, so split after the last ')'.
fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    // Field 3 (state) is a letter; keep positions by mapping it to 0.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

// Indexes into `stat_fields` (field number in proc(5) minus 3).
const PPID: usize = 1;
const UTIME: usize = 11;
const STIME: usize = 12;
const CUTIME: usize = 13;
const CSTIME: usize = 14;

/// utime + stime of one process, in seconds.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let f = stat_fields(pid)?;
    Some((f[UTIME] + f[STIME]) as f64 / clock_ticks_per_second())
}

/// CPU seconds of a process and all its live descendants, plus what its
/// reaped children used (cutime + cstime). For a PostgreSQL postmaster this
/// is the whole server, whose backends come and go with connections.
pub fn tree_cpu_seconds(root: u32) -> Option<f64> {
    let root_fields = stat_fields(&root.to_string())?;
    let mut children: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(f) = stat_fields(name) {
            let pid: u64 = name.parse().unwrap_or(0);
            children
                .entry(f[PPID])
                .or_default()
                .push((pid, f[UTIME] + f[STIME]));
        }
    }
    let mut ticks =
        root_fields[UTIME] + root_fields[STIME] + root_fields[CUTIME] + root_fields[CSTIME];
    let mut stack = vec![u64::from(root)];
    while let Some(parent) = stack.pop() {
        for (pid, used) in children.get(&parent).into_iter().flatten() {
            ticks += used;
            stack.push(*pid);
        }
    }
    Some(ticks as f64 / clock_ticks_per_second())
}

/// A `Vm*:` line of /proc/<pid>/status, in KiB.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// Busy CPU seconds of the whole machine (all cores), from the `cpu` line of
/// /proc/stat: everything but idle and iowait.
pub fn machine_busy_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let busy =
        f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).copied().unwrap_or(0);
    Some(busy as f64 / clock_ticks_per_second())
}
