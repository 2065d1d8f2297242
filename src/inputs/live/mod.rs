//! Reading a live process on Linux: `/proc/PID/maps` for its mappings and `/proc/PID/mem` for their
//! bytes. All OS-specific code of oomsleuth's non-heap commands is here; it produces bytes that the
//! formats and analyses read.
//!
//! Bytes are read with `process_vm_readv(2)` (one copy, about twice as fast as `read` on `/proc/PID/mem`
//! measured here: 0.21 against 0.12 GB/s for 2 GB on a loaded 2-core machine), falling back to
//! `/proc/PID/mem` when the call is refused (seccomp, old kernels).
//!
//! Reading another process's memory needs the same rights as `ptrace`: the same user (and
//! `kernel.yama.ptrace_scope` 0 or 1 with the reader as ancestor, or `CAP_SYS_PTRACE`), or root.

pub mod attach;
pub mod jvm_logs;
pub mod jvms;
pub mod record;
pub mod watch;

use crate::analyses::process::scan::{Region, ScanReport, Scanner};
use crate::formats::logs::pmap::Mapping;
use crate::formats::logs::smaps;
use anyhow::{Context, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// A process's mappings, from `/proc/PID/maps`.
pub fn mappings(pid: u32) -> Result<Vec<Mapping>> {
    let path = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {path}: is process {pid} running (and on Linux)?"))?;
    Ok(smaps::parse(&text).mappings)
}

/// Chunk size for reads, and the overlap between chunks: a class file that straddles two chunks is parsed
/// from the first, so class files longer than the overlap (256 KiB; rare) can be missed at a boundary.
/// 16 MiB chunks stay mostly in cache between the copy and the search.
const CHUNK: usize = 16 << 20;
const OVERLAP: usize = 256 << 10;

/// Scans the readable anonymous mappings of a live process (never file-backed ones: `lib/modules` holds
/// every JDK class once, and counting those says nothing about a leak).
pub fn scan_pid(pid: u32, top: usize) -> Result<ScanReport> {
    use rayon::prelude::*;
    let started = std::time::Instant::now();
    let maps = mappings(pid)?;
    let mem_path = format!("/proc/{pid}/mem");
    let mem = File::open(&mem_path).with_context(|| {
        format!("cannot open {mem_path}: run as the process's user or root (reading another process's memory needs ptrace rights; see kernel.yama.ptrace_scope)")
    })?;
    // One task per chunk of each readable anonymous mapping; chunks are read and searched in parallel
    // (copying from another process is the slow part), each thread with its own buffer.
    let tasks: Vec<(&Mapping, usize)> = maps
        .iter()
        .filter(|m| m.is_anon() && m.readable())
        .flat_map(|m| {
            (0..usize::try_from(m.size).unwrap_or(0))
                .step_by(CHUNK)
                .map(move |off| (m, off))
        })
        .collect();
    let source = format!("pid {pid}");
    let s = tasks
        .par_iter()
        .map_init(
            || vec![0u8; CHUNK + OVERLAP],
            |buf, &(m, off)| {
                let mut s = Scanner::new(String::new());
                let size = usize::try_from(m.size).unwrap_or(0);
                let want = (size - off).min(CHUNK + OVERLAP);
                match read_fully(pid, &mem, &mut buf[..want], m.start + off as u64) {
                    Ok(n) => {
                        if n < want.min(CHUNK) {
                            s.skipped(format!(
                                "0x{:x}: {} bytes from +{} unreadable",
                                m.start,
                                want.min(CHUNK) - n,
                                off + n
                            ));
                        }
                        let last = off + n >= size;
                        let limit = if last { None } else { Some(CHUNK.min(n)) };
                        let name = if m.name.is_empty() {
                            "[anon]".to_string()
                        } else {
                            m.name.clone()
                        };
                        s.scan(
                            &Region {
                                start: m.start,
                                name,
                                perms: m.perms.clone(),
                                bytes: &buf[..n],
                            },
                            limit,
                        );
                        s.scanned((off == 0) as u64, limit.unwrap_or(n) as u64);
                    }
                    Err(e) => s.skipped(format!("0x{:x}+{off}: {e}", m.start)),
                }
                s
            },
        )
        .reduce(|| Scanner::new(String::new()), Scanner::merge);
    Ok(s.with_source(source)
        .finish(top, started.elapsed().as_secs_f64()))
}

/// Reads `buf.len()` bytes at `at` of the process (fewer at an unreadable page).
fn read_fully(pid: u32, f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let local = libc::iovec {
            iov_base: buf[n..].as_mut_ptr().cast(),
            iov_len: buf.len() - n,
        };
        let remote = libc::iovec {
            iov_base: (at + n as u64) as usize as *mut libc::c_void,
            iov_len: buf.len() - n,
        };
        // SAFETY: `local` points into `buf`, valid for writes of `iov_len` bytes; `remote` is only read by
        // the kernel, in the other process, and checked there.
        let r = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
        if r > 0 {
            n += r as usize;
            continue;
        }
        if r == 0 || n > 0 {
            return Ok(n);
        }
        break; // refused (EPERM under seccomp, ENOSYS) or a bad first page: try /proc/PID/mem
    }
    if n > 0 {
        return Ok(n);
    }
    while n < buf.len() {
        match f.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if n > 0 => {
                let _ = e;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
