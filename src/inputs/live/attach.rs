//! HotSpot's attach protocol, spoken directly: what `jcmd` does, without a JDK and without loading
//! anything into the target (the JVM's own Attach Listener thread answers; no agent is involved).
//!
//! How a client reaches a JVM on Linux (OpenJDK's `VirtualMachineImpl.java` and
//! `attachListener_linux.cpp` / `attachListener_posix.cpp` are the reference):
//!
//! 1. The JVM listens on the Unix socket `/tmp/.java_pid<PID>`, in its own mount namespace and named
//!    by its pid in its own pid namespace. From outside a container that is
//!    `/proc/<host pid>/root/tmp/.java_pid<NSpid>` (NSpid: the last field of `/proc/PID/status`).
//! 2. The listener starts lazily: a client creates `.attach_pid<NSpid>` in the JVM's working
//!    directory (or its `/tmp`) and sends SIGQUIT; the JVM's signal thread sees the file, starts the
//!    listener and creates the socket. The file is removed again whatever happens (see
//!    [`TriggerFile`]). The JVM only honours a file owned by its own euid or (JDK 9+) root.
//! 3. The JVM accepts a connection only from a peer with its own euid and egid, or (JDK 9+) root;
//!    others are closed without a word. The client checks in turn that the socket is owned by the
//!    JVM's user and unreadable by others, so it does not talk to an impostor.
//! 4. One request per connection. v1 (every JDK since 6): `"1\0" <op> "\0" <arg0> "\0" <arg1> "\0"
//!    <arg2> "\0"`, always three arguments, the operation name at most 16 bytes and each argument at
//!    most 1024. v2 (JDK 24+): `"2\0" <size> "\0" <op>[" " options] "\0" (<arg> "\0")*` where size
//!    counts the bytes after its own terminator; any number of arguments, 256 KiB in all. A client
//!    learns whether a JVM speaks v2 by asking v1 `getversion` (older JVMs answer -1 "Operation
//!    getversion not recognized!"); `getversion options` also lists the options (JDK 25:
//!    `streaming`, whether output is sent as produced or after the operation completes).
//! 5. The reply: the status as a decimal line (`0` done, `-1` failed, `101` protocol mismatch),
//!    then the operation's output, until the JVM closes the connection.
//!
//! A diagnostic command (`VM.version`, `GC.class_histogram -all`) is the operation `jcmd` with the
//! whole command line as its one argument ([`jcmd`]). Every operation name is passed through as
//! given, so JDK 8's older operations work on every JDK the same way: `threaddump`, `inspectheap`
//! (`-live`/`-all`), `dumpheap` (path, `-live`/`-all`), `properties`, `agentProperties`,
//! `printflag`, `setflag`, `datadump`, `load`. What differs on JDK 8: the JVM accepts neither a root
//! peer nor a root-owned trigger file (only its own euid/egid), so as root this module switches the
//! calling thread to the JVM's user for the connection and gives the trigger file to that user (the
//! same steps make a JVM in a user namespace that does not map root reachable); and JDK 8 lacks the
//! diagnostic commands added since (`VM.metaspace` 10, `VM.classloaders` 14, `System.map` 21...), for
//! which it answers -1 "Unknown diagnostic command" like any JDK does for a command it does not know.
//!
//! Paths given in arguments (`GC.heap_dump FILE`, `dumpheap FILE`) are the JVM's: its mount
//! namespace, its working directory, its user's permissions.

use anyhow::{Context, Result};
use std::borrow::Cow;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the JVM answered to one attach operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachReply {
    /// The status line: 0 when the operation completed, -1 (`JNI_ERR`) when it failed (an unknown
    /// command, bad arguments, an exception; the output says which). With JDK 24+'s streaming output,
    /// a command that fails after it started reports 0 and its error in the output, as `jcmd` shows it.
    pub status: i32,
    /// The operation's output, byte for byte (HotSpot writes UTF-8).
    pub output: Vec<u8>,
}

impl AttachReply {
    /// Whether the JVM reported success.
    pub fn succeeded(&self) -> bool {
        self.status == 0
    }

    /// The output as text (invalid UTF-8 replaced, as `jcmd` decodes it).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.output)
    }
}

/// Why an attach could not be made. Returned inside `anyhow::Error`; callers that care which one
/// can `downcast_ref::<AttachError>()`.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("no process {0} is running")]
    NoProcess(u32),
    #[error("process {pid} runs as {user} (uid {uid}) and oomsleuth as uid {me}: the JVM only answers its own user or root; run it as that user (sudo -u {user} oomsleuth ...) or as root")]
    NotPermitted {
        pid: u32,
        user: String,
        uid: u32,
        me: u32,
    },
    #[error("process {pid} ({name}) is not a HotSpot JVM: {why}")]
    NotHotSpot { pid: u32, name: String, why: String },
    #[error("process {pid} runs with -XX:+DisableAttachMechanism (found in {found_in}): its attach listener never starts, so no tool can attach; restart it without that flag (hsperfdata, as `oomsleuth jvms` reads it, still works)")]
    AttachDisabled { pid: u32, found_in: String },
    #[error("process {pid} did not start its attach listener within {waited_ms} ms (no socket {socket}): the JVM may be hung in a safepoint, still starting, started with -XX:+DisableAttachMechanism through a flags file, or its /tmp is not the one oomsleuth sees")]
    NoListener {
        pid: u32,
        waited_ms: u128,
        socket: String,
    },
    #[error("refusing to talk to {path}: {why}")]
    BadSocket { path: String, why: String },
    #[error("process {pid} closed the connection without answering: {why}")]
    NoAnswer { pid: u32, why: String },
    #[error("cannot send this request: {0}")]
    BadRequest(String),
}

/// How long to wait for the listener to start, and for an answer.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// How long to wait for the socket after SIGQUIT (the JDK's default: 10 s; the listener
    /// usually starts within 100 ms, also after a Metaspace OutOfMemoryError).
    pub listener_timeout: Duration,
    /// How long to wait for the reply; `None` waits as long as the JVM takes (a heap dump of a big
    /// heap takes minutes; `jcmd` waits forever too).
    pub reply_timeout: Option<Duration>,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            listener_timeout: Duration::from_secs(10),
            reply_timeout: None,
        }
    }
}

/// Runs one attach operation `command` (`"jcmd"`, `"threaddump"`, `"properties"`...) with `args` in
/// the JVM `pid` (as this host sees it; a JVM in a container is reached through its mount and pid
/// namespaces) and returns its answer. Starts the JVM's attach listener when it is not running yet.
/// Uses protocol v1, or v2 when the request does not fit v1 and the JVM speaks v2.
///
/// Errors ([`AttachError`] inside): no such process, another user's process, not a HotSpot JVM,
/// attach disabled, no listener within the timeout, a socket that is not the JVM's, no answer. A
/// failed command is not an error: it is a reply whose `status` is not 0.
pub fn execute(pid: u32, command: &str, args: &[&str]) -> Result<AttachReply> {
    execute_with(pid, command, args, &AttachOptions::default())
}

/// Runs the diagnostic command line `line` (e.g. `"GC.class_histogram -all"`), as `jcmd PID LINE` does.
pub fn jcmd(pid: u32, line: &str) -> Result<AttachReply> {
    execute(pid, "jcmd", &[line])
}

/// [`execute`] with explicit timeouts.
pub fn execute_with(
    pid: u32,
    command: &str,
    args: &[&str],
    options: &AttachOptions,
) -> Result<AttachReply> {
    check_strings(command, args)?;
    let target = Target::inspect(pid)?;
    target.check_permitted()?;
    let socket = target.socket_path();
    if fs::symlink_metadata(&socket).is_err() {
        start_listener(&target, &socket, options.listener_timeout)?;
    }
    check_socket(&socket, &target)?;
    let request = if fits_v1(command, args) {
        encode_v1(command, args)
    } else {
        let version = exchange(&target, &socket, &encode_v1("getversion", &[]), options)?;
        if supported_version(&version) < 2 {
            return Err(AttachError::BadRequest(format!(
                "{}; this JVM speaks only attach protocol v1 (JDK 23 and older), whose operation names are at most {V1_NAME_MAX} bytes and which takes at most {V1_ARGS} arguments of at most {V1_ARG_MAX} bytes each",
                describe_request(command, args)
            ))
            .into());
        }
        encode_v2(command, None, args)?
    };
    let reply = exchange(&target, &socket, &request, options)?;
    if reply.status == ATTACH_ERROR_BADVERSION && reply.output.is_empty() {
        return Err(AttachError::NoAnswer {
            pid,
            why: "it does not speak this version of the attach protocol".into(),
        }
        .into());
    }
    Ok(reply)
}

/// The longest operation name, the number of arguments and the longest argument v1 allows
/// (`AttachOperation::name_length_max`, `arg_count_max`, `arg_length_max`).
const V1_NAME_MAX: usize = 16;
const V1_ARGS: usize = 3;
const V1_ARG_MAX: usize = 1024;
/// The largest v2 request a JVM accepts (the size after the size field).
const V2_MAX: usize = 256 * 1024;
/// The status a JVM answers to a protocol version it does not know.
const ATTACH_ERROR_BADVERSION: i32 = 101;

fn check_strings(command: &str, args: &[&str]) -> Result<()> {
    if command.is_empty() {
        return Err(AttachError::BadRequest("the operation name is empty".into()).into());
    }
    if command.contains('\0') || args.iter().any(|a| a.contains('\0')) {
        return Err(AttachError::BadRequest("a NUL byte in the request".into()).into());
    }
    Ok(())
}

fn describe_request(command: &str, args: &[&str]) -> String {
    let longest = args.iter().map(|a| a.len()).max().unwrap_or(0);
    format!(
        "operation {command:?} ({} bytes) with {} arguments (the longest {longest} bytes)",
        command.len(),
        args.len()
    )
}

/// Whether the request fits protocol v1.
fn fits_v1(command: &str, args: &[&str]) -> bool {
    command.len() <= V1_NAME_MAX
        && args.len() <= V1_ARGS
        && args.iter().all(|a| a.len() <= V1_ARG_MAX)
}

/// A v1 request: version, operation, exactly three arguments (missing ones empty), each
/// NUL-terminated. The caller checks [`fits_v1`].
fn encode_v1(command: &str, args: &[&str]) -> Vec<u8> {
    let mut out = b"1\0".to_vec();
    out.extend_from_slice(command.as_bytes());
    out.push(0);
    for i in 0..V1_ARGS {
        out.extend_from_slice(args.get(i).map_or(&b""[..], |a| a.as_bytes()));
        out.push(0);
    }
    out
}

/// A v2 request: version, the size of what follows, the operation (with `options` after a space,
/// e.g. `streaming=0`), then each argument, each NUL-terminated.
fn encode_v2(command: &str, options: Option<&str>, args: &[&str]) -> Result<Vec<u8>> {
    let mut body = command.as_bytes().to_vec();
    if let Some(o) = options.filter(|o| !o.is_empty()) {
        body.push(b' ');
        body.extend_from_slice(o.as_bytes());
    }
    body.push(0);
    for a in args {
        body.extend_from_slice(a.as_bytes());
        body.push(0);
    }
    if body.len() > V2_MAX {
        return Err(AttachError::BadRequest(format!(
            "the request is {} bytes, more than the {V2_MAX} a JVM accepts",
            body.len()
        ))
        .into());
    }
    let mut out = format!("2\0{}\0", body.len()).into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

/// Splits a reply into its status line and output. `None` when the JVM sent nothing, or no number.
fn parse_reply(bytes: &[u8]) -> Option<AttachReply> {
    let (line, rest) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &b""[..]),
    };
    let status = std::str::from_utf8(line).ok()?.trim().parse().ok()?;
    Some(AttachReply {
        status,
        output: rest.to_vec(),
    })
}

/// The protocol version a `getversion` reply names: 1 for a JVM that does not know the operation.
fn supported_version(reply: &AttachReply) -> u32 {
    if !reply.succeeded() {
        return 1;
    }
    reply
        .text()
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// What `/proc/PID/status` says about a process.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProcStatus {
    name: String,
    /// The pid in the innermost pid namespace (the host pid on kernels without `NSpid`).
    nspid: Option<u32>,
    euid: Option<u32>,
    egid: Option<u32>,
    /// Whether SIGQUIT is caught (has a handler) and whether it is ignored.
    catches_quit: bool,
    ignores_quit: bool,
}

/// SIGQUIT's bit in the `Sig*` masks of `/proc/PID/status`.
const SIGQUIT_BIT: u64 = 1 << (libc::SIGQUIT - 1);

fn parse_status(text: &str) -> ProcStatus {
    let second = |v: &str| v.split_whitespace().nth(1).and_then(|x| x.parse().ok());
    let mask = |v: &str| u64::from_str_radix(v.trim(), 16).unwrap_or(0) & SIGQUIT_BIT != 0;
    let mut s = ProcStatus {
        nspid: super::jvms::nspid_of(text),
        ..Default::default()
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Name" => s.name = value.trim().to_string(),
            "Uid" => s.euid = second(value),
            "Gid" => s.egid = second(value),
            "SigCgt" => s.catches_quit = mask(value),
            "SigIgn" => s.ignores_quit = mask(value),
            _ => {}
        }
    }
    s
}

/// The process to attach to, as this host sees it.
#[derive(Debug)]
struct Target {
    pid: u32,
    nspid: u32,
    name: String,
    euid: u32,
    egid: u32,
    catches_quit: bool,
    ignores_quit: bool,
    /// The target's `/tmp`: `/proc/PID/root/tmp` (its mount namespace), or this host's `/tmp` when
    /// that cannot be looked into.
    tmp: PathBuf,
}

impl Target {
    fn inspect(pid: u32) -> Result<Target> {
        let base = PathBuf::from(format!("/proc/{pid}"));
        let text = match fs::read_to_string(base.join("status")) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(AttachError::NoProcess(pid).into())
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read /proc/{pid}/status")),
        };
        let s = parse_status(&text);
        let (Some(euid), Some(egid)) = (s.euid, s.egid) else {
            anyhow::bail!("/proc/{pid}/status has no Uid or Gid line");
        };
        let root_tmp = base.join("root/tmp");
        let tmp = if fs::metadata(&root_tmp).is_ok() {
            root_tmp
        } else {
            PathBuf::from("/tmp")
        };
        Ok(Target {
            pid,
            nspid: s.nspid.unwrap_or(pid),
            name: s.name,
            euid,
            egid,
            catches_quit: s.catches_quit,
            ignores_quit: s.ignores_quit,
            tmp,
        })
    }

    fn socket_path(&self) -> PathBuf {
        self.tmp.join(format!(".java_pid{}", self.nspid))
    }

    /// Another user's JVM answers only root: say which user must run oomsleuth.
    fn check_permitted(&self) -> Result<()> {
        let me = effective_uid();
        if me == 0 || me == self.euid {
            return Ok(());
        }
        Err(AttachError::NotPermitted {
            pid: self.pid,
            user: user_name(self.euid).unwrap_or_else(|| format!("uid {}", self.euid)),
            uid: self.euid,
            me,
        }
        .into())
    }

    /// Whether this process must take the JVM's user for the connection: root talking to another
    /// user's JVM (JDK 8 refuses root; so does a JVM whose user namespace does not map root).
    fn switch_user(&self) -> bool {
        effective_uid() == 0 && self.euid != 0
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The name of `uid` from `/etc/passwd`.
fn user_name(uid: u32) -> Option<String> {
    passwd_name(&fs::read_to_string("/etc/passwd").ok()?, uid)
}

fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// `.attach_pid<NSpid>`, created to start the listener and removed when dropped, through a handle on
/// its directory: the file goes even when the JVM exits meanwhile and `/proc/PID/cwd` vanishes.
struct TriggerFile {
    dir: File,
    name: CString,
    path: PathBuf,
}

impl TriggerFile {
    /// Creates the file in the JVM's working directory, else in its `/tmp` (where HotSpot looks,
    /// in that order). As root, gives it to the JVM's user (JDK 8 ignores a file of another owner).
    fn create(t: &Target) -> Result<TriggerFile> {
        let name = format!(".attach_pid{}", t.nspid);
        let cwd = PathBuf::from(format!("/proc/{}/cwd", t.pid));
        let mut errors = vec![];
        for dir in [cwd, t.tmp.clone()] {
            match Self::create_in(&dir, &name, t) {
                Ok(f) => return Ok(f),
                Err(e) => errors.push(format!("{}: {e}", dir.join(&name).display())),
            }
        }
        anyhow::bail!(
            "cannot create the attach trigger file: {}",
            errors.join("; ")
        )
    }

    fn create_in(dir: &Path, name: &str, t: &Target) -> std::io::Result<TriggerFile> {
        let dir_file = File::open(dir)?;
        let cname = CString::new(name).map_err(|_| ErrorKind::InvalidInput)?;
        // SAFETY: `dir_file` is an open directory and `cname` a NUL-terminated name; the returned
        // descriptor is closed below.
        let fd = unsafe {
            libc::openat(
                dir_file.as_raw_fd(),
                cname.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let file = TriggerFile {
            dir: dir_file,
            name: cname,
            path: dir.join(name),
        };
        if t.switch_user() {
            // SAFETY: `fd` is the descriptor just opened. Best effort: JDK 9+ accepts root's file.
            unsafe { libc::fchown(fd, t.euid, t.egid) };
        }
        // SAFETY: `fd` is open and owned here.
        unsafe { libc::close(fd) };
        Ok(file)
    }
}

impl Drop for TriggerFile {
    fn drop(&mut self) {
        // SAFETY: `dir` is an open directory and `name` a NUL-terminated name.
        let r = unsafe { libc::unlinkat(self.dir.as_raw_fd(), self.name.as_ptr(), 0) };
        if r != 0 && std::io::Error::last_os_error().kind() != ErrorKind::NotFound {
            eprintln!(
                "warning: could not remove {}: {}",
                self.path.display(),
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Starts the JVM's attach listener: trigger file, SIGQUIT, then waits for the socket (sending
/// SIGQUIT once more halfway, as the JDK does). Sends nothing to a process that is not a HotSpot
/// JVM ready for it: SIGQUIT's default action kills a process.
fn start_listener(t: &Target, socket: &Path, timeout: Duration) -> Result<()> {
    if let Some(found_in) = attach_disabled_in(t.pid) {
        return Err(AttachError::AttachDisabled {
            pid: t.pid,
            found_in,
        }
        .into());
    }
    check_hotspot(t)?;
    // Declared first, so dropped last: an interrupt waits until the trigger file is gone.
    let _deferred = InterruptsDeferred::block();
    let trigger = TriggerFile::create(t)?;
    let started = Instant::now();
    send_quit(t.pid)?;
    let mut step = Duration::from_millis(20);
    let mut resent = false;
    while fs::symlink_metadata(socket).is_err() {
        let waited = started.elapsed();
        if !Path::new(&format!("/proc/{}", t.pid)).exists() {
            return Err(AttachError::NoProcess(t.pid).into());
        }
        if _deferred.pending() {
            drop(trigger);
            anyhow::bail!(
                "interrupted while waiting for process {}'s attach listener",
                t.pid
            );
        }
        if waited >= timeout {
            drop(trigger);
            return Err(AttachError::NoListener {
                pid: t.pid,
                waited_ms: waited.as_millis(),
                socket: socket.display().to_string(),
            }
            .into());
        }
        if !resent && waited >= timeout / 2 {
            send_quit(t.pid)?;
            resent = true;
        }
        std::thread::sleep(step.min(timeout - waited));
        step = (step * 2).min(Duration::from_millis(500));
    }
    drop(trigger);
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP held back on this thread while it owns a trigger file, and delivered
/// when dropped (after the file is removed): Ctrl-C during the handshake leaves nothing behind. In a
/// process with other threads that do not block them, such a signal may still end the process.
struct InterruptsDeferred {
    previous: Option<libc::sigset_t>,
}

impl InterruptsDeferred {
    fn block() -> InterruptsDeferred {
        // SAFETY: the sets are initialised by sigemptyset before use; pthread_sigmask only changes
        // this thread's mask and writes the previous one into `previous`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            let mut previous: libc::sigset_t = std::mem::zeroed();
            let ok = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous) == 0;
            InterruptsDeferred {
                previous: ok.then_some(previous),
            }
        }
    }
}

impl InterruptsDeferred {
    /// Whether one of the held-back signals has arrived.
    fn pending(&self) -> bool {
        // SAFETY: sigpending writes the pending set into `set`, which sigismember then reads.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            if libc::sigpending(&mut set) != 0 {
                return false;
            }
            [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
                .iter()
                .any(|&sig| libc::sigismember(&set, sig) == 1)
        }
    }
}

impl Drop for InterruptsDeferred {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restores the mask saved by `block`.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut()) };
        }
    }
}

/// Refuses processes that would not survive or not understand SIGQUIT.
fn check_hotspot(t: &Target) -> Result<()> {
    let not = |why: &str| AttachError::NotHotSpot {
        pid: t.pid,
        name: t.name.clone(),
        why: why.to_string(),
    };
    if let Ok(maps) = fs::read_to_string(format!("/proc/{}/maps", t.pid)) {
        if !maps.lines().any(|l| l.ends_with("/libjvm.so")) {
            return Err(not("no libjvm.so is mapped into it").into());
        }
    }
    if t.ignores_quit || !t.catches_quit {
        return Err(not("it does not handle SIGQUIT (a JVM still starting, or one started with -Xrs whose listener did not start)").into());
    }
    Ok(())
}

fn send_quit(pid: u32) -> Result<()> {
    let pid_t = libc::pid_t::try_from(pid).context("pid out of range")?;
    // SAFETY: kill has no memory preconditions; the target was checked to handle SIGQUIT.
    if unsafe { libc::kill(pid_t, libc::SIGQUIT) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Err(AttachError::NoProcess(pid).into());
        }
        return Err(e).with_context(|| format!("cannot send SIGQUIT to process {pid}"));
    }
    Ok(())
}

/// Where `-XX:+DisableAttachMechanism` is in force for the process, if it is: its command line and
/// the environment variables the JVM reads options from, the last setting winning.
fn attach_disabled_in(pid: u32) -> Option<String> {
    let environ = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    disabled_setting(&environ, &cmdline)
}

/// The pure part of [`attach_disabled_in`]: NUL-separated `environ` and `cmdline`. HotSpot reads
/// JAVA_TOOL_OPTIONS, then the command line (where the launcher put JDK_JAVA_OPTIONS first), then
/// _JAVA_OPTIONS.
fn disabled_setting(environ: &[u8], cmdline: &[u8]) -> Option<String> {
    let env_value = |name: &str| -> String {
        environ
            .split(|&b| b == 0)
            .filter_map(|kv| std::str::from_utf8(kv).ok())
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
            .unwrap_or_default()
    };
    let cmd: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let sources = [
        ("JAVA_TOOL_OPTIONS", env_value("JAVA_TOOL_OPTIONS")),
        ("JDK_JAVA_OPTIONS", env_value("JDK_JAVA_OPTIONS")),
        ("the command line", cmd.join(" ")),
        ("_JAVA_OPTIONS", env_value("_JAVA_OPTIONS")),
    ];
    let mut state: Option<&str> = None;
    for (name, text) in &sources {
        for word in text.split_whitespace() {
            match word {
                "-XX:+DisableAttachMechanism" => state = Some(name),
                "-XX:-DisableAttachMechanism" => state = None,
                _ => {}
            }
        }
    }
    state.map(str::to_string)
}

/// The socket must be the JVM's: a socket, owned by its user, closed to everyone else.
fn check_socket(path: &Path, t: &Target) -> Result<()> {
    let bad = |why: String| AttachError::BadSocket {
        path: path.display().to_string(),
        why,
    };
    let m =
        fs::symlink_metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    if !m.file_type().is_socket() {
        return Err(bad("it is not a socket".into()).into());
    }
    if m.uid() != t.euid {
        return Err(bad(format!(
            "it is owned by uid {}, and process {} runs as uid {}",
            m.uid(),
            t.pid,
            t.euid
        ))
        .into());
    }
    if m.mode() & 0o077 != 0 {
        return Err(bad(format!(
            "others may use it (mode {:04o}); the JVM's own is 0600",
            m.mode() & 0o7777
        ))
        .into());
    }
    Ok(())
}

/// One connection: connect, send `request`, read the whole reply.
fn exchange(
    t: &Target,
    socket: &Path,
    request: &[u8],
    options: &AttachOptions,
) -> Result<AttachReply> {
    let mut stream = connect(t, socket)?;
    stream.set_read_timeout(options.reply_timeout)?;
    stream
        .write_all(request)
        .with_context(|| format!("cannot send the request to process {}", t.pid))?;
    let mut bytes = vec![];
    if let Err(e) = stream.read_to_end(&mut bytes) {
        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
            anyhow::bail!(
                "process {} did not finish answering within {:?} ({} bytes so far)",
                t.pid,
                options.reply_timeout.unwrap_or_default(),
                bytes.len()
            );
        }
        return Err(e).with_context(|| format!("cannot read the answer of process {}", t.pid));
    }
    parse_reply(&bytes).ok_or_else(|| {
        let why = if bytes.is_empty() {
            format!("the JVM accepts only peers running as its user and group (uid {}, gid {}) or root (JDK 8: not even root)", t.euid, t.egid)
        } else {
            format!("its answer does not start with a status line: {:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(80)]))
        };
        AttachError::NoAnswer { pid: t.pid, why }.into()
    })
}

/// Connects to the socket, as the JVM's user when root talks to another user's JVM (the peer
/// credentials are taken at `connect`); falls back to connecting as root.
fn connect(t: &Target, socket: &Path) -> Result<UnixStream> {
    let err = |e: std::io::Error| -> anyhow::Error {
        if e.kind() == ErrorKind::ConnectionRefused {
            return AttachError::NoAnswer {
                pid: t.pid,
                why: format!(
                    "nobody listens on {}: a socket left behind by a JVM that ended (process {} is {:?}), or a listener that stopped",
                    socket.display(),
                    t.pid,
                    t.name
                ),
            }
            .into();
        }
        anyhow::Error::new(e).context(format!("cannot connect to {}", socket.display()))
    };
    if t.switch_user() {
        if let Ok(Ok(s)) = as_user(t.euid, t.egid, || UnixStream::connect(socket)) {
            return Ok(s);
        }
    }
    UnixStream::connect(socket).map_err(err)
}

/// Runs `f` with this thread's effective uid and gid set to `uid`/`gid`, then restores them. The
/// raw system calls change only the calling thread (glibc's wrappers would change every thread of
/// the process); this thread runs as root, so it can switch back.
fn as_user<T>(uid: u32, gid: u32, f: impl FnOnce() -> T) -> std::io::Result<T> {
    let keep = -1 as libc::c_long;
    // SAFETY: getegid has no preconditions.
    let my_gid = unsafe { libc::getegid() };
    // SAFETY: setresgid/setresuid take three ids; -1 keeps the real and saved ones.
    if unsafe { libc::syscall(libc::SYS_setresgid, keep, gid as libc::c_long, keep) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::syscall(libc::SYS_setresuid, keep, uid as libc::c_long, keep) } != 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: as above; still root, so the group can be restored.
        unsafe { libc::syscall(libc::SYS_setresgid, keep, my_gid as libc::c_long, keep) };
        return Err(e);
    }
    let out = f();
    // SAFETY: the saved uid is still 0, so the effective uid can return to it, then the group.
    unsafe {
        if libc::syscall(libc::SYS_setresuid, keep, 0 as libc::c_long, keep) != 0 {
            // Cannot happen with saved uid 0; continuing as another user would be worse.
            std::process::abort();
        }
        libc::syscall(libc::SYS_setresgid, keep, my_gid as libc::c_long, keep);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_request_is_what_jcmd_sends() {
        // The bytes JDK 17's jcmd sent (../shared/samples/attach-protocol-transcript.txt).
        assert_eq!(
            encode_v1("jcmd", &["VM.version"]),
            b"1\0jcmd\0VM.version\0\0\0".to_vec()
        );
        assert_eq!(
            encode_v1("getversion", &[]),
            b"1\0getversion\0\0\0\0".to_vec()
        );
        assert_eq!(
            encode_v1("inspectheap", &["-live", "", "2"]),
            b"1\x00inspectheap\x00-live\x00\x002\x00".to_vec()
        );
    }

    #[test]
    fn v2_request_counts_the_bytes_after_its_size() {
        assert_eq!(
            encode_v2("jcmd", None, &["VM.version"]).unwrap(),
            b"2\x0016\x00jcmd\x00VM.version\x00".to_vec()
        );
        assert_eq!(
            encode_v2("jcmd", Some("streaming=1"), &["VM.version"]).unwrap(),
            b"2\x0028\x00jcmd streaming=1\x00VM.version\x00".to_vec()
        );
        assert_eq!(
            encode_v2("x", None, &[]).unwrap(),
            b"2\x002\x00x\x00".to_vec()
        );
        let huge = "a".repeat(V2_MAX);
        assert!(encode_v2("jcmd", None, &[&huge]).is_err());
    }

    #[test]
    fn v1_limits() {
        let at = "a".repeat(V1_ARG_MAX);
        let over = "a".repeat(V1_ARG_MAX + 1);
        assert!(fits_v1("jcmd", &[&at]));
        assert!(!fits_v1("jcmd", &[&over]));
        assert!(fits_v1("agentProperties", &[]));
        assert!(!fits_v1("a_name_of_17_byte", &[]));
        assert!(!fits_v1("load", &["a", "b", "c", "d"]));
        assert!(check_strings("jcmd", &["a\0b"]).is_err());
        assert!(check_strings("", &[]).is_err());
    }

    #[test]
    fn replies_split_into_status_and_output() {
        let r = parse_reply(b"0\nOpenJDK 64-Bit Server VM version 17.0.15\nJDK 17.0.15\n").unwrap();
        assert_eq!(r.status, 0);
        assert!(r.succeeded());
        assert_eq!(
            r.text(),
            "OpenJDK 64-Bit Server VM version 17.0.15\nJDK 17.0.15\n"
        );
        let r = parse_reply(b"-1\nOperation getversion not recognized!").unwrap();
        assert_eq!(r.status, -1);
        assert_eq!(r.text(), "Operation getversion not recognized!");
        assert_eq!(supported_version(&r), 1);
        assert_eq!(parse_reply(b"101\n").unwrap().status, 101);
        assert_eq!(parse_reply(b"0").unwrap().output, b"");
        assert_eq!(parse_reply(b""), None);
        assert_eq!(parse_reply(b"HTTP/1.1 400\n"), None);
        assert_eq!(parse_reply(b"\xff\xfe\n"), None);
        let v = parse_reply(b"0\n2 streaming").unwrap();
        assert_eq!(supported_version(&v), 2);
        assert_eq!(supported_version(&parse_reply(b"0\n2").unwrap()), 2);
        assert_eq!(supported_version(&parse_reply(b"0\nbanana").unwrap()), 1);
    }

    #[test]
    fn status_gives_namespace_pid_user_and_sigquit() {
        let text = "Name:\tjava\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\nNSpid:\t4242\t1\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t2000000181005ccf\n";
        let s = parse_status(text);
        assert_eq!(s.name, "java");
        assert_eq!(s.nspid, Some(1));
        assert_eq!((s.euid, s.egid), (Some(1001), Some(101)));
        assert!(s.catches_quit && !s.ignores_quit);
        // `sleep`: SIGQUIT neither caught nor ignored (its default action kills it).
        let s = parse_status("Name:\tsleep\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n");
        assert!(!s.catches_quit);
        assert_eq!(s.nspid, None);
        assert_eq!(parse_status(""), ProcStatus::default());
    }

    #[test]
    fn disable_attach_mechanism_last_setting_wins() {
        let cmd = b"java\0-XX:+DisableAttachMechanism\0-cp\0x\0Main\0";
        assert_eq!(
            disabled_setting(b"", cmd).as_deref(),
            Some("the command line")
        );
        let env = b"PATH=/bin\0_JAVA_OPTIONS=-XX:-DisableAttachMechanism\0";
        assert_eq!(disabled_setting(env, cmd), None);
        let env = b"JAVA_TOOL_OPTIONS=-Xmx1g -XX:+DisableAttachMechanism\0";
        assert_eq!(
            disabled_setting(env, b"java\0Main\0").as_deref(),
            Some("JAVA_TOOL_OPTIONS")
        );
        assert_eq!(
            disabled_setting(env, b"java\0-XX:-DisableAttachMechanism\0"),
            None
        );
        assert_eq!(disabled_setting(b"", b""), None);
    }

    #[test]
    fn user_names_from_passwd() {
        let p = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\nbroken\n";
        assert_eq!(passwd_name(p, 65534).as_deref(), Some("nobody"));
        assert_eq!(passwd_name(p, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(p, 7), None);
    }

    #[test]
    fn attaching_to_no_process_or_a_non_jvm_fails_cleanly() {
        let e = execute(u32::MAX - 1, "jcmd", &["VM.version"]).unwrap_err();
        assert!(
            matches!(e.downcast_ref(), Some(AttachError::NoProcess(_))),
            "{e}"
        );
        // This test process is no JVM: refused before any file is created or signal sent.
        let me = std::process::id();
        let e = execute(me, "jcmd", &["VM.version"]).unwrap_err();
        assert!(
            matches!(e.downcast_ref(), Some(AttachError::NotHotSpot { .. })),
            "{e}"
        );
        assert!(!Path::new(&format!("/proc/{me}/cwd/.attach_pid{me}")).exists());
    }
}
