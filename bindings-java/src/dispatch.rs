//! The callback thread: where every send completion reaches Java.
//!
//! Completions arrive on tokio workers (inside an MQTT session task). Calling into the JVM
//! there would let a slow or blocking Java callback stall the session, and would attach every
//! worker to the JVM. Instead each completion is queued here and one native thread, attached to
//! the JVM as a *daemon* thread (so it never keeps the JVM alive), calls
//! `SendCompletion.complete(int code, String message)` for each, in order, and then releases
//! the global reference.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use iotsec::{Error, ErrorKind};
use jni::objects::{JObject, JValue};
use jni::refs::Global;
use jni::vm::JavaVM;
use jni::{jni_sig, jni_str, Env};

use crate::errors::{panic_text, BindResult};

enum Job {
    /// A send completed: `target.complete(code, message)`.
    Complete { target: Global<JObject<'static>>, code: i32, message: Option<String> },
    /// The connection status changed: `target.onStatus(status, reason, code, message)`.
    Status { target: Arc<Global<JObject<'static>>>, status: &'static str, reason: &'static str, code: i32, message: Option<String> },
    /// The last reference to a status sink, released on this (attached) thread.
    Release(Arc<Global<JObject<'static>>>),
}

static SENDER: OnceLock<Sender<Job>> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Starts the callback thread if it is not running yet. Called on a Java thread (inside a
/// native method), so the `JavaVM` is known.
pub(crate) fn ensure_started(env: &Env<'_>) -> BindResult<()> {
    if SENDER.get().is_some() {
        return Ok(());
    }
    let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
    if SENDER.get().is_some() {
        return Ok(());
    }
    let vm = env.get_java_vm()?;
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("iotsec-java-callbacks".into())
        .spawn(move || run(vm, rx))
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the iotsec callback thread: {e}")))?;
    let _ = SENDER.set(tx);
    Ok(())
}

/// Queues the outcome of one send for delivery to `target.complete(code, message)`; code 0 is
/// success, any other is the core `ErrorKind` code.
pub(crate) fn complete(target: Global<JObject<'static>>, result: iotsec::Result<()>) {
    let (code, message) = match result {
        Ok(()) => (0, None),
        Err(e) => (e.kind().code() as i32, Some(e.message().to_string())),
    };
    send(Job::Complete { target, code, message });
}

/// Queues a connection status change for `target.onStatus(String status, String reason, int
/// code, String message)` (code 0 and a null message when no error caused it).
pub(crate) fn status(target: Arc<Global<JObject<'static>>>, change: &iotsec::StateChange, status: iotsec::ConnectionStatus) {
    let (code, message) = match change.state.error() {
        None => (0, None),
        Some(e) => (e.kind().code() as i32, Some(e.message().to_string())),
    };
    send(Job::Status { target, status: status.name(), reason: change.reason.name(), code, message });
}

/// Releases a status sink's reference on the callback thread, after its last status.
pub(crate) fn release(target: Arc<Global<JObject<'static>>>) {
    send(Job::Release(target));
}

fn send(job: Job) {
    match SENDER.get() {
        // If the thread is gone the job (and its reference) is dropped; `Global` releases the
        // reference by attaching the current thread for that moment.
        Some(tx) => drop(tx.send(job)),
        None => drop(job),
    }
}

fn run(vm: JavaVM, rx: Receiver<Job>) {
    if let Err(why) = attach_as_daemon(&vm) {
        eprintln!("iotsec: the callback thread cannot attach to the JVM ({why}); send callbacks will not run");
        for job in rx {
            drop(job);
        }
        return;
    }
    for job in rx {
        let delivered = catch_unwind(AssertUnwindSafe(|| deliver(&vm, job)));
        if let Err(payload) = delivered {
            eprintln!("iotsec: a panic while delivering a send callback was caught: {}", panic_text(&payload));
            std::mem::forget(payload);
        }
    }
}

fn deliver(vm: &JavaVM, job: Job) {
    let (target, code, message) = match job {
        Job::Complete { target, code, message } => (target, code, message),
        Job::Status { target, status, reason, code, message } => return deliver_status(vm, &target, status, reason, code, message),
        Job::Release(target) => return drop(target),
    };
    let outcome = vm.with_local_frame(8, |env| -> jni::errors::Result<()> {
        let text: JObject<'_> = match &message {
            Some(m) => env.new_string(m)?.into(),
            None => JObject::null(),
        };
        let called = env.call_method(
            &target,
            jni_str!("complete"),
            jni_sig!("(ILjava/lang/String;)V"),
            &[JValue::Int(code), JValue::Object(&text)],
        );
        if env.exception_check() {
            // `complete` catches everything a user callback throws; whatever still escapes
            // (an Error such as OutOfMemoryError) is printed and cleared, never propagated.
            env.exception_describe();
            env.exception_clear();
        }
        called.map(|_| ())
    });
    if let Err(e) = outcome {
        eprintln!("iotsec: a send callback could not be delivered: {e}");
    }
    drop(target);
}

fn deliver_status(vm: &JavaVM, target: &Global<JObject<'static>>, status: &str, reason: &str, code: i32, message: Option<String>) {
    let outcome = vm.with_local_frame(8, |env| -> jni::errors::Result<()> {
        let status = env.new_string(status)?;
        let reason = env.new_string(reason)?;
        let text: JObject<'_> = match &message {
            Some(m) => env.new_string(m)?.into(),
            None => JObject::null(),
        };
        let called = env.call_method(
            target,
            jni_str!("onStatus"),
            jni_sig!("(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;)V"),
            &[JValue::Object(&status), JValue::Object(&reason), JValue::Int(code), JValue::Object(&text)],
        );
        if env.exception_check() {
            // `onStatus` catches what a user callback throws; an Error that still escapes is
            // printed and cleared, never propagated.
            env.exception_describe();
            env.exception_clear();
        }
        called.map(|_| ())
    });
    if let Err(e) = outcome {
        eprintln!("iotsec: a connection status callback could not be delivered: {e}");
    }
}

/// `AttachCurrentThreadAsDaemon`: jni 0.22 only offers non-daemon attachments, and a
/// non-daemon thread would keep the JVM from exiting after `main` returns.
fn attach_as_daemon(vm: &JavaVM) -> Result<(), String> {
    let raw = vm.get_raw();
    let mut env: *mut c_void = std::ptr::null_mut();
    let mut args = jni::sys::JavaVMAttachArgs {
        version: jni::sys::JNI_VERSION_1_8,
        name: c"iotsec-java-callbacks".as_ptr() as *mut std::ffi::c_char,
        group: std::ptr::null_mut(),
    };
    // SAFETY: `raw` is the live JavaVM (from a native method's environment); the arguments
    // follow the JNI invocation API; the thread stays attached until it exits with the process.
    let rc = unsafe { ((*(*raw)).v1_4.AttachCurrentThreadAsDaemon)(raw, &mut env, &mut args as *mut _ as *mut c_void) };
    if rc == jni::sys::JNI_OK && !env.is_null() {
        Ok(())
    } else {
        Err(format!("AttachCurrentThreadAsDaemon returned {rc}"))
    }
}
