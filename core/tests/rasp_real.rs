//! RASP on this machine, not fixtures: the attacks of issue 12 reproduced with real code compiled at
//! test time, each in a child process (this test binary run again for one test, told by
//! `SMARTID_RASP_CHILD` what to do) so nothing leaks into the other tests:
//!
//! - an `LD_PRELOAD` shim over open/open64/openat/fopen/read that rewrites `TracerPid`, in a child
//!   that is really traced: the tracer is still seen (raw syscalls) and the shim is reported;
//! - a Frida-like library renamed `libhelper.so` and loaded `RTLD_LOCAL`: found by its strings in
//!   memory (and by its thread's name when it has one), also when loaded after a clean scan, and
//!   behind a large anonymous executable mapping that eats the scan budget;
//! - an anti-Frida detector library holding Frida's names in clear: not reported;
//! - an inline patch at the start of libc's `ptrace`;
//! - fake frida-servers on ephemeral loopback ports, and a plain HTTP server that is not one;
//! - and this plain process: none of these findings.
//!
//! Every report the tests assert on takes its listening sockets from a table the test injects
//! (`hooking::set_listener_source`), never from this host's /proc/net, so a loopback service of the
//! machine running the tests cannot change their outcome. One test is the exception: it compares the
//! kernel's `sock_diag` listing with /proc/net and runs the live check through it, which must find
//! the test's own fake server. The tests hold one lock (the injected table is process-wide). Without a C compiler, or where `PTRACE_TRACEME` is denied (Yama, containers),
//! the tests that need them say why and return; a child still running after 60 s is killed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, unsafe_code)]

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use smartid_core::rasp::hooking::{self, ListenerSource};
use smartid_core::rasp::{
    EnvironmentReport, Finding, FsRoot, Platform, RaspConfig, RaspPolicy, StaticSignals, Threat,
    check_environment,
};

const CHILD: &str = "SMARTID_RASP_CHILD";
const REPORT_LINE: &str = "RASP-REPORT:";
const FIRST_REPORT_LINE: &str = "RASP-FIRST-REPORT:";
const LIBC_TRACER_LINE: &str = "LIBC-TRACERPID:";
/// A child still running after this is killed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// No loopback listeners: the port check has nothing of this host's to probe.
fn no_listeners() {
    hooking::set_listener_source(ListenerSource::Tables {
        tcp: String::new(),
        tcp6: String::new(),
    });
}

/// A /proc/net/tcp text with one loopback listener per port (little-endian hosts).
fn loopback_table(ports: &[u16]) -> String {
    let mut t = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    for (i, port) in ports.iter().enumerate() {
        // A socket inode unique to this test process and port (verdicts are cached by it).
        let inode = u64::from(std::process::id()) * 100_000 + u64::from(*port);
        t.push_str(&format!(
            "   {i}: 0100007F:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  \
             1000        0 {inode} 1\n"
        ));
    }
    t
}

fn system_report(policy: &RaspPolicy) -> EnvironmentReport {
    check_environment(
        &FsRoot::system(),
        Platform::current(),
        &StaticSignals::default(),
        policy,
        &RaspConfig::default(),
    )
    .0
}

/// What the child was asked to do, if this process is one.
fn child_mode() -> Option<String> {
    std::env::var(CHILD).ok()
}

/// The child's last act: print the system report for the parent.
fn print_report() {
    print_report_as(REPORT_LINE);
}

fn print_report_as(prefix: &str) {
    no_listeners();
    let report = system_report(&RaspPolicy::desktop());
    // On a line of its own: libtest has printed "test name ... " without a newline.
    println!("\n{prefix}{}", serde_json::to_string(&report).unwrap());
}

fn workdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smartid-rasp-real-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles C `source` into the shared library `dir/name`; `None` (having said why) when there is no
/// C compiler here.
fn cc(dir: &Path, name: &str, source: &str, defines: &[&str]) -> Option<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    let lib = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = match Command::new(&compiler)
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&src)
        .args(defines)
        .args(["-ldl", "-lpthread"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: no C compiler ({compiler}: {e}); this test needs one");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(lib)
}

/// What a child printed.
struct ChildRun {
    report: EnvironmentReport,
    stdout: String,
    traced: bool,
}

impl ChildRun {
    fn has(&self, check: &str) -> bool {
        self.report.findings.iter().any(|f| f.check == check)
    }
    fn with(&self, check: &str) -> Vec<&Finding> {
        self.report
            .findings
            .iter()
            .filter(|f| f.check == check)
            .collect()
    }
    fn hooking_checks(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .report
            .findings
            .iter()
            .filter(|f| f.threat == Threat::Hooking)
            .map(|f| f.check.as_str())
            .collect();
        v.dedup();
        v
    }
    fn line(&self, prefix: &str) -> Option<&str> {
        self.stdout.lines().find_map(|l| l.strip_prefix(prefix))
    }
}

/// Waits for `pid` (or a stop) for at most until `deadline`: the status, or `None` after killing it.
fn wait_bounded(pid: libc::pid_t, deadline: Instant) -> Option<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child without blocking; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(status);
        }
        assert!(r == 0, "waitpid: {}", std::io::Error::last_os_error());
        if Instant::now() >= deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs test `test` of this binary as a child in `mode`, with `env`; with `trace`, the child is
/// traced by this thread (PTRACE_TRACEME) for its whole life, like a debugger would. `None` (having
/// said why) when the child cannot be traced here.
fn run_child(test: &str, mode: &str, env: &[(&str, &Path)], trace: bool) -> Option<ChildRun> {
    let dir = workdir(&format!("child-{mode}"));
    let out_path = dir.join("stdout");
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stderr")).unwrap(),
        ));
    for (k, v) in env {
        cmd.env(k, v);
    }
    if trace {
        // SAFETY: only an async-signal-safe system call between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let r = libc::ptrace(
                    libc::PTRACE_TRACEME,
                    0,
                    std::ptr::null_mut::<libc::c_void>(),
                    std::ptr::null_mut::<libc::c_void>(),
                );
                if r == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if trace => {
            eprintln!("SKIPPED: PTRACE_TRACEME denied here ({e}: Yama ptrace_scope, a container)");
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        Err(e) => panic!("spawn the child: {e}"),
    };
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let mut traced = false;
    loop {
        let Some(status) = wait_bounded(pid, deadline) else {
            panic!(
                "child {mode} still running after {CHILD_TIMEOUT:?}: killed. stdout: {}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        };
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child {mode} failed ({status:#x}): {}",
                std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
            );
            break;
        }
        if libc::WIFSTOPPED(status) {
            traced = true;
            // The exec stop (SIGTRAP) is swallowed; any other signal is passed on, as a debugger does.
            let sig = libc::WSTOPSIG(status);
            let forward = if sig == libc::SIGTRAP { 0 } else { sig };
            // SAFETY: the child is stopped and traced by this thread.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_CONT,
                    pid,
                    std::ptr::null_mut::<libc::c_void>(),
                    forward as usize as *mut libc::c_void,
                );
            }
        }
    }
    drop(child); // reaped above
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let report = parse_report(&stdout, REPORT_LINE)
        .unwrap_or_else(|| panic!("no report from child {mode}: {stdout}"));
    let _ = std::fs::remove_dir_all(&dir);
    Some(ChildRun {
        report,
        stdout,
        traced,
    })
}

fn parse_report(stdout: &str, prefix: &str) -> Option<EnvironmentReport> {
    let json = stdout.lines().find_map(|l| l.strip_prefix(prefix))?;
    Some(serde_json::from_str(json).unwrap())
}

// ---------------------------------------------------------------------------------------------
// 1. An LD_PRELOAD shim that hides the tracer.

const SHIM_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* fds opened on a .../status file */
static char status_fd[4096];

static void track(int fd, const char *path) {
    if (fd >= 0 && fd < 4096) {
        size_t n = path ? strlen(path) : 0;
        status_fd[fd] = n >= 7 && strcmp(path + n - 7, "/status") == 0;
    }
}

/* TracerPid:\t1234 -> TracerPid:\t0000 */
static void hide(char *buf, ssize_t n) {
    for (ssize_t i = 0; i + 10 <= n; i++) {
        if (memcmp(buf + i, "TracerPid:", 10) == 0) {
            for (ssize_t j = i + 10; j < n && buf[j] != '\n'; j++)
                if (buf[j] >= '1' && buf[j] <= '9') buf[j] = '0';
        }
    }
}

#define MODE int mode = 0; \
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, int); va_end(ap); }

int open(const char *path, int flags, ...) {
    MODE
    static int (*real)(const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "open");
    int fd = real(path, flags, mode);
    track(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...) {
    MODE
    static int (*real)(const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "open64");
    int fd = real(path, flags, mode);
    track(fd, path);
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...) {
    MODE
    static int (*real)(int, const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "openat");
    int fd = real(dirfd, path, flags, mode);
    track(fd, path);
    return fd;
}

FILE *fopen(const char *path, const char *m) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = dlsym(RTLD_NEXT, "fopen");
    FILE *f = real(path, m);
    if (f) track(fileno(f), path);
    return f;
}

ssize_t read(int fd, void *buf, size_t count) {
    static ssize_t (*real)(int, void *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "read");
    ssize_t n = real(fd, buf, count);
    if (n > 0 && fd >= 0 && fd < 4096 && status_fd[fd]) hide(buf, n);
    return n;
}
"#;

/// TracerPid as libc (and so the shim) shows it.
fn tracer_pid_via_libc() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn ld_preload_shim_hiding_the_tracer_is_reported_and_does_not_hide_it() {
    if child_mode().as_deref() == Some("shim") {
        println!("\n{LIBC_TRACER_LINE}{}", tracer_pid_via_libc());
        print_report();
        return;
    }
    let _lock = serial();
    let dir = workdir("shim");
    let Some(shim) = cc(&dir, "libtracerhide.so", SHIM_C, &[]) else {
        return;
    };
    let Some(run) = run_child(
        "ld_preload_shim_hiding_the_tracer_is_reported_and_does_not_hide_it",
        "shim",
        &[("LD_PRELOAD", shim.as_path())],
        true,
    ) else {
        return;
    };
    eprintln!(
        "shim child: traced={} hooking checks={:?}",
        run.traced,
        run.hooking_checks()
    );
    // The shim is in the process and named.
    let interposed = run.with("hooking.interposed");
    for f in ["open", "open64", "openat", "fopen", "read"] {
        assert!(
            interposed.iter().any(|x| x
                .evidence
                .starts_with(&format!("{f} resolves to libtracerhide.so"))),
            "{f}: {interposed:?}"
        );
    }
    assert!(
        run.with("hooking.ld_preload")
            .iter()
            .any(|f| f.evidence == "LD_PRELOAD is set: libtracerhide.so"),
        "{:?}",
        run.report.findings
    );
    // The child was traced by this thread: libc's view (through the shim) says it is not, the raw
    // syscalls say it is, and name the tracer as the child's parent of the same uid.
    assert!(
        run.traced,
        "the child should have stopped at exec under ptrace"
    );
    assert_eq!(
        run.line(LIBC_TRACER_LINE),
        Some("0"),
        "the shim hides TracerPid from libc readers"
    );
    let tracer = run.with("debugger.tracer_pid");
    assert!(
        tracer.iter().any(|f| f
            .evidence
            .contains("the tracer is this process's parent, same uid")),
        "raw syscalls still see the tracer: {:?}",
        run.report.findings
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// 2. A Frida-like library, renamed and loaded RTLD_LOCAL; a detector that is not one.

/// What a Frida agent carries: its entry point, its JS thread and GLib type names, the RPC tag; a
/// constructor that starts the JS thread and maps RWX memory for its code.
const AGENT_C: &str = r#"
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((used)) static const char *const agent_strings[] = {
    "gum-js-loop", "GumInterceptor", "FridaScriptEngine", "frida:rpc", "/re/frida/AgentSession",
};

const char *agent_string(int i) { return agent_strings[i % 5]; }

#ifdef PAD_MB
/* Bulk, read-only: a large image the scan budget cannot read in one run. */
__attribute__((used)) static const char agent_pad[PAD_MB << 20] = {1};
const char *agent_bulk(int i) { return &agent_pad[i]; }
#endif

int frida_agent_main(const char *data, void *state) { (void) data; (void) state; return 0; }

static volatile int named;

#ifndef NO_THREAD
static void *js_loop(void *arg) {
    (void) arg;
    pthread_setname_np(pthread_self(), "gum-js-loop");
    named = 1;
    for (;;) pause();
    return 0;
}
#endif

__attribute__((constructor)) static void agent_init(void) {
    unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code != MAP_FAILED) memset(code, 0xc3, 64); /* trampolines: code, no strings */
#ifndef NO_THREAD
    pthread_t t;
    if (pthread_create(&t, 0, js_loop, 0) == 0)
        for (int i = 0; i < 2000 && !named; i++) usleep(1000);
#endif
}
"#;

fn dlopen(path: &Path, flags: libc::c_int) {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: loading a library this test just built; its constructor only maps a page and starts a
    // thread.
    let handle = unsafe { libc::dlopen(c.as_ptr(), flags) };
    assert!(!handle.is_null(), "dlopen {path:?} failed");
}

/// The agent (`AGENT_C`) compiled into `dir/<sub>/libhelper.so`.
fn agent_lib(dir: &Path, sub: &str, defines: &[&str]) -> Option<PathBuf> {
    let d = dir.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    cc(&d, "libhelper.so", AGENT_C, defines)
}

#[test]
fn renamed_frida_like_library_loaded_locally_is_detected() {
    if let Some(mode) = child_mode() {
        let path = std::env::var_os("AGENT").unwrap();
        assert!(mode.starts_with("agent"));
        dlopen(Path::new(&path), libc::RTLD_NOW | libc::RTLD_LOCAL);
        print_report();
        return;
    }
    let _lock = serial();
    let dir = workdir("agent");
    let (Some(lib), Some(lib_quiet)) = (
        agent_lib(&dir, "thread", &[]),
        agent_lib(&dir, "nothread", &["-DNO_THREAD"]),
    ) else {
        return;
    };
    let test = "renamed_frida_like_library_loaded_locally_is_detected";

    let run = run_child(test, "agent", &[("AGENT", lib.as_path())], false).unwrap();
    eprintln!(
        "libhelper.so with its thread: caught by {:?}",
        run.hooking_checks()
    );
    assert!(
        run.with("hooking.memory")
            .iter()
            .any(|f| f.evidence.contains("in mapped image libhelper.so")),
        "{:?}",
        run.report.findings
    );
    assert!(
        run.with("hooking.thread")
            .iter()
            .any(|f| f.evidence == "instrumentation thread: gum-js-loop"),
        "{:?}",
        run.report.findings
    );

    let quiet = run_child(
        test,
        "agent-nothread",
        &[("AGENT", lib_quiet.as_path())],
        false,
    )
    .unwrap();
    eprintln!(
        "libhelper.so without a thread: caught by {:?}",
        quiet.hooking_checks()
    );
    // The string scan alone catches it; what the old checks relied on sees nothing: the name is
    // innocent and RTLD_LOCAL keeps its entry point out of the global scope.
    assert_eq!(
        quiet.hooking_checks(),
        ["hooking.memory"],
        "{:?}",
        quiet.report.findings
    );
    let f = &quiet.with("hooking.memory")[0];
    // A runtime-only string, and the entry point really exported (from its .dynsym).
    assert!(f.evidence.contains("GumInterceptor"), "{}", f.evidence);
    assert!(
        f.evidence
            .ends_with("in mapped image libhelper.so, which exports frida_agent_main"),
        "{}",
        f.evidence
    );
    // Its anonymous RWX page alone is nothing: no finding names anonymous memory.
    assert!(
        !quiet
            .report
            .findings
            .iter()
            .any(|f| f.evidence.contains("anonymous"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An anti-Frida detector (the DetectFrida / OWASP MASTG pattern) keeps Frida's names in clear to
/// look for them: thread names, the RPC tag, file names, even the entry point's name for `dlsym`.
/// Loaded next to nothing it is not reported; loaded next to the agent, only the agent is.
const DETECTOR_C: &str = r#"
#include <dlfcn.h>
#include <string.h>

__attribute__((used)) static const char *const suspicious[] = {
    "frida", "gum-js-loop", "gmain", "gdbus", "pool-frida", "linjector", "frida:rpc",
    "frida-agent", "frida-gadget", "LIBFRIDA", "frida_agent_main", "/data/local/tmp/frida-server",
};

int detect_frida(const char *line) {
    for (unsigned i = 0; i < sizeof suspicious / sizeof *suspicious; i++)
        if (strstr(line, suspicious[i])) return 1;
    return dlsym(RTLD_DEFAULT, "frida_agent_main") != 0;
}
"#;

#[test]
fn an_anti_frida_detector_library_is_not_reported() {
    if let Some(mode) = child_mode() {
        dlopen(
            Path::new(&std::env::var_os("DETECTOR").unwrap()),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        );
        if mode == "detector-and-agent" {
            dlopen(
                Path::new(&std::env::var_os("AGENT").unwrap()),
                libc::RTLD_NOW | libc::RTLD_LOCAL,
            );
        }
        print_report();
        return;
    }
    let _lock = serial();
    let dir = workdir("detector");
    let (Some(detector), Some(agent)) = (
        cc(&dir, "libantifrida.so", DETECTOR_C, &[]),
        agent_lib(&dir, "agent", &["-DNO_THREAD"]),
    ) else {
        return;
    };
    let test = "an_anti_frida_detector_library_is_not_reported";
    let alone = run_child(test, "detector", &[("DETECTOR", detector.as_path())], false).unwrap();
    assert!(
        alone
            .report
            .findings
            .iter()
            .all(|f| f.threat != Threat::Hooking),
        "{:?}",
        alone.report.findings
    );
    let both = run_child(
        test,
        "detector-and-agent",
        &[("DETECTOR", detector.as_path()), ("AGENT", agent.as_path())],
        false,
    )
    .unwrap();
    let memory = both.with("hooking.memory");
    assert_eq!(memory.len(), 1, "{:?}", both.report.findings);
    assert!(
        memory[0].evidence.contains("libhelper.so"),
        "{}",
        memory[0].evidence
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An agent loaded after a first, clean scan (whose images are then remembered clean) is found by
/// the next run.
#[test]
fn an_agent_loaded_after_a_clean_scan_is_found_on_a_later_run() {
    if child_mode().as_deref() == Some("late") {
        print_report_as(FIRST_REPORT_LINE);
        dlopen(
            Path::new(&std::env::var_os("AGENT").unwrap()),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        );
        print_report();
        return;
    }
    let _lock = serial();
    let dir = workdir("late");
    let Some(agent) = agent_lib(&dir, "agent", &["-DNO_THREAD"]) else {
        return;
    };
    let run = run_child(
        "an_agent_loaded_after_a_clean_scan_is_found_on_a_later_run",
        "late",
        &[("AGENT", agent.as_path())],
        false,
    )
    .unwrap();
    let first = parse_report(&run.stdout, FIRST_REPORT_LINE).unwrap();
    assert!(
        first.findings.iter().all(|f| f.threat != Threat::Hooking),
        "{:?}",
        first.findings
    );
    assert!(
        run.with("hooking.memory")
            .iter()
            .any(|f| f.evidence.contains("libhelper.so")),
        "{:?}",
        run.report.findings
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const STARVED_LINE: &str = "STARVATION:";
/// A large resident anonymous executable mapping.
const BIG_ANON: usize = 32 << 20;

/// A large anonymous executable mapping (a JIT cache) eats the scan budget: an agent image loaded
/// with it (itself larger than one run's budget) is still found, first, within a few runs; Frida's
/// strings at the very end of the large mapping within the runs its capped share needs; no run reads
/// more than the budget.
#[test]
fn budget_starvation_does_not_hide_the_agent_forever() {
    if child_mode().as_deref() == Some("starve") {
        // SAFETY: a fresh private anonymous mapping, written within its length, never unmapped.
        unsafe {
            let big = libc::mmap(
                std::ptr::null_mut(),
                BIG_ANON,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(big, libc::MAP_FAILED);
            // Touched (resident), like a JIT cache in use; Frida's strings in its last page.
            std::ptr::write_bytes(big.cast::<u8>(), 0xc3, BIG_ANON);
            let text = b"GumInterceptor\0gum-js-loop\0frida:rpc\0FridaScriptEngine\0";
            let at = big.cast::<u8>().add(BIG_ANON - 4096);
            std::ptr::copy_nonoverlapping(text.as_ptr(), at, text.len());
        }
        dlopen(
            Path::new(&std::env::var_os("AGENT").unwrap()),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        );
        let (mut image_at, mut anon_at) = (None, None);
        let mut max_read = 0u64;
        let mut micros = Vec::new();
        for run in 1..=40u32 {
            let (found, _, stats) = hooking::scan_memory_once();
            max_read = max_read.max(stats.bytes_read);
            micros.push(stats.micros);
            if image_at.is_none() && found.iter().any(|f| f.evidence.contains("libhelper.so")) {
                image_at = Some(run);
            }
            if anon_at.is_none()
                && found
                    .iter()
                    .any(|f| f.evidence.ends_with("anonymous executable memory"))
            {
                anon_at = Some(run);
            }
            if image_at.is_some() && anon_at.is_some() {
                break;
            }
        }
        println!(
            "\n{STARVED_LINE}{} {} {max_read} {}",
            image_at.unwrap_or(0),
            anon_at.unwrap_or(0),
            micros.iter().max().copied().unwrap_or(0)
        );
        print_report();
        return;
    }
    let _lock = serial();
    let dir = workdir("starve");
    // 20 MiB of read-only bulk: more than two runs' budget.
    let Some(agent) = agent_lib(&dir, "agent", &["-DNO_THREAD", "-DPAD_MB=20"]) else {
        return;
    };
    let run = run_child(
        "budget_starvation_does_not_hide_the_agent_forever",
        "starve",
        &[("AGENT", agent.as_path())],
        false,
    )
    .unwrap();
    let line = run.line(STARVED_LINE).unwrap();
    let v: Vec<u64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
    let (image_at, anon_at, max_read, max_micros) = (v[0], v[1], v[2], v[3]);
    eprintln!(
        "starvation: agent image found on run {image_at}, strings at the end of {} MiB of \
         anonymous code on run {anon_at}; at most {max_read} bytes and {max_micros} µs per run",
        BIG_ANON >> 20
    );
    assert!(max_read <= hooking::SCAN_BUDGET, "{max_read}");
    // The image: ~21 MiB at (budget − share) per run.
    let image_runs = (21u64 << 20).div_ceil(hooking::SCAN_BUDGET - hooking::UNCACHEABLE_SHARE) + 1;
    assert!((1..=image_runs).contains(&image_at), "{line}");
    // The anonymous strings: the whole mapping at the share per run (plus the agent's own small RWX
    // page and rounding).
    let anon_runs = (BIG_ANON as u64).div_ceil(hooking::UNCACHEABLE_SHARE) + 2;
    assert!((1..=anon_runs).contains(&anon_at), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The agent under its own name, loaded RTLD_GLOBAL: the name and symbol checks still see it.
#[test]
fn dlopened_frida_lookalike_is_reported() {
    const ENTRY_ONLY_C: &str = "int frida_agent_main(const char *data, void *state) { (void)data; (void)state; return 0; }\n";
    if child_mode().as_deref() == Some("global") {
        dlopen(
            Path::new(&std::env::var_os("AGENT").unwrap()),
            libc::RTLD_NOW | libc::RTLD_GLOBAL,
        );
        print_report();
        // The bank policy blocks it.
        let blocked = system_report(&RaspPolicy::mobile());
        assert!(blocked.blocking.contains(&Threat::Hooking));
        return;
    }
    let _lock = serial();
    let dir = workdir("global");
    let Some(lib) = cc(&dir, "frida-agent-64.so", ENTRY_ONLY_C, &[]) else {
        return;
    };
    let run = run_child(
        "dlopened_frida_lookalike_is_reported",
        "global",
        &[("AGENT", lib.as_path())],
        false,
    )
    .unwrap();
    assert!(
        run.with("hooking.maps")
            .iter()
            .any(|f| f.evidence.contains("frida-agent-64.so")),
        "{:?}",
        run.report.findings
    );
    assert!(
        run.with("hooking.symbol")
            .iter()
            .any(|f| f.evidence.contains("frida_agent_main")),
        "{:?}",
        run.report.findings
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Frida's runtime strings copied into anonymous executable memory (an agent loaded from memory) are
/// found by content; a detector's strings there are not.
#[test]
fn frida_strings_in_anonymous_executable_memory_are_found() {
    if let Some(mode) = child_mode() {
        let text: &[u8] = if mode == "anon" {
            b"\xc3\xc3gum-js-loop\0GumInterceptor\0frida:rpc\0FridaScriptEngine\0"
        } else {
            b"\xc3\xc3gum-js-loop\0frida:rpc\0frida_agent_main\0frida\0"
        };
        // SAFETY: a fresh private anonymous mapping, written within its length, never unmapped.
        unsafe {
            let page = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(page, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(text.as_ptr(), page.cast::<u8>(), text.len());
        }
        print_report();
        return;
    }
    let _lock = serial();
    let test = "frida_strings_in_anonymous_executable_memory_are_found";
    let run = run_child(test, "anon", &[], false).unwrap();
    assert!(
        run.with("hooking.memory").iter().any(|f| f.evidence
            == "Frida runtime strings (gum-js-loop, GumInterceptor, frida:rpc, FridaScriptEngine) \
                in anonymous executable memory"),
        "{:?}",
        run.report.findings
    );
    let detector = run_child(test, "anon-detector", &[], false).unwrap();
    assert!(
        !detector.has("hooking.memory"),
        "{:?}",
        detector.report.findings
    );
}

// ---------------------------------------------------------------------------------------------
// 3. An inline patch of a libc function.

extern "C" fn replacement_ptrace() -> libc::c_long {
    -1
}

/// Writes an absolute jump to `to` over the first bytes of `at` (what Frida's Interceptor does).
unsafe fn write_jump(at: *mut u8, to: usize) {
    #[cfg(target_arch = "x86_64")]
    let code: Vec<u8> = {
        let mut c = vec![0xff, 0x25, 0, 0, 0, 0]; // jmp [rip+0]
        c.extend_from_slice(&(to as u64).to_le_bytes());
        c
    };
    #[cfg(target_arch = "aarch64")]
    let code: Vec<u8> = {
        let mut c = vec![0x50, 0x00, 0x00, 0x58, 0x00, 0x02, 0x1f, 0xd6]; // ldr x16, #8; br x16
        c.extend_from_slice(&(to as u64).to_le_bytes());
        c
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let code: Vec<u8> = vec![0; 16];
    // SAFETY: the caller made the page writable; 14–16 bytes fit in the function's first bytes.
    unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), at, code.len()) };
}

#[test]
fn inline_patch_of_a_libc_function_is_detected() {
    if child_mode().as_deref() == Some("patch") {
        // SAFETY: looks up ptrace in libc; nothing in this child calls ptrace (the checks do not).
        unsafe {
            let f = libc::dlsym(libc::RTLD_DEFAULT, c"ptrace".as_ptr()) as usize;
            assert_ne!(f, 0);
            let page = f & !4095;
            let r = libc::mprotect(
                page as *mut libc::c_void,
                8192,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            );
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
            write_jump(f as *mut u8, replacement_ptrace as *const () as usize);
        }
        print_report();
        return;
    }
    let _lock = serial();
    let run = run_child(
        "inline_patch_of_a_libc_function_is_detected",
        "patch",
        &[],
        false,
    )
    .unwrap();
    eprintln!("patched ptrace: caught by {:?}", run.hooking_checks());
    let patched = run.with("hooking.patched");
    assert_eq!(patched.len(), 1, "{:?}", run.report.findings);
    assert!(
        patched[0]
            .evidence
            .starts_with("ptrace: first 16 bytes in memory differ from libc"),
        "{}",
        patched[0].evidence
    );
    assert!(!run.has("hooking.interposed"), "{:?}", run.report.findings);
}

// ---------------------------------------------------------------------------------------------
// 4. This plain process.

#[test]
fn this_plain_process_has_no_hooking_findings() {
    let _lock = serial();
    no_listeners();
    let start = Instant::now();
    let before = system_report(&RaspPolicy::desktop());
    let first_run = start.elapsed();
    let first_scan = hooking::memory_scan_stats();
    assert!(
        before.findings.iter().all(|f| f.threat != Threat::Hooking),
        "{:?}",
        before.findings
    );
    // An anonymous executable mapping (a JIT, libffi closures) alone is not a finding.
    // SAFETY: a fresh private anonymous mapping, unmapped below.
    let page = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        std::ptr::write_bytes(p.cast::<u8>(), 0xc3, 64);
        p
    };
    let start = Instant::now();
    let after = system_report(&RaspPolicy::desktop());
    let second_run = start.elapsed();
    let second_scan = hooking::memory_scan_stats();
    // SAFETY: the mapping made above, unmapped once.
    unsafe { libc::munmap(page, 4096) };
    assert!(
        after.findings.iter().all(|f| f.threat != Threat::Hooking),
        "{:?}",
        after.findings
    );
    // Every process check ran here (root can read everything on this machine).
    let process_checks = [
        "hooking.memory",
        "hooking.interposed",
        "hooking.patched",
        "hooking.frida_port",
        "hooking.maps",
        "debugger.tracer_pid",
    ];
    assert!(
        after
            .skipped
            .iter()
            .all(|s| !process_checks.contains(&s.check.as_str())),
        "{:?}",
        after.skipped
    );
    assert!(first_scan.bytes_read <= hooking::SCAN_BUDGET);
    assert!(second_scan.bytes_read <= hooking::SCAN_BUDGET);
    eprintln!(
        "plain process: findings {:?}, skipped {:?}; full check run 1: {first_run:?} \
         (memory scan {first_scan:?}), run 2: {second_run:?} (memory scan {second_scan:?})",
        after.findings, after.skipped
    );
}

// ---------------------------------------------------------------------------------------------
// 5. frida-server on loopback, by its answer.

/// A loopback server answering each connection with `answer(request)`, until dropped; counts the
/// connections it accepted.
struct FakeServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(answer: fn(&mut TcpStream)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_millis(200)))
                            .unwrap();
                        answer(&mut s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_some(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].to_vec()
}

/// frida-server before 15: D-Bus, whose AUTH without a mechanism it rejects.
fn dbus_frida(s: &mut TcpStream) {
    let _ = read_some(s);
    let _ = s.write_all(b"REJECTED EXTERNAL\r\n");
}

/// frida-server 15+: D-Bus over WebSocket at /ws.
fn websocket_frida(s: &mut TcpStream) {
    let req = read_some(s);
    if !req.starts_with(b"GET /ws ") {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let _ = s.write_all(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    let frame = read_some(s);
    // A masked binary frame holding a D-Bus method call: answer with a method return.
    if frame.len() > 6 + 4 && frame[0] == 0x82 && frame[1] & 0x80 != 0 {
        let mut reply = vec![0x82, 16];
        reply.extend_from_slice(b"l\x02\x01\x01\0\0\0\0\x01\0\0\0\0\0\0\0");
        let _ = s.write_all(&reply);
    }
}

/// Something else: an HTTP server answering 200 to everything.
fn plain_http(s: &mut TcpStream) {
    let _ = read_some(s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\n\r\nok");
}

/// A server that accepts and then drips a byte every 20 ms, never completing an answer (until the
/// client goes away).
fn dripping(s: &mut TcpStream) {
    for _ in 0..250 {
        if s.write_all(b"x").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port_findings(r: &EnvironmentReport) -> Vec<&Finding> {
    r.findings
        .iter()
        .filter(|f| f.check == "hooking.frida_port")
        .collect()
}

#[test]
fn frida_server_is_recognised_by_its_answer_only() {
    let _lock = serial();
    let dbus = FakeServer::start(dbus_frida);
    let found = hooking::probe_loopback_ports(&[dbus.port]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].check, "hooking.frida_port");
    assert_eq!(
        found[0].evidence,
        format!(
            "a loopback server on port {} answers like frida-server (D-Bus AUTH REJECTED)",
            dbus.port
        )
    );
    // The full check finds it among the listening sockets of the (injected) /proc/net/tcp.
    hooking::set_listener_source(ListenerSource::Tables {
        tcp: loopback_table(&[dbus.port]),
        tcp6: String::new(),
    });
    let report = system_report(&RaspPolicy::desktop());
    assert!(
        port_findings(&report)
            .iter()
            .any(|f| f.evidence.contains(&dbus.port.to_string())),
        "{:?}",
        report.findings
    );
    drop(dbus);

    let ws = FakeServer::start(websocket_frida);
    let found = hooking::probe_loopback_ports(&[ws.port]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].evidence.ends_with("(D-Bus over WebSocket)"),
        "{found:?}"
    );
    drop(ws);

    let http = FakeServer::start(plain_http);
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = Instant::now();
    assert_eq!(hooking::probe_loopback_ports(&[http.port, closed]), vec![]);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    hooking::set_listener_source(ListenerSource::Tables {
        tcp: loopback_table(&[http.port, closed]),
        tcp6: String::new(),
    });
    let report = system_report(&RaspPolicy::desktop());
    assert!(port_findings(&report).is_empty(), "{:?}", report.findings);
    drop(http);
    no_listeners();
}

/// The kernel's `sock_diag` answer, which the live check asks first, lists the same listening
/// sockets with the same inodes as /proc/net/tcp{,6}, its fallback (which makes the kernel walk every
/// socket), and no connection; and the live check, listing through it, finds a fake frida-server on
/// an ephemeral port.
#[test]
fn sock_diag_lists_what_proc_net_lists_and_the_live_check_finds_frida_through_it() {
    let _lock = serial();
    let loopback = TcpListener::bind("127.0.0.1:0").unwrap();
    let any = TcpListener::bind("0.0.0.0:0").unwrap();
    // Some containers have no IPv6 loopback: the family is then only compared, not asserted.
    let v6 = TcpListener::bind("[::1]:0").ok();
    let client = TcpStream::connect(loopback.local_addr().unwrap()).unwrap();
    let (accepted, _) = loopback.accept().unwrap();
    let key = |l: &hooking::Listener| (l.port, l.v6, l.loopback, l.any, l.inode);
    // Another process may open or close a listener between the two listings: compare a few times.
    let mut listings = None;
    for _ in 0..5 {
        let (diag, proc_net) = hooking::listeners_both_ways();
        let mut diag: Vec<_> = diag
            .expect("sock_diag answers here")
            .iter()
            .map(key)
            .collect();
        let mut proc_net: Vec<_> = proc_net
            .expect("/proc/net/tcp is readable here")
            .iter()
            .map(key)
            .collect();
        diag.sort_unstable();
        proc_net.sort_unstable();
        let same = diag == proc_net;
        listings = Some((diag, proc_net));
        if same {
            break;
        }
    }
    let (diag, proc_net) = listings.unwrap();
    assert_eq!(diag, proc_net, "sock_diag against /proc/net");
    let find = |port: u16, v6: bool| diag.iter().filter(|l| l.0 == port && l.1 == v6).count();
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    assert_eq!(find(port(&loopback), false), 1);
    assert!(diag.iter().any(|l| l.0 == port(&loopback) && l.2 && !l.3));
    assert!(diag.iter().any(|l| l.0 == port(&any) && !l.2 && l.3));
    if let Some(v6) = &v6 {
        assert!(diag.iter().any(|l| l.0 == port(v6) && l.1 && l.2));
    }
    // The client's end of the connection (the accepted end shares the listener's port).
    let connected = client.local_addr().unwrap();
    assert!(
        !diag.iter().any(|l| l.0 == connected.port() && !l.1),
        "{connected} is a connection, not a listener"
    );
    drop((client, accepted, loopback, any, v6));

    // The live check, with the kernel's listing: the fake server is probed and recognised.
    let dbus = FakeServer::start(dbus_frida);
    hooking::set_listener_source(ListenerSource::System);
    let report = system_report(&RaspPolicy::desktop());
    assert_eq!(hooking::last_listing(), Some(hooking::Listing::SockDiag));
    assert!(
        port_findings(&report)
            .iter()
            .any(|f| f.evidence.contains(&format!("port {} ", dbus.port))),
        "{:?}",
        report.findings
    );
    drop(dbus);
    no_listeners();
}

/// Without /proc/net (Android 10+) the default ports are probed, and their result is reused for a
/// while rather than probed on every run.
#[test]
fn default_port_probes_are_cached_between_runs() {
    let _lock = serial();
    let dbus = FakeServer::start(dbus_frida);
    hooking::set_listener_source(ListenerSource::DefaultPorts(vec![dbus.port]));
    let first = system_report(&RaspPolicy::desktop());
    assert_eq!(port_findings(&first).len(), 1, "{:?}", first.findings);
    assert!(
        first.skipped.iter().any(|s| s.check == "hooking.frida_port"
            && s.reason.contains("only Frida's default ports were probed")),
        "{:?}",
        first.skipped
    );
    let connections = dbus.accepted.load(Ordering::Relaxed);
    assert!(connections >= 1);
    let second = system_report(&RaspPolicy::desktop());
    assert_eq!(port_findings(&second).len(), 1, "{:?}", second.findings);
    assert_eq!(
        dbus.accepted.load(Ordering::Relaxed),
        connections,
        "the second run reused the first one's result"
    );
    drop(dbus);
    no_listeners();
}

/// Listeners that accept and never finish an answer cannot hold a run past its deadline.
#[test]
fn port_probes_have_one_deadline_per_run() {
    let _lock = serial();
    let servers: Vec<FakeServer> = (0..4).map(|_| FakeServer::start(dripping)).collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let start = Instant::now();
    assert_eq!(hooking::probe_loopback_ports(&ports), vec![]);
    let took = start.elapsed();
    assert!(
        took < hooking::RUN_DEADLINE + Duration::from_millis(60),
        "{took:?}"
    );
    // The full check, from a table listing them: bounded too, and it says not all were probed.
    hooking::set_listener_source(ListenerSource::Tables {
        tcp: loopback_table(&ports),
        tcp6: String::new(),
    });
    let start = Instant::now();
    let report = system_report(&RaspPolicy::desktop());
    let took = start.elapsed();
    assert!(port_findings(&report).is_empty(), "{:?}", report.findings);
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.check == "hooking.frida_port"),
        "{:?}",
        report.skipped
    );
    eprintln!("full check with 4 dripping listeners: {took:?}");
    no_listeners();
    drop(servers);
}
