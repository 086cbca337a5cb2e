//! The native half of the Java package `io.iotsec` (artifact `io.iotsec:iotsec`).
//!
//! Every `native` method of `io.iotsec.device.NativeBridge` lands here. The layer is thin: it
//! turns Java values into core types, calls the core, and turns core errors into Java
//! exceptions (built by `NativeBridge.exception`). All behaviour lives in the `iotsec` crate.
//!
//! Rules kept at every entry point:
//! - no panic crosses into the JVM: each entry runs inside `EnvUnowned::with_env`, which catches
//!   panics, and the [`Throw`] policy turns errors and panics into Java exceptions;
//! - no secret (key, signature) is put into a message: core errors never contain one, and this
//!   layer adds none;
//! - send completions reach Java on one daemon thread ([`dispatch`]), never on a tokio worker,
//!   so a slow or throwing Java callback cannot stall an MQTT session.
#![allow(clippy::too_many_arguments)]

mod dispatch;
mod errors;

use std::sync::{Arc, Mutex};

use iotsec::client::ClientOptions;
use iotsec::schema;
use iotsec::{Client, Error, ErrorKind, Message};
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use jni::refs::{Global, IntoAuto as _, Reference as _};
use jni::sys::{jboolean, jint, jlong};
use jni::{Env, EnvUnowned};

use errors::{BindResult, Throw};

/// Which client a constructor asked for.
const KIND_ANY: jint = 0;
const KIND_DEVICE: jint = 1;
const KIND_MODULE: jint = 2;

/// Length of the system-property array `Message.systemArray()` hands over (its order is the
/// order of the setters in `message_from`).
const SYSTEM_PROPERTY_COUNT: usize = 10;

/// A Java `String` argument, or `None` for `null`.
fn opt_string(env: &Env<'_>, s: &JString<'_>) -> BindResult<Option<String>> {
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(s.try_to_string(env)?))
}

/// A Java `String` argument that must not be `null`.
fn req_string(env: &Env<'_>, s: &JString<'_>, what: &str) -> BindResult<String> {
    opt_string(env, s)?.ok_or_else(|| Error::invalid_argument(format!("{what} must not be null")).into())
}

/// The elements of a `String[]` (each may be `null`).
fn string_array(env: &mut Env<'_>, array: &JObjectArray<'_, JString<'_>>) -> BindResult<Vec<Option<String>>> {
    if array.is_null() {
        return Ok(Vec::new());
    }
    let len = array.len(env)?;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let element = array.get_element(env, i)?.auto();
        out.push(opt_string(env, &element)?);
    }
    Ok(out)
}

/// The client behind a handle from `clientNew`.
///
/// # Safety
/// `handle` must come from `clientNew` and not have been passed to `clientFree`. The Java side
/// guarantees this: handles are freed only by a `Cleaner` once the owning object is unreachable,
/// and every native call on a handle is followed by `Reference.reachabilityFence`.
unsafe fn client_ref<'a>(handle: jlong) -> BindResult<&'a Client> {
    if handle == 0 {
        return Err(Error::new(ErrorKind::Closed, "the client is closed").into());
    }
    // SAFETY: see the function's contract.
    Ok(unsafe { &*(handle as *const Client) })
}

/// Runs when the JVM loads the library: `IOTSEC_LOG=trace` (or a level or filter) in the
/// environment logs iotsec, rumqttc and rustls on standard error; unset, nothing is logged.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(_vm: *mut jni::sys::JavaVM, _reserved: *mut std::ffi::c_void) -> jint {
    let _ = std::panic::catch_unwind(iotsec::client::init_logging_from_env);
    jni::sys::JNI_VERSION_1_8
}

/// `static native long clientNew(String connectionString, int kind, String[] options)`: parses
/// the connection string, reads the options (triples of Java name, core name and value as text;
/// core's `ClientOptions::set_by_name` checks them), creates the core client (nothing is sent
/// yet).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientNew<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    connection_string: JString<'local>,
    kind: jint,
    options: JObjectArray<'local, JString<'local>>,
) -> jlong {
    unowned
        .with_env(|env| -> BindResult<jlong> {
            let cs = req_string(env, &connection_string, "connectionString")?;
            let triples = string_array(env, &options)?;
            if triples.len() % 3 != 0 {
                return Err(Error::new(ErrorKind::Internal, "client options are not triples").into());
            }
            let mut options = ClientOptions::default();
            for t in triples.chunks(3) {
                let (Some(java_name), Some(name), Some(value)) = (&t[0], &t[1], &t[2]) else {
                    return Err(Error::new(ErrorKind::Internal, "a client option is null").into());
                };
                options.set_by_name(name, value).map_err(|e| e.context(format!("ClientOptions.{java_name}")))?;
            }
            let client = match kind {
                KIND_DEVICE => Client::device_from_connection_string(&cs, options)?,
                KIND_MODULE => Client::module_from_connection_string(&cs, options)?,
                KIND_ANY => Client::from_connection_string(&cs, options)?,
                other => return Err(Error::invalid_argument(format!("client kind {other} is unknown")).into()),
            };
            Ok(Box::into_raw(Box::new(client)) as jlong)
        })
        .resolve::<Throw>()
}

/// `static native void clientFree(long handle)`: drops the client (called by a `Cleaner`).
/// Sends still outstanding fail with `CLOSED`, so their callbacks still run once.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientFree<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    unowned
        .with_env(|_env| -> BindResult<()> {
            if handle != 0 {
                // SAFETY: the handle came from `clientNew` and the Cleaner runs exactly once.
                drop(unsafe { Box::from_raw(handle as *mut Client) });
            }
            Ok(())
        })
        .resolve::<Throw>()
}

/// `static native void clientOpen(long handle)`: connects and waits for the CONNACK.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientOpen<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    unowned
        .with_env(|_env| -> BindResult<()> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? }.clone();
            client.connect_blocking()?;
            Ok(())
        })
        .resolve::<Throw>()
}

/// `static native void clientClose(long handle, boolean now)`: `now` cancels outstanding sends
/// at once (their callbacks get `CLOSED`); otherwise a graceful DISCONNECT after they finish.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientClose<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    now: jboolean,
) {
    unowned
        .with_env(|_env| -> BindResult<()> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? }.clone();
            if now {
                client.close_now();
            } else {
                client.close_blocking();
            }
            Ok(())
        })
        .resolve::<Throw>()
}

/// `static native boolean clientIsConnected(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientIsConnected<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jboolean {
    unowned
        .with_env(|_env| -> BindResult<jboolean> {
            // SAFETY: see `client_ref`.
            Ok(unsafe { client_ref(handle)? }.is_connected())
        })
        .resolve::<Throw>()
}

/// `static native void clientWatchStatus(long handle, Object sink)`: from now on, every
/// connection status change of the client is delivered to `sink.onStatus(String status, String
/// reason, int code, String message)` on the callback thread, in order: the changes an
/// SDK-style status callback reports (`CONNECTED`, `DISCONNECTED_RETRYING`, `DISCONNECTED`;
/// core decides which). The sink is released when the client is gone.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientWatchStatus<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    sink: JObject<'local>,
) {
    unowned
        .with_env(|env| -> BindResult<()> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? };
            if sink.is_null() {
                return Err(Error::invalid_argument("the status sink must not be null").into());
            }
            dispatch::ensure_started(env)?;
            let target = Arc::new(env.new_global_ref(&sink)?);
            let mut changes = client.state_changes();
            iotsec::runtime::handle().spawn(async move {
                while let Some(change) = changes.next().await {
                    if let Some(status) = change.status {
                        dispatch::status(target.clone(), &change, status);
                    }
                }
                // The client is gone: let go of the sink on the callback thread.
                dispatch::release(target);
            });
            Ok(())
        })
        .resolve::<Throw>()
}

/// `static native String clientUsername(long handle)`: the MQTT username (no secret in it).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientUsername<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    unowned
        .with_env(|env| -> BindResult<JString<'local>> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? };
            Ok(env.new_string(client.mqtt_username())?)
        })
        .resolve::<Throw>()
}

/// Builds the core message from what `Message` hands over.
fn message_from(
    env: &mut Env<'_>,
    body: &JByteArray<'_>,
    system: &JObjectArray<'_, JString<'_>>,
    properties: &JObjectArray<'_, JString<'_>>,
) -> BindResult<Message> {
    if body.is_null() {
        return Err(Error::invalid_argument("the message body must not be null").into());
    }
    let mut message = Message::new(env.convert_byte_array(body)?);
    let system = string_array(env, system)?;
    if system.len() != SYSTEM_PROPERTY_COUNT {
        return Err(Error::new(ErrorKind::Internal, format!("expected {SYSTEM_PROPERTY_COUNT} system properties, got {}", system.len())).into());
    }
    let mut values = system.into_iter();
    let mut next = || values.next().flatten();
    message
        .set_message_id(next())
        .set_correlation_id(next())
        .set_user_id(next())
        .set_to(next())
        .set_content_type(next())
        .set_content_encoding(next())
        .set_output_name(next())
        .set_expiry_time_utc(next())
        .set_interface_id(next())
        .set_component_name(next());
    let properties = string_array(env, properties)?;
    for pair in properties.chunks(2) {
        match pair {
            [Some(name), Some(value)] => {
                message.set_property(name.as_str(), value.as_str());
            }
            _ => return Err(Error::invalid_argument("a message property name or value is null").into()),
        }
    }
    Ok(message)
}

/// Where the outcome of one send goes: the Java `SendCompletion` object, held by a global
/// reference until its `complete` method has run on the callback thread.
///
/// The slot makes "the callback runs exactly once" hold on every path: the core calls the
/// completion once (then the reference goes to the callback thread), or drops it uncalled
/// after accepting the send (then `Drop` sends `CLOSED`), or refuses the send up front (then the
/// Java caller gets an exception instead and the reference is released here).
struct Slot {
    target: Option<Global<JObject<'static>>>,
    submitted: bool,
    armed_gone: bool,
}

struct Armed(Arc<Mutex<Slot>>);

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl Armed {
    fn fire(self, result: iotsec::Result<()>) {
        let target = lock(&self.0).target.take();
        if let Some(target) = target {
            dispatch::complete(target, result);
        }
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut slot = lock(&self.0);
        slot.armed_gone = true;
        if slot.submitted {
            if let Some(target) = slot.target.take() {
                drop(slot);
                dispatch::complete(target, Err(Error::new(ErrorKind::Closed, "the send was dropped before it completed")));
            }
        }
    }
}

/// `static native void clientSend(long handle, byte[] body, String[] system, String[] properties,
/// Object completion)`: validates, queues, and returns; `completion.complete(int, String)` runs
/// later on the callback thread. Errors found before queueing are thrown and `completion` is
/// never called.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientSend<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    body: JByteArray<'local>,
    system: JObjectArray<'local, JString<'local>>,
    properties: JObjectArray<'local, JString<'local>>,
    completion: JObject<'local>,
) {
    unowned
        .with_env(|env| -> BindResult<()> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? };
            let message = message_from(env, &body, &system, &properties)?;
            if completion.is_null() {
                return Err(Error::new(ErrorKind::Internal, "send without a completion object").into());
            }
            let global = env.new_global_ref(&completion)?;
            let slot = Arc::new(Mutex::new(Slot { target: Some(global), submitted: false, armed_gone: false }));
            let armed = Armed(slot.clone());
            dispatch::ensure_started(env)?;
            let outcome = client.send_message_with(&message, move |result| armed.fire(result));
            let mut guard = lock(&slot);
            match outcome {
                Ok(()) => {
                    guard.submitted = true;
                    if guard.armed_gone {
                        if let Some(target) = guard.target.take() {
                            drop(guard);
                            dispatch::complete(target, Err(Error::new(ErrorKind::Closed, "the send was dropped before it completed")));
                        }
                    }
                    Ok(())
                }
                Err(e) => {
                    // Released here, on this attached thread.
                    let target = guard.target.take();
                    drop(guard);
                    drop(target);
                    Err(e.into())
                }
            }
        })
        .resolve::<Throw>()
}

/// `static native void clientSendBlocking(long handle, byte[] body, String[] system, String[]
/// properties)`: sends and parks the calling thread until the PUBACK (or the failure, thrown).
/// The completion wakes this thread directly, without the callback thread.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_clientSendBlocking<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    body: JByteArray<'local>,
    system: JObjectArray<'local, JString<'local>>,
    properties: JObjectArray<'local, JString<'local>>,
) {
    unowned
        .with_env(|env| -> BindResult<()> {
            // SAFETY: see `client_ref`.
            let client = unsafe { client_ref(handle)? };
            let message = message_from(env, &body, &system, &properties)?;
            client.send_message_blocking(&message)?;
            Ok(())
        })
        .resolve::<Throw>()
}

/// Flattens violations for `NativeBridge.violations`: pointer, rule, message, position
/// (`"offset,line,column"` or `null`) for each.
pub(crate) fn flatten_violations(violations: &[iotsec::Violation]) -> Vec<Option<String>> {
    let mut flat = Vec::with_capacity(violations.len() * 4);
    for v in violations {
        flat.push(Some(v.pointer.clone()));
        flat.push(Some(v.rule.clone()));
        flat.push(Some(v.message.clone()));
        flat.push(v.position.map(|p| format!("{},{},{}", p.offset, p.line, p.column)));
    }
    flat
}

/// A `String[]` from Rust strings (`None` becomes `null`).
pub(crate) fn new_string_array<'local>(env: &mut Env<'local>, items: &[Option<String>]) -> BindResult<JObjectArray<'local, JString<'local>>> {
    let array = JObjectArray::<JString<'_>>::new(env, items.len(), JString::null())?;
    for (i, item) in items.iter().enumerate() {
        if let Some(text) = item {
            let s = env.new_string(text)?.auto();
            array.set_element(env, i, &*s)?;
        }
    }
    Ok(array)
}

/// `static native String[] validate(byte[] body)`: every schema violation of `body`, flattened
/// (see [`flatten_violations`]); empty when the body is a valid security message.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_validate<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    body: JByteArray<'local>,
) -> JObjectArray<'local, JString<'local>> {
    unowned
        .with_env(|env| -> BindResult<JObjectArray<'local, JString<'local>>> {
            if body.is_null() {
                return Err(Error::invalid_argument("body must not be null").into());
            }
            let bytes = env.convert_byte_array(&body)?;
            let violations = schema::validate(&bytes);
            new_string_array(env, &flatten_violations(&violations))
        })
        .resolve::<Throw>()
}

/// `static native boolean isValid(byte[] body)`: the fast check of the send path.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_isValid<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    body: JByteArray<'local>,
) -> jboolean {
    unowned
        .with_env(|env| -> BindResult<jboolean> {
            if body.is_null() {
                return Err(Error::invalid_argument("body must not be null").into());
            }
            let bytes = env.convert_byte_array(&body)?;
            Ok(schema::is_valid(&bytes))
        })
        .resolve::<Throw>()
}

/// `static native void check(byte[] body)`: throws `SchemaValidationException` when `body` is
/// not a valid security message.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_check<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    body: JByteArray<'local>,
) {
    unowned
        .with_env(|env| -> BindResult<()> {
            if body.is_null() {
                return Err(Error::invalid_argument("body must not be null").into());
            }
            let bytes = env.convert_byte_array(&body)?;
            schema::check(&bytes)?;
            Ok(())
        })
        .resolve::<Throw>()
}

/// `static native String version()`: the iotsec version of the native library.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_iotsec_device_NativeBridge_version<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    unowned
        .with_env(|env| -> BindResult<JString<'local>> { Ok(env.new_string(env!("CARGO_PKG_VERSION"))?) })
        .resolve::<Throw>()
}
