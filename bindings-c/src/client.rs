//! Device and module clients: the `IoTHubModuleClient_*` / `IoTHubDeviceClient_*` functions of
//! the Azure IoT C SDK and the `iotsec_client_*` functions.
//!
//! A client handle names a [`ClientCell`]: the parsed connection string, the options, and the
//! core [`Client`], built on first use so that options set after creation (as the C SDK's
//! `SetOption` is used) take effect. Every accepted asynchronous send holds a ticket on the
//! cell's [`Gate`] until its callback has returned, which is how `Destroy` knows when no
//! callback can run any more.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use iotsec_core::{
    ChangeReason, Client, ClientOptions, ConnectionState, ConnectionStatus, ConnectionString, Error, ErrorKind, Message, StateChange,
};

use crate::ffi::{
    arg_str, blocking_on_runtime_thread, catch, clear_last_error, guard, handle_id, handle_ptr, invalid, on_runtime_thread,
    owned_c_string, set_last_error, Registry,
};
use crate::message::{self, IOTHUB_MESSAGE_HANDLE};
use crate::{iotsec_status, status_of, IOTSEC_ERROR_INTERNAL, IOTSEC_OK};

/// A transport, as the C SDK's `IOTHUB_CLIENT_TRANSPORT_PROVIDER` functions return it (opaque).
pub struct TRANSPORT_PROVIDER_TAG {
    #[allow(dead_code)]
    name: &'static str,
}

/// A transport (opaque), as in the C SDK.
pub type TRANSPORT_PROVIDER = TRANSPORT_PROVIDER_TAG;

static MQTT_TRANSPORT: TRANSPORT_PROVIDER = TRANSPORT_PROVIDER_TAG { name: "MQTT" };

/// A function naming a transport; pass `MQTT_Protocol` (the only transport iotsec has).
pub type IOTHUB_CLIENT_TRANSPORT_PROVIDER = Option<unsafe extern "C" fn() -> *const TRANSPORT_PROVIDER>;

/// MQTT over TLS (port 8883 unless an option or `IOTSEC_MQTT_PORT` says otherwise): the
/// transport to pass to `IoTHubModuleClient_CreateFromConnectionString` and
/// `IoTHubDeviceClient_CreateFromConnectionString`.
#[no_mangle]
pub extern "C" fn MQTT_Protocol() -> *const TRANSPORT_PROVIDER {
    &MQTT_TRANSPORT
}

/// The object behind a client handle (opaque to C).
pub struct IOTHUB_CLIENT_CORE_INSTANCE_TAG {
    _private: [u8; 0],
}

/// A device or module client. Device and module handles are the same type, as in the C SDK.
///
/// Owned by the caller until `IoTHubModuleClient_Destroy` / `IoTHubDeviceClient_Destroy` /
/// `iotsec_client_destroy` (all three are the same). A handle is a registry key, not a pointer:
/// a NULL, destroyed or foreign handle is refused with `IOTHUB_CLIENT_INVALID_ARG`. Every
/// function may be called from any thread; the client serialises what needs it.
pub type IOTHUB_CLIENT_CORE_HANDLE = *mut IOTHUB_CLIENT_CORE_INSTANCE_TAG;

/// A device client (see `IOTHUB_CLIENT_CORE_HANDLE`).
pub type IOTHUB_DEVICE_CLIENT_HANDLE = IOTHUB_CLIENT_CORE_HANDLE;

/// A module client (see `IOTHUB_CLIENT_CORE_HANDLE`).
pub type IOTHUB_MODULE_CLIENT_HANDLE = IOTHUB_CLIENT_CORE_HANDLE;

/// Result of the client functions (same names and values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUB_CLIENT_RESULT {
    /// Success.
    IOTHUB_CLIENT_OK = 0,
    /// A NULL, destroyed or invalid argument, or an unknown option (see `iotsec_last_error_message`).
    IOTHUB_CLIENT_INVALID_ARG = 1,
    /// Any other failure, e.g. a security message whose body breaks the schema
    /// (`iotsec_last_error_kind` gives `IOTSEC_ERROR_SCHEMA_VALIDATION`).
    IOTHUB_CLIENT_ERROR = 2,
    /// The message body is over 262,144 bytes or its topic over 65,535 bytes.
    IOTHUB_CLIENT_INVALID_SIZE = 3,
    /// Never returned (kept for the C SDK's values).
    IOTHUB_CLIENT_INDEFINITE_TIME = 4,
}

/// Outcome of one asynchronous send, passed to its confirmation callback (same names and
/// values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUB_CLIENT_CONFIRMATION_RESULT {
    /// The broker acknowledged the message (MQTT PUBACK).
    IOTHUB_CLIENT_CONFIRMATION_OK = 0,
    /// The client was destroyed before the broker acknowledged the message.
    IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY = 1,
    /// No acknowledgement within the message timeout (option `messageTimeout`, default 60 s),
    /// or no connection in time.
    IOTHUB_CLIENT_CONFIRMATION_MESSAGE_TIMEOUT = 2,
    /// Any other failure (connection refused, TLS, credentials...; the reason is in
    /// `iotsec_last_error_message` inside the callback).
    IOTHUB_CLIENT_CONFIRMATION_ERROR = 3,
}

/// The confirmation callback of `*_SendEventAsync`: called exactly once per accepted message,
/// with its outcome and the `userContextCallback` given to the send.
pub type IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK =
    Option<unsafe extern "C" fn(result: IOTHUB_CLIENT_CONFIRMATION_RESULT, userContextCallback: *mut c_void)>;

/// The callback of `iotsec_client_send_async`: called exactly once per accepted message with
/// `IOTSEC_OK` or the error's kind code, the error text (NULL on success; valid only during the
/// call) and the `context` given to the send.
pub type iotsec_send_callback = Option<unsafe extern "C" fn(status: iotsec_status, error_message: *const c_char, context: *mut c_void)>;

/// Whether a client is connected, as the connection status callback reports it (same names and
/// values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUB_CLIENT_CONNECTION_STATUS {
    /// Connected (MQTT CONNACK accepted).
    IOTHUB_CLIENT_CONNECTION_AUTHENTICATED = 0,
    /// Not connected: the connection was lost (iotsec reconnects by itself), is being renewed,
    /// was closed, or the first attempt failed.
    IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED = 1,
}

/// Why the connection status changed (same names and values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUB_CLIENT_CONNECTION_STATUS_REASON {
    /// A planned reconnect that presents a new SAS token before the current one expires.
    IOTHUB_CLIENT_CONNECTION_EXPIRED_SAS_TOKEN = 0,
    /// Never reported by iotsec (kept for the C SDK's values).
    IOTHUB_CLIENT_CONNECTION_DEVICE_DISABLED = 1,
    /// The broker refused the credentials (CONNACK 4 or 5).
    IOTHUB_CLIENT_CONNECTION_BAD_CREDENTIAL = 2,
    /// Never reported by iotsec, which keeps reconnecting until the client is destroyed.
    IOTHUB_CLIENT_CONNECTION_RETRY_EXPIRED = 3,
    /// The broker could not be reached, or the connection was lost.
    IOTHUB_CLIENT_CONNECTION_NO_NETWORK = 4,
    /// TLS failed, or a CONNACK or PUBACK did not come in time.
    IOTHUB_CLIENT_CONNECTION_COMMUNICATION_ERROR = 5,
    /// Connected; or disconnected on request (`iotsec_client_disconnect`).
    IOTHUB_CLIENT_CONNECTION_OK = 6,
}

/// The connection status callback of `IoTHubDeviceClient_SetConnectionStatusCallback` /
/// `IoTHubModuleClient_SetConnectionStatusCallback`.
pub type IOTHUB_CLIENT_CONNECTION_STATUS_CALLBACK = Option<
    unsafe extern "C" fn(
        result: IOTHUB_CLIENT_CONNECTION_STATUS,
        reason: IOTHUB_CLIENT_CONNECTION_STATUS_REASON,
        userContextCallback: *mut c_void,
    ),
>;

/// `state` of `iotsec_connection_callback`: not connected (never, on request, or the first
/// attempt failed).
pub const IOTSEC_STATE_DISCONNECTED: u32 = 0;
/// `state`: the first connection attempt is under way.
pub const IOTSEC_STATE_CONNECTING: u32 = 1;
/// `state`: connected.
pub const IOTSEC_STATE_CONNECTED: u32 = 2;
/// `state`: the connection is down and iotsec is reconnecting (`attempt` 1, 2, ...; 0 for a
/// planned reconnect such as a token renewal).
pub const IOTSEC_STATE_RECONNECTING: u32 = 3;
/// `state`: the client was destroyed or shut down.
pub const IOTSEC_STATE_CLOSED: u32 = 4;

/// `status` of `iotsec_connection_callback`: this change is not one an SDK-style status
/// callback reports (connecting, a further failed reconnect attempt).
pub const IOTSEC_CONNECTION_STATUS_NONE: u32 = 0;
/// `status`: connected (C#/Java `Connected`).
pub const IOTSEC_CONNECTION_STATUS_CONNECTED: u32 = 1;
/// `status`: disconnected, iotsec reconnecting (C#/Java `Disconnected_Retrying`).
pub const IOTSEC_CONNECTION_STATUS_DISCONNECTED_RETRYING: u32 = 2;
/// `status`: disconnected, not retrying (C#/Java `Disconnected`).
pub const IOTSEC_CONNECTION_STATUS_DISCONNECTED: u32 = 3;

/// `reason` of `iotsec_connection_callback`: connected (or connecting) normally.
pub const IOTSEC_REASON_CONNECTION_OK: u32 = 0;
/// `reason`: a planned reconnect with a new SAS token before the current one expires.
pub const IOTSEC_REASON_EXPIRED_SAS_TOKEN: u32 = 1;
/// `reason`: the broker refused the credentials.
pub const IOTSEC_REASON_BAD_CREDENTIAL: u32 = 2;
/// `reason`: the broker could not be reached, or the connection was lost.
pub const IOTSEC_REASON_NO_NETWORK: u32 = 3;
/// `reason`: TLS failed, or a CONNACK or PUBACK did not come in time.
pub const IOTSEC_REASON_COMMUNICATION_ERROR: u32 = 4;
/// `reason`: disconnected or closed on request.
pub const IOTSEC_REASON_CLIENT_CLOSE: u32 = 5;

/// The callback of `iotsec_client_set_connection_callback`: every connection state change, in
/// order. `state` is an `IOTSEC_STATE_*` value, `status` an `IOTSEC_CONNECTION_STATUS_*` value,
/// `reason` an `IOTSEC_REASON_*` value, `attempt` the reconnect attempt (0 unless `state` is
/// `IOTSEC_STATE_RECONNECTING`), `error_kind` the `IOTSEC_ERROR_*` code of the error that
/// caused the change (0: none) and `error_message` its text (NULL when none; valid only during
/// the call).
pub type iotsec_connection_callback = Option<
    unsafe extern "C" fn(
        state: u32,
        status: u32,
        reason: u32,
        attempt: u32,
        error_kind: iotsec_status,
        error_message: *const c_char,
        context: *mut c_void,
    ),
>;

/// `iotsec_client_create`: accept a device or a module connection string.
pub const IOTSEC_CLIENT_ANY: u32 = 0;
/// `iotsec_client_create`: accept only a device connection string (no `ModuleId`).
pub const IOTSEC_CLIENT_DEVICE: u32 = 1;
/// `iotsec_client_create`: accept only a module connection string (with `ModuleId`).
pub const IOTSEC_CLIENT_MODULE: u32 = 2;

use IOTHUB_CLIENT_CONFIRMATION_RESULT::*;
use IOTHUB_CLIENT_RESULT::*;

/// Counts the callbacks that may still run: one ticket per accepted send, released after its
/// callback returned (or when the send was refused).
#[derive(Default)]
struct Gate {
    tickets: Mutex<usize>,
    changed: Condvar,
    destroying: AtomicBool,
}

impl Gate {
    fn count(&self) -> MutexGuard<'_, usize> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_until_at_most(&self, n: usize) {
        let mut count = self.count();
        while *count > n {
            count = self.changed.wait(count).unwrap_or_else(|p| p.into_inner());
        }
    }
}

struct Ticket(Arc<Gate>);

impl Ticket {
    fn take(gate: &Arc<Gate>) -> Ticket {
        *gate.count() += 1;
        Ticket(gate.clone())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut count = self.0.count();
        *count = count.saturating_sub(1);
        drop(count);
        self.0.changed.notify_all();
    }
}

thread_local! {
    /// The client whose callback is running on this thread (0: none).
    static IN_CALLBACK_OF: Cell<usize> = const { Cell::new(0) };
}

struct ClientState {
    connection_string: ConnectionString,
    options: ClientOptions,
    client: Option<Client>,
    /// Connected or sent once: options are frozen from then on.
    in_use: bool,
    destroyed: bool,
    /// `*_SetConnectionStatusCallback`.
    status_callback: Option<(StatusCallbackFn, UserContext)>,
    /// `iotsec_client_set_connection_callback`.
    connection_callback: Option<(ConnectionCallbackFn, UserContext)>,
    /// A task delivers the state changes of `client` to the callbacks.
    watching: bool,
}

type ConnectionCallbackFn = unsafe extern "C" fn(u32, u32, u32, u32, iotsec_status, *const c_char, *mut c_void);

/// What a client handle names.
pub(crate) struct ClientCell {
    id: usize,
    state: Mutex<ClientState>,
    gate: Arc<Gate>,
}

pub(crate) static CLIENTS: Registry<ClientCell> = Registry::new();

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the client was destroyed")
}

impl ClientCell {
    fn state(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The core client, built now if needed; `use_it` freezes the options.
    fn client(&self, use_it: bool) -> Result<Client, Error> {
        let mut state = self.state();
        if state.destroyed {
            return Err(closed());
        }
        let client = match &state.client {
            Some(c) => c.clone(),
            None => {
                let c = Client::new(state.connection_string.clone(), state.options.clone())?;
                state.client = Some(c.clone());
                state.watching = false;
                c
            }
        };
        state.in_use |= use_it;
        self.watch_if_needed(&mut state);
        Ok(client)
    }

    /// Starts delivering the core client's state changes to the callbacks, once per core
    /// client, when a callback is set.
    fn watch_if_needed(self: &ClientCell, state: &mut ClientState) {
        let wanted = state.status_callback.is_some() || state.connection_callback.is_some();
        let Some(client) = state.client.as_ref().filter(|_| wanted && !state.watching) else { return };
        state.watching = true;
        let mut changes = client.state_changes();
        let Some(cell) = CLIENTS.get(self.id) else { return };
        let cell = Arc::downgrade(&cell);
        let gate = self.gate.clone();
        iotsec_core::runtime::handle().spawn(async move {
            while let Some(change) = changes.next().await {
                // A ticket first, then the check: Destroy either waits for this delivery or
                // makes it skip (it sets `destroying` before it waits for the tickets).
                let ticket = Ticket::take(&gate);
                if gate.destroying.load(Ordering::SeqCst) {
                    break;
                }
                let Some(cell) = cell.upgrade() else { break };
                let (status_callback, connection_callback) = {
                    let state = cell.state();
                    (
                        state.status_callback.as_ref().map(|(f, c)| (*f, c.get())),
                        state.connection_callback.as_ref().map(|(f, c)| (*f, c.get())),
                    )
                };
                let id = cell.id;
                drop(cell);
                let previous = IN_CALLBACK_OF.with(|c| c.replace(id));
                catch(|| deliver_change(&change, status_callback, connection_callback));
                IN_CALLBACK_OF.with(|c| c.set(previous));
                drop(ticket);
            }
        });
    }

    fn set_option(&self, function: &str, name: &str, apply: impl FnOnce(&mut ClientOptions) -> Result<(), Error>) -> Result<(), Error> {
        let mut state = self.state();
        if state.destroyed {
            return Err(closed());
        }
        if state.in_use {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{function}: option `{name}` must be set before the client first connects or sends"),
            ));
        }
        let mut options = state.options.clone();
        apply(&mut options)?;
        options.validate().map_err(|e| e.context(format!("{function}: option `{name}`")))?;
        state.options = options;
        state.client = None;
        state.watching = false;
        Ok(())
    }

    /// Queues `message`; `complete` runs once with the outcome and whether the client is being
    /// destroyed, on an iotsec thread (or on the thread calling `Destroy`).
    fn send_async(&self, message: &Message, complete: impl FnOnce(Result<(), Error>, bool) + Send + 'static) -> Result<(), Error> {
        let client = self.client(true)?;
        let ticket = Ticket::take(&self.gate);
        let id = self.id;
        client.send_message_with(message, move |outcome| {
            let destroying = ticket.0.destroying.load(Ordering::SeqCst);
            let previous = IN_CALLBACK_OF.with(|c| c.replace(id));
            catch(|| complete(outcome, destroying));
            IN_CALLBACK_OF.with(|c| c.set(previous));
            drop(ticket);
        })
    }

    /// Closes the client (pending sends complete now, on this thread) and waits until no
    /// callback of this client is running, except the one this thread may be in.
    fn destroy(&self) {
        self.gate.destroying.store(true, Ordering::SeqCst);
        let client = {
            let mut state = self.state();
            state.destroyed = true;
            state.client.take()
        };
        if let Some(client) = client {
            client.close_now();
        }
        let own = usize::from(IN_CALLBACK_OF.with(Cell::get) == self.id);
        let wait = || self.gate.wait_until_at_most(own);
        if on_runtime_thread() {
            // Inside a callback: let the runtime move this worker's queued tasks elsewhere
            // while we wait, so the callbacks we wait for can finish.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tokio::task::block_in_place(wait))).is_err() {
                wait();
            }
        } else {
            wait();
        }
    }

    /// Closes the connection for `iotsec_shutdown`; the next use builds a new client.
    pub(crate) fn reset(&self) {
        let client = {
            let mut state = self.state();
            state.in_use = false;
            state.watching = false;
            state.client.take()
        };
        if let Some(client) = client {
            client.close_now();
        }
    }
}

fn lookup(function: &str, handle: IOTHUB_CLIENT_CORE_HANDLE) -> Result<Arc<ClientCell>, Error> {
    if handle.is_null() {
        return Err(invalid(function, "client handle", "is NULL"));
    }
    CLIENTS.get(handle_id(handle)).ok_or_else(|| invalid(function, "client handle", "is not a live client (destroyed, or not a client handle)"))
}

fn client_result(r: Result<(), Error>) -> IOTHUB_CLIENT_RESULT {
    match r {
        Ok(()) => IOTHUB_CLIENT_OK,
        Err(e) => {
            set_last_error(&e);
            match e.kind() {
                ErrorKind::InvalidArgument => IOTHUB_CLIENT_INVALID_ARG,
                ErrorKind::MessageTooLarge => IOTHUB_CLIENT_INVALID_SIZE,
                _ => IOTHUB_CLIENT_ERROR,
            }
        }
    }
}

fn confirmation(outcome: &Result<(), Error>, destroying: bool) -> IOTHUB_CLIENT_CONFIRMATION_RESULT {
    match outcome {
        Ok(()) => IOTHUB_CLIENT_CONFIRMATION_OK,
        Err(e) if destroying && e.kind() == ErrorKind::Closed => IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY,
        Err(e) if e.kind() == ErrorKind::Timeout => IOTHUB_CLIENT_CONFIRMATION_MESSAGE_TIMEOUT,
        Err(_) => IOTHUB_CLIENT_CONFIRMATION_ERROR,
    }
}

/// What kind of identity a create function accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Device,
    Module,
}

/// Parses the connection string and registers a new client (nothing is sent yet).
///
/// # Safety
/// `connection_string` is NULL or a NUL-terminated string.
unsafe fn create(function: &str, connection_string: *const c_char, kind: Kind) -> Result<IOTHUB_CLIENT_CORE_HANDLE, Error> {
    // IOTSEC_LOG=trace (or a level or filter) logs iotsec, rumqttc and rustls on standard error.
    iotsec_core::client::init_logging_from_env();
    // SAFETY: forwarded from the caller.
    let text = unsafe { arg_str(function, "connectionString", connection_string) }?;
    let cs = ConnectionString::parse(text).map_err(|e| e.context(function))?;
    match kind {
        Kind::Device if cs.identity.is_module() => {
            return Err(Error::new(
                ErrorKind::InvalidConnectionString,
                format!("{function}: the connection string has a `ModuleId`; use IoTHubModuleClient_CreateFromConnectionString for a module"),
            ))
        }
        Kind::Module if !cs.identity.is_module() => {
            return Err(Error::new(
                ErrorKind::InvalidConnectionString,
                format!("{function}: `ModuleId` is missing; a module client needs a module's connection string"),
            ))
        }
        _ => {}
    }
    let options = ClientOptions { product_info: Some(product_info()), ..ClientOptions::default() };
    let state = ClientState {
        connection_string: cs,
        options,
        client: None,
        in_use: false,
        destroyed: false,
        status_callback: None,
        connection_callback: None,
        watching: false,
    };
    let id = CLIENTS.insert_with(|id| Arc::new(ClientCell { id, state: Mutex::new(state), gate: Arc::default() }));
    Ok(handle_ptr(id))
}

/// The user agent's `{binding} {runtime}` part for C callers.
fn product_info() -> String {
    "c".to_string()
}

/// The transport must be `MQTT_Protocol`.
///
/// # Safety
/// `protocol` is NULL or a function without arguments returning a transport.
unsafe fn check_protocol(function: &str, protocol: IOTHUB_CLIENT_TRANSPORT_PROVIDER) -> Result<(), Error> {
    let Some(provider) = protocol else {
        return Err(invalid(function, "protocol", "is NULL; pass MQTT_Protocol"));
    };
    // SAFETY: the caller passes a transport provider function, which takes no arguments.
    let transport = unsafe { provider() };
    if std::ptr::eq(transport, &MQTT_TRANSPORT) {
        Ok(())
    } else {
        Err(invalid(function, "protocol", "is not MQTT_Protocol, the only transport iotsec has"))
    }
}

/// # Safety
/// As [`create`] and [`check_protocol`].
unsafe fn create_compat(function: &str, connection_string: *const c_char, protocol: IOTHUB_CLIENT_TRANSPORT_PROVIDER, kind: Kind) -> IOTHUB_CLIENT_CORE_HANDLE {
    guard(function, std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let created = unsafe { check_protocol(function, protocol).and_then(|()| create(function, connection_string, kind)) };
        created.unwrap_or_else(|e| {
            set_last_error(&e);
            std::ptr::null_mut()
        })
    })
}

/// Carries the user's context pointer to the callback thread. iotsec never dereferences it.
struct UserContext(*mut c_void);

// SAFETY: the pointer is only handed back to the user's callback, as the C SDK does.
unsafe impl Send for UserContext {}

impl UserContext {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// # Safety
/// `callback` is NULL or a valid function; `context` is passed through untouched.
unsafe fn send_event_async(
    function: &str,
    handle: IOTHUB_CLIENT_CORE_HANDLE,
    message: IOTHUB_MESSAGE_HANDLE,
    callback: IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK,
    context: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    guard(function, IOTHUB_CLIENT_ERROR, || {
        client_result((|| {
            let cell = lookup(function, handle)?;
            let message = message::lookup(function, message)?;
            // The message is copied (cheaply: the body is shared, immutable bytes), so the
            // caller may destroy it as soon as this returns.
            let copy = message::lock(&message).message.clone();
            let context = UserContext(context);
            cell.send_async(&copy, move |outcome, destroying| {
                let result = confirmation(&outcome, destroying);
                match &outcome {
                    Ok(()) => clear_last_error(),
                    Err(e) => set_last_error(e),
                }
                if let Some(callback) = callback {
                    // SAFETY: the user's callback with the user's context, as the C SDK calls it.
                    unsafe { callback(result, context.get()) };
                }
            })
        })())
    })
}

/// # Safety
/// `value` points to what option `name` expects (see `IoTHubModuleClient_SetOption`).
unsafe fn set_option_compat(function: &str, handle: IOTHUB_CLIENT_CORE_HANDLE, name: *const c_char, value: *const c_void) -> IOTHUB_CLIENT_RESULT {
    guard(function, IOTHUB_CLIENT_ERROR, || {
        client_result((|| {
            let cell = lookup(function, handle)?;
            // SAFETY: forwarded from the caller.
            let name = unsafe { arg_str(function, "optionName", name) }?;
            if value.is_null() {
                return Err(invalid(function, "value", &format!("is NULL (option `{name}`)")));
            }
            // SAFETY (all reads below): the caller passes the type the option documents.
            match name {
                "TrustedCerts" => {
                    let pem = unsafe { arg_str(function, "value", value.cast()) }?;
                    cell.set_option(function, name, |o| apply_option(function, o, "ca_pem", pem))
                }
                "messageTimeout" => {
                    let ms = unsafe { *value.cast::<u64>() }.to_string();
                    cell.set_option(function, name, |o| apply_option(function, o, "puback_timeout_ms", &ms))
                }
                "keepalive" => {
                    let seconds = unsafe { *value.cast::<i32>() }.to_string();
                    cell.set_option(function, name, |o| apply_option(function, o, "keep_alive_s", &seconds))
                }
                "sas_token_lifetime" => {
                    let seconds = unsafe { *value.cast::<usize>() }.to_string();
                    cell.set_option(function, name, |o| apply_option(function, o, "token_lifetime_s", &seconds))
                }
                "product_info" => {
                    let info = unsafe { arg_str(function, "value", value.cast()) }?;
                    cell.set_option(function, name, |o| apply_option(function, o, "product_info", info))
                }
                // Tracing of the C SDK's own transport; iotsec has none to switch on.
                "logtrace" => Ok(()),
                other => match other.strip_prefix("iotsec.") {
                    Some(native) => {
                        let text = unsafe { arg_str(function, "value", value.cast()) }?;
                        cell.set_option(function, native, |o| apply_option(function, o, native, text))
                    }
                    None => Err(invalid(
                        function,
                        "optionName",
                        &format!(
                            "`{other}` is not an option iotsec knows; it knows TrustedCerts, messageTimeout, keepalive, sas_token_lifetime, product_info, logtrace and iotsec.<name> (see iotsec_client_set_option)"
                        ),
                    )),
                },
            }
        })())
    })
}

/// Applies option `name` given as text to `options`: names, units, accepted values and errors
/// are core's (`iotsec::option_names`); this only puts the function's name in front.
fn apply_option(function: &str, options: &mut ClientOptions, name: &str, value: &str) -> Result<(), Error> {
    options.set_by_name(name, value).map_err(|e| e.context(function))
}

fn destroy(function: &str, handle: IOTHUB_CLIENT_CORE_HANDLE) {
    guard(function, (), || {
        if let Some(cell) = CLIENTS.remove(handle_id(handle)) {
            cell.destroy();
        }
    })
}

/// Creates a module client from a module connection string
/// (`HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...`). Nothing is sent until the
/// first send; set options (`IoTHubModuleClient_SetOption`) before it.
///
/// @param connectionString the module's connection string (copied).
/// @param protocol `MQTT_Protocol`.
/// @return a new handle the caller owns (release with `IoTHubModuleClient_Destroy`), or NULL:
/// a malformed connection string (the error names the key at fault, never a key value), one
/// without `ModuleId`, or another protocol.
///
/// # Safety
/// `connectionString` is NULL or a NUL-terminated string; `protocol` is NULL or `MQTT_Protocol`.
#[no_mangle]
pub unsafe extern "C" fn IoTHubModuleClient_CreateFromConnectionString(
    connectionString: *const c_char,
    protocol: IOTHUB_CLIENT_TRANSPORT_PROVIDER,
) -> IOTHUB_MODULE_CLIENT_HANDLE {
    // SAFETY: forwarded from the caller.
    unsafe { create_compat("IoTHubModuleClient_CreateFromConnectionString", connectionString, protocol, Kind::Module) }
}

/// Creates a device client from a device connection string (no `ModuleId`). See
/// `IoTHubModuleClient_CreateFromConnectionString`.
///
/// # Safety
/// As `IoTHubModuleClient_CreateFromConnectionString`.
#[no_mangle]
pub unsafe extern "C" fn IoTHubDeviceClient_CreateFromConnectionString(
    connectionString: *const c_char,
    protocol: IOTHUB_CLIENT_TRANSPORT_PROVIDER,
) -> IOTHUB_DEVICE_CLIENT_HANDLE {
    // SAFETY: forwarded from the caller.
    unsafe { create_compat("IoTHubDeviceClient_CreateFromConnectionString", connectionString, protocol, Kind::Device) }
}

/// Queues a message for sending and returns at once.
///
/// The message is copied: the caller may destroy `eventMessageHandle` right after this returns.
/// A client not yet connected connects in the background. A security message is validated
/// against the schema first (strict by default): an invalid one is refused here with
/// `IOTHUB_CLIENT_ERROR` (kind `IOTSEC_ERROR_SCHEMA_VALIDATION`; the violations are in
/// `iotsec_last_error_violations_json`) and never sent.
///
/// When this returns `IOTHUB_CLIENT_OK`, `eventConfirmationCallback` (if not NULL) is called
/// exactly once with the outcome and `userContextCallback`: on an iotsec thread, or on the
/// thread calling `IoTHubModuleClient_Destroy` (`IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY`).
/// Callbacks may run concurrently; keep them short and do not call blocking iotsec functions
/// in them. Inside the callback `iotsec_last_error_message` gives the reason of a failure.
/// When this returns anything else, the callback is never called.
///
/// # Safety
/// `eventConfirmationCallback` is NULL or a valid function; `userContextCallback` is passed
/// through untouched and must stay valid until the callback ran.
#[no_mangle]
pub unsafe extern "C" fn IoTHubModuleClient_SendEventAsync(
    iotHubModuleClientHandle: IOTHUB_MODULE_CLIENT_HANDLE,
    eventMessageHandle: IOTHUB_MESSAGE_HANDLE,
    eventConfirmationCallback: IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK,
    userContextCallback: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe {
        send_event_async(
            "IoTHubModuleClient_SendEventAsync",
            iotHubModuleClientHandle,
            eventMessageHandle,
            eventConfirmationCallback,
            userContextCallback,
        )
    }
}

/// Queues a message for sending; see `IoTHubModuleClient_SendEventAsync`.
///
/// # Safety
/// As `IoTHubModuleClient_SendEventAsync`.
#[no_mangle]
pub unsafe extern "C" fn IoTHubDeviceClient_SendEventAsync(
    iotHubClientHandle: IOTHUB_DEVICE_CLIENT_HANDLE,
    eventMessageHandle: IOTHUB_MESSAGE_HANDLE,
    eventConfirmationCallback: IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK,
    userContextCallback: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { send_event_async("IoTHubDeviceClient_SendEventAsync", iotHubClientHandle, eventMessageHandle, eventConfirmationCallback, userContextCallback) }
}

/// Sets an option before the first send (afterwards options are frozen: `IOTHUB_CLIENT_INVALID_ARG`).
///
/// | optionName | value points to | meaning |
/// |---|---|---|
/// | `"TrustedCerts"` | `const char` PEM text | CA certificate(s) to trust instead of the system roots |
/// | `"messageTimeout"` | `uint64_t` milliseconds | how long a send waits for its acknowledgement (default 60,000) |
/// | `"keepalive"` | `int` seconds | MQTT keep-alive (default 60, at most 1,767) |
/// | `"sas_token_lifetime"` | `size_t` seconds | lifetime of each SAS token (default 3,600; renewed before expiry) |
/// | `"product_info"` | `const char` | the `{binding} {runtime}` part of the user agent (default `c`) |
/// | `"logtrace"` | `bool` | accepted and ignored |
/// | `"iotsec.<name>"` | `const char` text | any option of `iotsec_client_set_option`, e.g. `"iotsec.port"` = `"8884"` |
///
/// Without `TrustedCerts`, the CA file in `IOTSEC_CA_FILE` is used, else the system roots;
/// without a port option, `IOTSEC_MQTT_PORT`, else 8883. The values are copied.
///
/// # Safety
/// `optionName` is NULL or a NUL-terminated string; `value` is NULL or points to the type the
/// option expects.
#[no_mangle]
pub unsafe extern "C" fn IoTHubModuleClient_SetOption(
    iotHubModuleClientHandle: IOTHUB_MODULE_CLIENT_HANDLE,
    optionName: *const c_char,
    value: *const c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_option_compat("IoTHubModuleClient_SetOption", iotHubModuleClientHandle, optionName, value) }
}

/// Sets an option; see `IoTHubModuleClient_SetOption`.
///
/// # Safety
/// As `IoTHubModuleClient_SetOption`.
#[no_mangle]
pub unsafe extern "C" fn IoTHubDeviceClient_SetOption(
    iotHubClientHandle: IOTHUB_DEVICE_CLIENT_HANDLE,
    optionName: *const c_char,
    value: *const c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_option_compat("IoTHubDeviceClient_SetOption", iotHubClientHandle, optionName, value) }
}

/// Destroys the client: closes the connection at once, completes every send not yet
/// acknowledged with `IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY` (on the calling thread), and
/// returns only when no callback of this client is running or can run any more. NULL or an
/// already destroyed handle is ignored. Blocking.
#[no_mangle]
pub extern "C" fn IoTHubModuleClient_Destroy(iotHubModuleClientHandle: IOTHUB_MODULE_CLIENT_HANDLE) {
    destroy("IoTHubModuleClient_Destroy", iotHubModuleClientHandle);
}

/// Destroys the client; see `IoTHubModuleClient_Destroy`.
#[no_mangle]
pub extern "C" fn IoTHubDeviceClient_Destroy(iotHubClientHandle: IOTHUB_DEVICE_CLIENT_HANDLE) {
    destroy("IoTHubDeviceClient_Destroy", iotHubClientHandle);
}

/// The C SDK's connection status and reason for a change.
fn sdk_status(status: ConnectionStatus, reason: ChangeReason) -> (IOTHUB_CLIENT_CONNECTION_STATUS, IOTHUB_CLIENT_CONNECTION_STATUS_REASON) {
    use IOTHUB_CLIENT_CONNECTION_STATUS::*;
    use IOTHUB_CLIENT_CONNECTION_STATUS_REASON::*;
    let status = match status {
        ConnectionStatus::Connected => IOTHUB_CLIENT_CONNECTION_AUTHENTICATED,
        _ => IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED,
    };
    let reason = match reason {
        ChangeReason::ExpiredSasToken => IOTHUB_CLIENT_CONNECTION_EXPIRED_SAS_TOKEN,
        ChangeReason::BadCredential => IOTHUB_CLIENT_CONNECTION_BAD_CREDENTIAL,
        ChangeReason::NoNetwork => IOTHUB_CLIENT_CONNECTION_NO_NETWORK,
        ChangeReason::ConnectionOk | ChangeReason::ClientClose => IOTHUB_CLIENT_CONNECTION_OK,
        _ => IOTHUB_CLIENT_CONNECTION_COMMUNICATION_ERROR,
    };
    (status, reason)
}

/// iotsec's numbers for a change (`IOTSEC_STATE_*`, `IOTSEC_CONNECTION_STATUS_*`, `IOTSEC_REASON_*`).
fn native_codes(change: &StateChange) -> (u32, u32, u32, u32) {
    let (state, attempt) = match &change.state {
        ConnectionState::Disconnected { .. } => (IOTSEC_STATE_DISCONNECTED, 0),
        ConnectionState::Connecting => (IOTSEC_STATE_CONNECTING, 0),
        ConnectionState::Connected => (IOTSEC_STATE_CONNECTED, 0),
        ConnectionState::Reconnecting { attempt, .. } => (IOTSEC_STATE_RECONNECTING, *attempt),
        ConnectionState::Closed => (IOTSEC_STATE_CLOSED, 0),
    };
    let status = match change.status {
        None => IOTSEC_CONNECTION_STATUS_NONE,
        Some(ConnectionStatus::Connected) => IOTSEC_CONNECTION_STATUS_CONNECTED,
        Some(ConnectionStatus::DisconnectedRetrying) => IOTSEC_CONNECTION_STATUS_DISCONNECTED_RETRYING,
        Some(_) => IOTSEC_CONNECTION_STATUS_DISCONNECTED,
    };
    let reason = match change.reason {
        ChangeReason::ConnectionOk => IOTSEC_REASON_CONNECTION_OK,
        ChangeReason::ExpiredSasToken => IOTSEC_REASON_EXPIRED_SAS_TOKEN,
        ChangeReason::BadCredential => IOTSEC_REASON_BAD_CREDENTIAL,
        ChangeReason::NoNetwork => IOTSEC_REASON_NO_NETWORK,
        ChangeReason::ClientClose => IOTSEC_REASON_CLIENT_CLOSE,
        _ => IOTSEC_REASON_COMMUNICATION_ERROR,
    };
    (state, status, reason, attempt)
}

type StatusCallbackFn = unsafe extern "C" fn(IOTHUB_CLIENT_CONNECTION_STATUS, IOTHUB_CLIENT_CONNECTION_STATUS_REASON, *mut c_void);

/// Calls the callbacks for one change (on an iotsec thread, inside a ticket).
fn deliver_change(change: &StateChange, status_callback: Option<(StatusCallbackFn, *mut c_void)>, connection_callback: Option<(ConnectionCallbackFn, *mut c_void)>) {
    match change.state.error() {
        Some(e) => set_last_error(e),
        None => clear_last_error(),
    }
    if let (Some((callback, context)), Some(status)) = (status_callback, change.status) {
        let (status, reason) = sdk_status(status, change.reason);
        // SAFETY: the user's callback with the user's context, as the C SDK calls it.
        unsafe { callback(status, reason, context) };
    }
    if let Some((callback, context)) = connection_callback {
        let (state, status, reason, attempt) = native_codes(change);
        let error = change.state.error();
        let text = error.map(|e| crate::ffi::c_string(e.message().to_string()));
        let kind = error.map_or(IOTSEC_OK, |e| e.kind().code());
        let text_ptr = text.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
        // SAFETY: the user's callback with the user's context.
        unsafe { callback(state, status, reason, attempt, kind, text_ptr, context) };
    }
}

/// Stores a callback and starts the deliveries if a core client exists already.
fn set_connection_callbacks(function: &str, handle: IOTHUB_CLIENT_CORE_HANDLE, apply: impl FnOnce(&mut ClientState)) -> Result<(), Error> {
    let cell = lookup(function, handle)?;
    let mut state = cell.state();
    if state.destroyed {
        return Err(closed());
    }
    apply(&mut state);
    cell.watch_if_needed(&mut state);
    Ok(())
}

/// # Safety
/// `callback` is NULL or a valid function; `context` is passed through untouched.
unsafe fn set_status_callback_compat(
    function: &str,
    handle: IOTHUB_CLIENT_CORE_HANDLE,
    callback: IOTHUB_CLIENT_CONNECTION_STATUS_CALLBACK,
    context: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    guard(function, IOTHUB_CLIENT_ERROR, || {
        client_result(set_connection_callbacks(function, handle, |state| {
            state.status_callback = callback.map(|f| (f, UserContext(context)));
        }))
    })
}

/// Sets the callback that hears of connection status changes (as in the Azure IoT C SDK):
/// `IOTHUB_CLIENT_CONNECTION_AUTHENTICATED` / `IOTHUB_CLIENT_CONNECTION_OK` when the client
/// connects; `IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED` with `_NO_NETWORK` when the connection
/// is lost (iotsec then reconnects by itself, with exponential back-off, and sends made
/// meanwhile complete after the reconnect), with `_EXPIRED_SAS_TOKEN` for the planned reconnect
/// that renews the SAS token, with `_BAD_CREDENTIAL` / `_NO_NETWORK` /
/// `_COMMUNICATION_ERROR` when a first connection attempt fails. One call per status change, in
/// order (a second failed reconnect attempt is not reported again). Set it before the first
/// send or connect to hear of the first connection. NULL removes it.
///
/// The callback runs on an iotsec thread (like the send confirmations), never after
/// `IoTHubModuleClient_Destroy` returned and not for the disconnection Destroy causes; inside it,
/// `iotsec_last_error_message` gives the error that caused the change. Keep it short and do not
/// call blocking iotsec functions in it.
///
/// # Safety
/// `connectionStatusCallback` is NULL or a valid function; `userContextCallback` is passed
/// through untouched and must stay valid until the client is destroyed or the callback replaced.
#[no_mangle]
pub unsafe extern "C" fn IoTHubModuleClient_SetConnectionStatusCallback(
    iotHubModuleClientHandle: IOTHUB_MODULE_CLIENT_HANDLE,
    connectionStatusCallback: IOTHUB_CLIENT_CONNECTION_STATUS_CALLBACK,
    userContextCallback: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe {
        set_status_callback_compat(
            "IoTHubModuleClient_SetConnectionStatusCallback",
            iotHubModuleClientHandle,
            connectionStatusCallback,
            userContextCallback,
        )
    }
}

/// Sets the connection status callback; see `IoTHubModuleClient_SetConnectionStatusCallback`.
///
/// # Safety
/// As `IoTHubModuleClient_SetConnectionStatusCallback`.
#[no_mangle]
pub unsafe extern "C" fn IoTHubDeviceClient_SetConnectionStatusCallback(
    iotHubClientHandle: IOTHUB_DEVICE_CLIENT_HANDLE,
    connectionStatusCallback: IOTHUB_CLIENT_CONNECTION_STATUS_CALLBACK,
    userContextCallback: *mut c_void,
) -> IOTHUB_CLIENT_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe {
        set_status_callback_compat("IoTHubDeviceClient_SetConnectionStatusCallback", iotHubClientHandle, connectionStatusCallback, userContextCallback)
    }
}

/// Sets a callback that hears of *every* connection state change, in order: connecting,
/// connected, each reconnect attempt (numbered, with the error that caused it), disconnected,
/// closed; with the SDK-style status (`IOTSEC_CONNECTION_STATUS_*`, `_NONE` for changes a
/// status callback does not report) and reason (`IOTSEC_REASON_*`). This is what the C# package
/// builds its `ConnectionStatusChangesHandler` on. Same threads and rules as
/// `IoTHubModuleClient_SetConnectionStatusCallback`; NULL removes it.
///
/// @return `IOTSEC_OK`, or `IOTSEC_ERROR_INVALID_ARGUMENT` for a NULL or destroyed handle.
///
/// # Safety
/// `callback` is NULL or a valid function; `context` is passed through untouched and must stay
/// valid until the client is destroyed or the callback replaced.
#[no_mangle]
pub unsafe extern "C" fn iotsec_client_set_connection_callback(
    client: IOTHUB_CLIENT_CORE_HANDLE,
    callback: iotsec_connection_callback,
    context: *mut c_void,
) -> iotsec_status {
    const F: &str = "iotsec_client_set_connection_callback";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of(set_connection_callbacks(F, client, |state| {
            state.connection_callback = callback.map(|f| (f, UserContext(context)));
        }))
    })
}

/// Creates a client: `kind` is `IOTSEC_CLIENT_ANY`, `IOTSEC_CLIENT_DEVICE` or
/// `IOTSEC_CLIENT_MODULE`. The handle is the same type as the C SDK names' and works with them.
///
/// @return a new handle the caller owns (release with `iotsec_client_destroy`), or NULL (see
/// `iotsec_last_error_message`).
///
/// # Safety
/// `connection_string` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn iotsec_client_create(connection_string: *const c_char, kind: u32) -> IOTHUB_CLIENT_CORE_HANDLE {
    const F: &str = "iotsec_client_create";
    guard(F, std::ptr::null_mut(), || {
        let kind = match kind {
            IOTSEC_CLIENT_ANY => Ok(Kind::Any),
            IOTSEC_CLIENT_DEVICE => Ok(Kind::Device),
            IOTSEC_CLIENT_MODULE => Ok(Kind::Module),
            other => Err(invalid(F, "kind", &format!("is {other}; expected IOTSEC_CLIENT_ANY, _DEVICE or _MODULE"))),
        };
        // SAFETY: forwarded from the caller.
        let created = kind.and_then(|kind| unsafe { create(F, connection_string, kind) });
        created.unwrap_or_else(|e| {
            set_last_error(&e);
            std::ptr::null_mut()
        })
    })
}

/// Sets option `name` to `value` (text; copied) before the first connect or send. The names,
/// units and accepted values are the core's, the same in every iotsec language package:
///
/// - `ca_pem`: CA certificate(s), PEM text, trusted instead of the system roots
/// - `ca_file`: a PEM file with the CA certificate(s) (default: `IOTSEC_CA_FILE`, else system roots)
/// - `port`: MQTT port (default: `IOTSEC_MQTT_PORT`, else 8883; `0` restores the default)
/// - `transport`: `tls` (default) or `plain_tcp_loopback` (plain MQTT, only to a loopback host)
/// - `validation`: `strict` (default: refuse invalid security messages), `warn` or `off`
/// - `keep_alive`, `puback_timeout`, `connect_timeout`, `token_lifetime`, `reconnect_initial`,
///   `reconnect_max`: durations in seconds (fractions allowed); each also as `NAME_s` (seconds)
///   and `NAME_ms` (milliseconds), e.g. `puback_timeout_ms`
/// - `reconnect_jitter`: random spread of each reconnect delay, a fraction from 0 to 1 (default 0.1)
/// - `max_in_flight` (default 100), `queue_capacity` (default 10,000), `queue_policy` (`block` or `fail_fast`)
/// - `client_cert_file`, `client_key_file`: PEM files for `x509=true` connection strings
/// - `durable_queue`: a file (redb) keeping accepted messages until acknowledged, across restarts
/// - `message_ids`: `never` (default) or `when_unset` (a message without an id is sent with a new UUID)
/// - `product_info`: the `{binding} {runtime}` part of the user agent, e.g. `csharp mono 6.8`
///
/// An empty `value` clears a text or path option.
///
/// @return `IOTSEC_OK` or an error code; the error names the option at fault.
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn iotsec_client_set_option(client: IOTHUB_CLIENT_CORE_HANDLE, name: *const c_char, value: *const c_char) -> iotsec_status {
    const F: &str = "iotsec_client_set_option";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let cell = lookup(F, client)?;
            // SAFETY: forwarded from the caller.
            let name = unsafe { arg_str(F, "name", name) }?;
            // SAFETY: forwarded from the caller.
            let value = unsafe { arg_str(F, "value", value) }?;
            cell.set_option(F, name, |o| apply_option(F, o, name, value))
        })())
    })
}

/// Connects (TCP, TLS, MQTT CONNECT/CONNACK) and returns when connected or when the first
/// attempt failed (`IOTSEC_ERROR_CONNECTION_FAILED`, `_TLS`, `_CREDENTIAL_REFUSED`,
/// `_TIMEOUT`...). Optional: the first send connects. Blocking; not allowed in a callback.
#[no_mangle]
pub extern "C" fn iotsec_client_connect(client: IOTHUB_CLIENT_CORE_HANDLE) -> iotsec_status {
    const F: &str = "iotsec_client_connect";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let cell = lookup(F, client)?;
            if on_runtime_thread() {
                return Err(blocking_on_runtime_thread(F));
            }
            cell.client(true)?.connect_blocking()
        })())
    })
}

/// Disconnects gracefully: waits (up to the PUBACK timeout) for sends in flight, then sends
/// MQTT DISCONNECT. A later send or connect connects again. Blocking; not allowed in a callback.
#[no_mangle]
pub extern "C" fn iotsec_client_disconnect(client: IOTHUB_CLIENT_CORE_HANDLE) -> iotsec_status {
    const F: &str = "iotsec_client_disconnect";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let cell = lookup(F, client)?;
            if on_runtime_thread() {
                return Err(blocking_on_runtime_thread(F));
            }
            let built = cell.state().client.clone();
            match built {
                Some(c) => c.disconnect_blocking(),
                None => Ok(()),
            }
        })())
    })
}

/// Sends a message and returns when the broker acknowledged it (`IOTSEC_OK`) or the send
/// failed (the error's kind code; `IOTSEC_ERROR_SCHEMA_VALIDATION` for a security message
/// that breaks the schema, which is never sent). The message is not consumed. Blocking; not
/// allowed in a callback.
#[no_mangle]
pub extern "C" fn iotsec_client_send(client: IOTHUB_CLIENT_CORE_HANDLE, message: IOTHUB_MESSAGE_HANDLE) -> iotsec_status {
    const F: &str = "iotsec_client_send";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let cell = lookup(F, client)?;
            let message = message::lookup(F, message)?;
            if on_runtime_thread() {
                return Err(blocking_on_runtime_thread(F));
            }
            let copy = message::lock(&message).message.clone();
            cell.client(true)?.send_message_blocking(&copy)
        })())
    })
}

/// Queues a message and returns at once; `callback` (if not NULL) then runs exactly once with
/// the outcome. Same rules as `IoTHubModuleClient_SendEventAsync`, with the error kind code
/// and text passed to the callback (`IOTSEC_ERROR_CLOSED` when the client was destroyed first).
///
/// # Safety
/// `callback` is NULL or a valid function; `context` is passed through untouched.
#[no_mangle]
pub unsafe extern "C" fn iotsec_client_send_async(
    client: IOTHUB_CLIENT_CORE_HANDLE,
    message: IOTHUB_MESSAGE_HANDLE,
    callback: iotsec_send_callback,
    context: *mut c_void,
) -> iotsec_status {
    const F: &str = "iotsec_client_send_async";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let cell = lookup(F, client)?;
            let message = message::lookup(F, message)?;
            let copy = message::lock(&message).message.clone();
            let context = UserContext(context);
            cell.send_async(&copy, move |outcome, _destroying| {
                let (status, text) = match &outcome {
                    Ok(()) => {
                        clear_last_error();
                        (IOTSEC_OK, None)
                    }
                    Err(e) => {
                        set_last_error(e);
                        (e.kind().code(), Some(crate::ffi::c_string(e.message().to_string())))
                    }
                };
                if let Some(callback) = callback {
                    let text_ptr = text.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
                    // SAFETY: the user's callback with the user's context.
                    unsafe { callback(status, text_ptr, context.get()) };
                }
            })
        })())
    })
}

/// Whether the client is connected right now: 1 yes, 0 no, -1 invalid handle.
#[no_mangle]
pub extern "C" fn iotsec_client_is_connected(client: IOTHUB_CLIENT_CORE_HANDLE) -> i32 {
    const F: &str = "iotsec_client_is_connected";
    guard(F, -1, || match lookup(F, client) {
        Ok(cell) => i32::from(cell.state().client.as_ref().is_some_and(Client::is_connected)),
        Err(e) => {
            set_last_error(&e);
            -1
        }
    })
}

/// The MQTT username this client presents (host, client id, api-version and user agent; no
/// secret in it).
///
/// @return a string the caller frees with `iotsec_string_free`, or NULL on error (e.g. an
/// unreadable CA file named in the options).
#[no_mangle]
pub extern "C" fn iotsec_client_mqtt_username(client: IOTHUB_CLIENT_CORE_HANDLE) -> *mut c_char {
    const F: &str = "iotsec_client_mqtt_username";
    guard(F, std::ptr::null_mut(), || {
        let r = lookup(F, client).and_then(|cell| cell.client(false)).map(|c| owned_c_string(c.mqtt_username().to_string()));
        r.unwrap_or_else(|e| {
            set_last_error(&e);
            std::ptr::null_mut()
        })
    })
}

/// Destroys a client; the same as `IoTHubModuleClient_Destroy`.
#[no_mangle]
pub extern "C" fn iotsec_client_destroy(client: IOTHUB_CLIENT_CORE_HANDLE) {
    destroy("iotsec_client_destroy", client);
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotsec_core::{MessageIdPolicy, QueuePolicy, ValidationMode};

    #[test]
    fn confirmation_maps_destroy_timeout_and_errors() {
        let closed = Err(Error::new(ErrorKind::Closed, "c"));
        assert_eq!(confirmation(&Ok(()), false), IOTHUB_CLIENT_CONFIRMATION_OK);
        assert_eq!(confirmation(&closed, true), IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY);
        assert_eq!(confirmation(&closed, false), IOTHUB_CLIENT_CONFIRMATION_ERROR);
        assert_eq!(confirmation(&Err(Error::new(ErrorKind::Timeout, "t")), false), IOTHUB_CLIENT_CONFIRMATION_MESSAGE_TIMEOUT);
        assert_eq!(confirmation(&Err(Error::new(ErrorKind::Tls, "t")), true), IOTHUB_CLIENT_CONFIRMATION_ERROR);
    }

    #[test]
    fn options_parse_by_name_and_name_the_option_at_fault() {
        let mut o = ClientOptions::default();
        apply_option("f", &mut o, "port", "8884").unwrap();
        assert_eq!(o.port, Some(8884));
        apply_option("f", &mut o, "port", "0").unwrap();
        assert_eq!(o.port, None);
        apply_option("f", &mut o, "validation", "warn").unwrap();
        assert_eq!(o.validation, ValidationMode::Warn);
        apply_option("f", &mut o, "queue_policy", "fail_fast").unwrap();
        assert_eq!(o.queue_policy, QueuePolicy::FailFast);
        let e = apply_option("f", &mut o, "port", "http").unwrap_err();
        assert!(e.message().contains("`port`"), "{e}");
        let e = apply_option("f", &mut o, "colour", "blue").unwrap_err();
        assert!(e.message().contains("`colour`") && e.message().contains("ca_pem"), "{e}");
        // The names of earlier releases still work: core takes `NAME_ms` / `NAME_s` for durations.
        apply_option("f", &mut o, "puback_timeout_ms", "1500").unwrap();
        assert_eq!(o.puback_timeout, std::time::Duration::from_millis(1500));
        apply_option("f", &mut o, "keep_alive_s", "30").unwrap();
        assert_eq!(o.keep_alive, std::time::Duration::from_secs(30));
        apply_option("f", &mut o, "message_ids", "when_unset").unwrap();
        assert_eq!(o.message_ids, MessageIdPolicy::WhenUnset);
        let e = apply_option("f", &mut o, "queue_polcy", "block").unwrap_err();
        assert!(e.message().starts_with("f: ") && e.message().contains("did you mean `queue_policy`?"), "{e}");
    }
}
