//! `NativeClient`: one iotsec client (device or module) for the JavaScript `Client` and
//! `ModuleClient` classes.
//!
//! Every operation takes an `id` chosen by JavaScript; its outcome comes back through the
//! client's [`Sink`] as `(id, result)`. Nothing here waits. On the JavaScript thread a send only
//! converts the message and hands it to the client's *pump*, a task on the shared iotsec runtime
//! that queues it with core's completion-callback API. So the schema check and the topic
//! encoding run on an iotsec worker, beside the event loop rather than on it, and messages keep
//! their order. When core's queue is full the pump waits for room (queuePolicy 'block') or fails
//! the message with QUEUE_FULL ('failFast'); the JavaScript thread never waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::mpsc;

use iotsec::{Client, ClientOptions, ErrorKind, Message, QueuePolicy};

use crate::js;
use crate::sink::{state_object, Sink};

/// One option as the JavaScript layer passes it (type-checked and renamed there): `name` is
/// how the application spelt it (`sendTimeout`), `option` core's name (`puback_timeout_ms`),
/// `value` the value as text. What the text may be is core's business
/// (`ClientOptions::set_by_name`).
#[napi(object)]
pub struct NativeOption {
    /// The application's name, for error messages (`options.sendTimeout`).
    pub name: String,
    /// Core's option name.
    pub option: String,
    /// The value as text.
    pub value: String,
}

/// Core options from the JavaScript ones, and whether a full queue fails a send at once
/// (`queuePolicy: 'failFast'`); core itself always fails fast here: the pump hears "full" at
/// once and waits for room itself, so no thread ever blocks.
fn client_options(options: Vec<NativeOption>) -> iotsec::Result<(ClientOptions, bool)> {
    let mut c = ClientOptions::default();
    for o in &options {
        c.set_by_name(&o.option, &o.value).map_err(|e| e.context(format!("options.{}", o.name)))?;
    }
    let fail_fast = c.queue_policy == QueuePolicy::FailFast;
    c.queue_policy = QueuePolicy::FailFast;
    Ok((c, fail_fast))
}

/// What the pump does, in order.
enum Command {
    Send(Vec<(u32, Message)>),
    Disconnect(u32),
    Close(u32),
}

/// The optional fields of a message in a `sendMany` batch, in the order of their bits in the
/// field mask (bit 0 = properties, bit 1 = messageId, ...).
const FIELDS: [&str; 11] = [
    "properties",
    "messageId",
    "correlationId",
    "userId",
    "to",
    "contentType",
    "contentEncoding",
    "outputName",
    "expiryTimeUtc",
    "interfaceId",
    "componentName",
];

/// Reads one message of a `sendMany` batch starting at `at`; returns it and the next index.
fn read_message(env: napi::sys::napi_env, batch: js::Value, mut at: u32) -> (std::result::Result<Message, iotsec::Error>, u32) {
    let next = |at: &mut u32| -> Option<js::Value> {
        let v = js::get_index(env, batch, *at).ok();
        *at += 1;
        v
    };
    let data = next(&mut at);
    let mask = next(&mut at).and_then(|v| js::get_u32(env, v)).unwrap_or(0);
    let mut fields: [Option<js::Value>; 11] = [None; 11];
    for (bit, slot) in fields.iter_mut().enumerate() {
        if mask & (1 << bit) != 0 {
            *slot = next(&mut at);
        }
    }
    let message = (|| {
        let data = data.ok_or_else(|| iotsec::Error::invalid_argument("message.data is missing"))?;
        let mut message = Message::new(js::bytes(env, data, "message.data")?);
        let text = |i: usize| -> iotsec::Result<Option<String>> {
            match fields[i] {
                None => Ok(None),
                Some(v) => js::get_string(env, v)
                    .map(Some)
                    .ok_or_else(|| iotsec::Error::invalid_argument(format!("message.{} must be a string", FIELDS[i]))),
            }
        };
        message
            .set_message_id(text(1)?)
            .set_correlation_id(text(2)?)
            .set_user_id(text(3)?)
            .set_to(text(4)?)
            .set_content_type(text(5)?)
            .set_content_encoding(text(6)?)
            .set_output_name(text(7)?)
            .set_expiry_time_utc(text(8)?)
            .set_interface_id(text(9)?)
            .set_component_name(text(10)?);
        if let Some(list) = fields[0] {
            let len = js::array_len(env, list);
            if len % 2 != 0 {
                return Err(iotsec::Error::invalid_argument("message.properties: a key without a value"));
            }
            for i in (0..len).step_by(2) {
                let pair = (js::get_index(env, list, i).ok(), js::get_index(env, list, i + 1).ok());
                let (Some(k), Some(v)) = pair else {
                    return Err(iotsec::Error::invalid_argument("message.properties could not be read"));
                };
                let (Some(k), Some(v)) = (js::get_string(env, k), js::get_string(env, v)) else {
                    return Err(iotsec::Error::invalid_argument("message.properties: keys and values must be strings"));
                };
                message.set_property(k, v);
            }
        }
        Ok(message)
    })();
    (message, at)
}

/// A caught panic, as the error JavaScript sees.
fn bug(doing: &str) -> iotsec::Error {
    iotsec::Error::new(ErrorKind::Internal, format!("iotsec bug: a panic while {doing} (caught); please report it"))
}

/// Queues messages with core, in order, on an iotsec worker (see the module docs).
async fn pump(client: Client, sink: Arc<Sink>, mut commands: mpsc::UnboundedReceiver<Command>, fail_fast: bool) {
    while let Some(command) = commands.recv().await {
        match command {
            Command::Send(messages) => {
                for (n, (id, message)) in messages.into_iter().enumerate() {
                    if n % 32 == 31 {
                        // Let the session task (maybe on this worker) put the first ones on the
                        // wire while this checks the rest.
                        tokio::task::yield_now().await;
                    }
                    loop {
                        let done = sink.clone();
                        // A panic must not end the pump (later sends would never complete).
                        let queued = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            client.send_message_with(&message, move |outcome| done.complete(id, outcome))
                        }))
                        .unwrap_or_else(|_| Err(bug("queueing a message")));
                        match queued {
                            Ok(()) => break,
                            Err(e) if e.kind() == ErrorKind::QueueFull && !fail_fast => {
                                // Room appears when a PUBACK completes a send (just after its
                                // callback, so the wait is bounded too).
                                sink.want_room();
                                let _ = tokio::time::timeout(Duration::from_millis(2), sink.room()).await;
                            }
                            Err(e) => {
                                sink.complete(id, Err(e));
                                break;
                            }
                        }
                    }
                }
            }
            Command::Disconnect(id) => {
                let c = client.clone();
                let outcome = tokio::spawn(async move { c.disconnect().await }).await;
                sink.complete(id, outcome.unwrap_or_else(|_| Err(bug("disconnecting"))));
            }
            Command::Close(id) => {
                let c = client.clone();
                let outcome = tokio::spawn(async move { c.close().await }).await;
                sink.complete(id, outcome.map_err(|_| bug("closing")));
            }
        }
    }
}

/// Native clients alive right now (for the tests: dropped clients must go).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many native clients exist (a test hook).
#[napi(js_name = "liveNativeClients", catch_unwind)]
pub fn live_native_clients() -> u32 {
    LIVE.load(Ordering::Relaxed) as u32
}

/// One device or module client.
#[napi]
pub struct NativeClient {
    client: Client,
    sink: Arc<Sink>,
    commands: mpsc::UnboundedSender<Command>,
}

#[napi]
impl NativeClient {
    /// `kind`: 0 any identity, 1 device only, 2 module only. `on_ready` is called with no
    /// arguments on the JS thread whenever outcomes wait in [`NativeClient::take`].
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, connection_string: String, kind: u32, options: Vec<NativeOption>, on_ready: Function<'_>) -> Result<Self> {
        // IOTSEC_LOG=trace (or a level or filter) logs iotsec, rumqttc and rustls on standard
        // error, from the first client on; unset, nothing is logged.
        iotsec::client::init_logging_from_env();
        let raw_env = env.raw();
        let (options, fail_fast) = client_options(options).map_err(|e| js::throw(raw_env, &e))?;
        let client = match kind {
            1 => Client::device_from_connection_string(&connection_string, options),
            2 => Client::module_from_connection_string(&connection_string, options),
            _ => Client::from_connection_string(&connection_string, options),
        }
        .map_err(|e| js::throw(raw_env, &e))?;
        let sink = Arc::new(Sink::default());
        sink.attach(raw_env, on_ready.raw())?;
        let runtime = iotsec::runtime::handle();
        let (commands, queue) = mpsc::unbounded_channel();
        runtime.spawn(pump(client.clone(), sink.clone(), queue, fail_fast));
        // Every state change, in order, none skipped (a reconnect that succeeds at once still
        // reports `reconnecting` then `connected`).
        let mut changes = client.state_changes();
        let watcher = sink.clone();
        runtime.spawn(async move {
            while let Some(change) = changes.next().await {
                let closed = matches!(change.state, iotsec::ConnectionState::Closed);
                watcher.state(change);
                if closed {
                    break;
                }
            }
        });
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(NativeClient { client, sink, commands })
    }

    /// Hands messages to the pump, in order. `batch` is a flat array holding, per message:
    /// `id, data, fieldMask, ...fields` where `fieldMask` has bit `i` set when field
    /// [`FIELDS`]`[i]` follows (`properties` as a flat `[key, value, ...]` array, the others as
    /// strings). The outcome of each message, sent or why not (unreadable argument, schema,
    /// size, closed client, ...), comes back for its id.
    #[napi(js_name = "sendMany", catch_unwind)]
    pub fn send_many(&self, env: Env, batch: Unknown<'_>) -> Result<()> {
        let raw_env = env.raw();
        let batch = batch.raw();
        let len = js::array_len(raw_env, batch);
        let mut messages = Vec::new();
        let mut at = 0;
        while at < len {
            let Some(id) = js::get_index(raw_env, batch, at).ok().and_then(|v| js::get_u32(raw_env, v)) else {
                return Err(js::throw(raw_env, &iotsec::Error::invalid_argument("sendMany: a message id is missing")));
            };
            let (message, next) = read_message(raw_env, batch, at + 1);
            at = next;
            match message {
                Ok(m) => messages.push((id, m)),
                Err(e) => {
                    // Keep the order of outcomes: queue what came before, then this failure.
                    if !messages.is_empty() {
                        self.command(Command::Send(std::mem::take(&mut messages)));
                    }
                    self.sink.complete(id, Err(e));
                }
            }
        }
        if !messages.is_empty() {
            self.command(Command::Send(messages));
        }
        Ok(())
    }

    fn command(&self, command: Command) {
        if let Err(mpsc::error::SendError(command)) = self.commands.send(command) {
            // The pump is gone (the runtime was shut down): fail rather than lose the operation.
            let ids = match command {
                Command::Send(messages) => messages.into_iter().map(|(id, _)| id).collect(),
                Command::Disconnect(id) | Command::Close(id) => vec![id],
            };
            for id in ids {
                self.sink.complete(id, Err(iotsec::Error::new(ErrorKind::Closed, "the client is closed")));
            }
        }
    }

    /// Connects (resolves `id` when connected, or with why the first attempt failed).
    #[napi(catch_unwind)]
    pub fn open(&self, id: u32) {
        let client = self.client.clone();
        let sink = self.sink.clone();
        let runtime = iotsec::runtime::handle();
        let connect = runtime.spawn(async move { client.connect().await });
        runtime.spawn(async move {
            sink.complete(id, connect.await.unwrap_or_else(|_| Err(bug("connecting"))));
        });
    }

    /// Disconnects gracefully, after the messages handed over before it are acknowledged; a
    /// later open or send connects again.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, id: u32) {
        self.command(Command::Disconnect(id));
    }

    /// Closes for good, after the messages handed over before it are acknowledged (or time out).
    #[napi(catch_unwind)]
    pub fn close(&self, id: u32) {
        self.command(Command::Close(id));
    }

    /// Everything that completed since the last call (see [`Sink::take`]).
    #[napi(catch_unwind)]
    pub fn take<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let v = self.sink.take(env.raw())?;
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
    }

    /// Keep the process alive while this client waits for something (`true`) or not.
    #[napi(js_name = "keepAlive", catch_unwind)]
    pub fn keep_alive(&self, env: Env, keep: bool) -> Result<()> {
        self.sink.set_ref(env.raw(), keep)
    }

    /// Stops all callbacks into JavaScript (after close, once nothing is outstanding).
    #[napi(catch_unwind)]
    pub fn release(&self) {
        self.sink.release();
    }

    /// The connection state now, as `{ state, reason, attempt?, error? }`.
    #[napi(catch_unwind)]
    pub fn state<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let state = self.client.state();
        let change = iotsec::StateChange { reason: iotsec::ChangeReason::of_state(&state), status: state.status(), state };
        let v = state_object(env.raw(), &change)?;
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
    }

    /// Whether the client is connecting, connected or reconnecting: a connection the process
    /// should stay alive for.
    #[napi(js_name = "isActive", catch_unwind)]
    pub fn is_active(&self) -> bool {
        use iotsec::ConnectionState as S;
        matches!(self.client.state(), S::Connecting | S::Connected | S::Reconnecting { .. })
    }

    /// The MQTT username this client presents (no secret in it).
    #[napi(getter, catch_unwind)]
    pub fn username(&self) -> String {
        self.client.mqtt_username().to_string()
    }

    /// The device id.
    #[napi(getter, catch_unwind)]
    pub fn device_id(&self) -> String {
        self.client.identity().device_id().to_string()
    }

    /// The module id, if this is a module.
    #[napi(getter, catch_unwind)]
    pub fn module_id(&self) -> Option<String> {
        self.client.identity().module_id().map(str::to_string)
    }
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        // Garbage-collected without close(): stop calling into JS; dropping the client aborts
        // its session (core).
        self.sink.release();
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}
