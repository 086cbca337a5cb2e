//! The C API (bindings-c's `extern "C"` functions, compiled from its sources) driven by
//! arbitrary call sequences: message create/clone/destroy, properties and system properties,
//! body getters, topic, validation, client create/set-option/username/destroy (no network:
//! nothing is ever connected or sent). Arguments include NULL, destroyed, foreign (a client
//! handle where a message is expected, and the reverse) and made-up handles, and text that is
//! not UTF-8; strings are always NUL-terminated, as C requires, and cut at their first NUL as
//! C would.
//!
//! The oracle is a model of every live handle: each call must return what the documentation
//! says (a destroyed handle gives `*_INVALID_ARG` / NULL with `IOTSEC_ERROR_INVALID_ARGUMENT`,
//! non-UTF-8 text `IOTHUB_MESSAGE_INVALID_TYPE`, getters give back what was set, the topic
//! and properties JSON match the modelled message, validation matches core), set or clear the
//! thread's last error accordingly, and never put a connection string's key in an error.
#![no_main]

use std::ffi::{c_char, c_void, CStr};

use arbitrary::Arbitrary;
use iotsec_c::IOTHUB_CLIENT_RESULT::*;
use iotsec_c::IOTHUB_MESSAGE_RESULT::*;
use iotsec_c::IOTHUBMESSAGE_CONTENT_TYPE::*;
use iotsec_c::*;
use libfuzzer_sys::fuzz_target;

/// Text as C passes it.
#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Null,
    Utf8(String),
    Bytes(Vec<u8>),
}

/// A NUL-terminated copy in a buffer of u64s (so an option read as a number stays in bounds and
/// aligned), and what the library sees: `None` for NULL, else the bytes before the first NUL.
struct CText {
    buf: Option<Vec<u64>>,
    seen: Option<Vec<u8>>,
}

impl CText {
    fn new(t: &Text) -> CText {
        let bytes: Option<&[u8]> = match t {
            Text::Null => None,
            Text::Utf8(s) => Some(s.as_bytes()),
            Text::Bytes(b) => Some(b),
        };
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: Option<&[u8]>) -> CText {
        let Some(bytes) = bytes else { return CText { buf: None, seen: None } };
        let seen: Vec<u8> = bytes.iter().copied().take_while(|b| *b != 0).collect();
        let mut buf = vec![0u64; seen.len() / 8 + 2];
        // SAFETY: `buf` holds at least seen.len() + 8 bytes.
        unsafe { std::ptr::copy_nonoverlapping(seen.as_ptr(), buf.as_mut_ptr().cast::<u8>(), seen.len()) };
        CText { buf: Some(buf), seen: Some(seen) }
    }

    fn str(s: &str) -> CText {
        Self::from_bytes(Some(s.as_bytes()))
    }

    fn ptr(&self) -> *const c_char {
        self.buf.as_ref().map_or(std::ptr::null(), |b| b.as_ptr().cast())
    }

    /// The text if it is UTF-8 (`Err(true)`: NULL, `Err(false)`: not UTF-8).
    fn utf8(&self) -> Result<&str, bool> {
        match &self.seen {
            None => Err(true),
            Some(b) => std::str::from_utf8(b).map_err(|_| false),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum HandleRef {
    Message(u8),
    Client(u8),
    Null,
    MadeUp(usize),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Setter {
    MessageId,
    CorrelationId,
    UserId,
    ContentType,
    ContentEncoding,
    OutputName,
}

impl Setter {
    fn slot(self) -> usize {
        match self {
            Setter::MessageId => 0,
            Setter::CorrelationId => 1,
            Setter::UserId => 2,
            Setter::ContentType => 4,
            Setter::ContentEncoding => 5,
            Setter::OutputName => 6,
        }
    }
}

const SYSTEM: [&str; 10] = [
    "message_id",
    "correlation_id",
    "user_id",
    "to",
    "content_type",
    "content_encoding",
    "output_name",
    "expiry_time_utc",
    "interface_id",
    "component_name",
];

#[derive(Arbitrary, Debug, Clone)]
enum SystemName {
    Known(u8),
    Raw(Text),
}

#[derive(Arbitrary, Debug, Clone)]
enum ConnStr {
    Built { host: String, device: String, module: Option<String>, key: [u8; 16], extra: Vec<(String, String)>, shuffle: bool },
    Raw(Text),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Api {
    Device,
    Module,
    Native(u8),
}

#[derive(Arbitrary, Debug, Clone)]
enum OptionName {
    TrustedCerts,
    MessageTimeout,
    Keepalive,
    SasTokenLifetime,
    ProductInfo,
    Logtrace,
    Native(u8),
    Raw(Text),
}

const NATIVE_OPTIONS: [&str; 16] = [
    "ca_pem",
    "ca_file",
    "port",
    "validation",
    "product_info",
    "puback_timeout_ms",
    "connect_timeout_ms",
    "keep_alive_s",
    "token_lifetime_s",
    "max_in_flight",
    "queue_capacity",
    "queue_policy",
    "transport",
    "client_cert_file",
    "client_key_file",
    "colour",
];

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    CreateFromByteArray { body: Vec<u8>, null: bool },
    CreateFromString(Text),
    Clone(HandleRef),
    Destroy(HandleRef),
    SetProperty(HandleRef, Text, Text),
    GetProperty(HandleRef, Text),
    RemoveProperty(HandleRef, Text),
    SetSystem(HandleRef, Setter, Text),
    GetSystem(HandleRef, Setter),
    SetSystemByName(HandleRef, SystemName, Text),
    GetSystemByName(HandleRef, SystemName),
    SetAsSecurity(HandleRef),
    IsSecurity(HandleRef),
    GetByteArray(HandleRef, bool),
    GetString(HandleRef),
    GetContentType(HandleRef),
    GetBody(HandleRef),
    PropertiesJson(HandleRef),
    Topic(HandleRef, Text, Text),
    Validate { body: Vec<u8>, null: bool },
    ClientCreate { cs: ConnStr, api: Api, no_protocol: bool },
    ClientSetOption { handle: HandleRef, compat: bool, name: OptionName, value: Text, number: u64, null_value: bool },
    ClientUsername(HandleRef),
    ClientDestroy(HandleRef, bool),
    Send(HandleRef, HandleRef),
}

/// A live message as the model has it.
#[derive(Clone, Debug)]
struct Model {
    body: Vec<u8>,
    string: bool,
    properties: Vec<(String, String)>,
    system: [Option<String>; 10],
}

impl Model {
    fn new(body: Vec<u8>, string: bool) -> Model {
        Model { body, string, properties: Vec::new(), system: Default::default() }
    }

    fn message(&self) -> iotsec::Message {
        let mut m = iotsec::Message::from_slice(&self.body);
        let s = m.system_properties_mut();
        let slots = [
            &mut s.message_id,
            &mut s.correlation_id,
            &mut s.user_id,
            &mut s.to,
            &mut s.content_type,
            &mut s.content_encoding,
            &mut s.output_name,
            &mut s.expiry_time_utc,
            &mut s.interface_id,
            &mut s.component_name,
        ];
        for (slot, value) in slots.into_iter().zip(&self.system) {
            *slot = value.clone();
        }
        for (k, v) in &self.properties {
            m.set_property(k.clone(), v.clone());
        }
        m
    }
}

struct ClientModel {
    /// The key in its connection string, which no error may show.
    secret: Option<String>,
}

#[derive(Default)]
struct World {
    messages: Vec<(usize, Option<Model>)>,
    clients: Vec<(usize, Option<ClientModel>)>,
}

/// What a handle argument resolves to.
enum Target {
    Message(usize),
    Client(usize),
    /// NULL, destroyed, made up, or of the other type.
    Invalid,
}

impl World {
    fn raw(&self, h: HandleRef) -> Option<usize> {
        match h {
            HandleRef::Null => Some(0),
            HandleRef::Message(i) if !self.messages.is_empty() => Some(self.messages[usize::from(i) % self.messages.len()].0),
            HandleRef::Client(i) if !self.clients.is_empty() => Some(self.clients[usize::from(i) % self.clients.len()].0),
            HandleRef::Message(_) | HandleRef::Client(_) => Some(0),
            // A made-up number that happens to be a real handle is not made up.
            HandleRef::MadeUp(n) => {
                let taken = self.messages.iter().any(|(h, _)| *h == n) || self.clients.iter().any(|(h, _)| *h == n);
                (!taken).then_some(n)
            }
        }
    }

    fn target(&self, raw: usize) -> Target {
        if let Some(i) = self.messages.iter().position(|(h, m)| *h == raw && m.is_some()) {
            return Target::Message(i);
        }
        if let Some(i) = self.clients.iter().position(|(h, c)| *h == raw && c.is_some()) {
            return Target::Client(i);
        }
        Target::Invalid
    }

    fn message(&mut self, raw: usize) -> Option<&mut Model> {
        match self.target(raw) {
            Target::Message(i) => self.messages[i].1.as_mut(),
            _ => None,
        }
    }

    fn is_client(&self, raw: usize) -> bool {
        matches!(self.target(raw), Target::Client(_))
    }
}

fn ptr<T>(raw: usize) -> *mut T {
    std::ptr::without_provenance_mut(raw)
}

fn last_kind() -> u32 {
    iotsec_last_error_kind()
}

fn last_message() -> Option<String> {
    let p = iotsec_last_error_message();
    // SAFETY: NULL or a NUL-terminated string valid until the next call on this thread.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The call succeeded: no last error.
fn ok(what: &str) {
    assert_eq!(last_kind(), IOTSEC_OK, "{what}: succeeded but left error {:?}", last_message());
    assert!(last_message().is_none(), "{what}: succeeded but left an error text");
}

/// The call failed for an invalid argument, and said so.
fn invalid_arg(what: &str) {
    assert_eq!(last_kind(), IOTSEC_ERROR_INVALID_ARGUMENT, "{what}: expected INVALID_ARGUMENT, got {:?}", last_message());
    assert!(last_message().is_some_and(|m| !m.is_empty()), "{what}: an error without text");
}

fn c_str(p: *const c_char) -> Option<Vec<u8>> {
    // SAFETY: NULL or a NUL-terminated string from the library.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}

/// A caller-owned string: its bytes, then freed.
fn owned(p: *mut c_char) -> Option<String> {
    let s = c_str(p).map(|b| String::from_utf8(b).expect("the library returned text that is not UTF-8"));
    if !p.is_null() {
        // SAFETY: returned by a "caller frees" function. (Not called for NULL: it would clear
        // the last error the caller checks next.)
        unsafe { iotsec_string_free(p) };
    }
    s
}

/// The expected result of a message setter given the handle and text arguments.
fn setter_expectation(live: bool, args: &[&CText]) -> IOTHUB_MESSAGE_RESULT {
    if !live {
        return IOTHUB_MESSAGE_INVALID_ARG;
    }
    for a in args {
        match a.utf8() {
            Err(true) => return IOTHUB_MESSAGE_INVALID_ARG,
            Err(false) => return IOTHUB_MESSAGE_INVALID_TYPE,
            Ok(_) => {}
        }
    }
    IOTHUB_MESSAGE_OK
}

fn check_message_result(what: &str, got: IOTHUB_MESSAGE_RESULT, want: IOTHUB_MESSAGE_RESULT) {
    assert_eq!(got, want, "{what}: last error {:?}", last_message());
    if want == IOTHUB_MESSAGE_OK {
        ok(what);
    } else {
        invalid_arg(what);
    }
}

fn connection_string(cs: &ConnStr) -> (CText, Option<String>) {
    match cs {
        ConnStr::Raw(t) => (CText::new(t), None),
        ConnStr::Built { host, device, module, key, extra, shuffle } => {
            use base64::Engine as _;
            let secret = base64::engine::general_purpose::STANDARD.encode(key);
            let mut parts = vec![format!("HostName={host}"), format!("DeviceId={device}")];
            if let Some(m) = module {
                parts.push(format!("ModuleId={m}"));
            }
            parts.push(format!("SharedAccessKey={secret}"));
            parts.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
            if *shuffle {
                parts.reverse();
            }
            let text = parts.join(";");
            // Only a secret when it occurs once.
            let secret = (text.matches(&secret).count() == 1).then_some(secret);
            (CText::str(&text), secret)
        }
    }
}

fn run(op: &Op, world: &mut World) {
    match op {
        Op::CreateFromByteArray { body, null } => {
            let p = if *null { std::ptr::null() } else { body.as_ptr() };
            // SAFETY: NULL or `body.len()` readable bytes.
            let h = unsafe { IoTHubMessage_CreateFromByteArray(p, body.len()) };
            if *null && !body.is_empty() {
                assert!(h.is_null());
                invalid_arg("CreateFromByteArray(NULL, n)");
            } else {
                assert!(!h.is_null(), "CreateFromByteArray failed: {:?}", last_message());
                ok("CreateFromByteArray");
                let body = if *null { Vec::new() } else { body.clone() };
                world.messages.push((h.addr(), Some(Model::new(body, false))));
            }
        }
        Op::CreateFromString(t) => {
            let c = CText::new(t);
            // SAFETY: NULL or NUL-terminated.
            let h = unsafe { IoTHubMessage_CreateFromString(c.ptr()) };
            match &c.seen {
                None => {
                    assert!(h.is_null());
                    invalid_arg("CreateFromString(NULL)");
                }
                Some(bytes) => {
                    assert!(!h.is_null());
                    ok("CreateFromString");
                    world.messages.push((h.addr(), Some(Model::new(bytes.clone(), true))));
                }
            }
        }
        Op::Clone(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let copy = IoTHubMessage_Clone(ptr(raw));
            match world.message(raw).cloned() {
                Some(model) => {
                    assert!(!copy.is_null());
                    assert_ne!(copy.addr(), raw);
                    ok("Clone");
                    world.messages.push((copy.addr(), Some(model)));
                }
                None => {
                    assert!(copy.is_null());
                    invalid_arg("Clone(invalid)");
                }
            }
        }
        Op::Destroy(h) => {
            let Some(raw) = world.raw(*h) else { return };
            IoTHubMessage_Destroy(ptr(raw));
            // Documented: NULL and destroyed handles are ignored. (Destroy never fails.)
            ok("Destroy");
            if let Target::Message(i) = world.target(raw) {
                world.messages[i].1 = None;
            }
        }
        Op::SetProperty(h, k, v) => {
            let Some(raw) = world.raw(*h) else { return };
            let (k, v) = (CText::new(k), CText::new(v));
            // SAFETY: NULL or NUL-terminated strings.
            let got = unsafe { IoTHubMessage_SetProperty(ptr(raw), k.ptr(), v.ptr()) };
            let live = world.message(raw).is_some();
            let mut want = setter_expectation(live, &[&k, &v]);
            if want == IOTHUB_MESSAGE_OK && k.seen.as_ref().is_some_and(Vec::is_empty) {
                want = IOTHUB_MESSAGE_INVALID_ARG;
            }
            check_message_result("SetProperty", got, want);
            if want == IOTHUB_MESSAGE_OK {
                let (k, v) = (k.utf8().unwrap().to_string(), v.utf8().unwrap().to_string());
                let m = world.message(raw).unwrap();
                match m.properties.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1 = v,
                    None => m.properties.push((k, v)),
                }
            }
        }
        Op::GetProperty(h, k) => {
            let Some(raw) = world.raw(*h) else { return };
            let k = CText::new(k);
            // SAFETY: NULL or NUL-terminated.
            let got = c_str(unsafe { IoTHubMessage_GetProperty(ptr(raw), k.ptr()) });
            match (world.message(raw), k.utf8()) {
                (Some(m), Ok(key)) => {
                    let want = m.properties.iter().find(|(kk, _)| kk == key).map(|(_, v)| v.as_bytes().to_vec());
                    assert_eq!(got, want, "GetProperty({key:?})");
                    ok("GetProperty");
                }
                _ => {
                    assert!(got.is_none());
                    invalid_arg("GetProperty(invalid)");
                }
            }
        }
        Op::RemoveProperty(h, k) => {
            let Some(raw) = world.raw(*h) else { return };
            let k = CText::new(k);
            // SAFETY: NULL or NUL-terminated.
            let got = unsafe { iotsec_message_remove_property(ptr(raw), k.ptr()) };
            match (world.message(raw), k.utf8()) {
                (Some(m), Ok(key)) => {
                    assert_eq!(got, IOTSEC_OK);
                    ok("remove_property");
                    m.properties.retain(|(kk, _)| kk != key);
                }
                _ => {
                    assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT);
                    invalid_arg("remove_property(invalid)");
                }
            }
        }
        Op::SetSystem(h, which, v) => {
            let Some(raw) = world.raw(*h) else { return };
            let v = CText::new(v);
            let m = ptr(raw);
            // SAFETY: NULL or NUL-terminated.
            let got = unsafe {
                match which {
                    Setter::MessageId => IoTHubMessage_SetMessageId(m, v.ptr()),
                    Setter::CorrelationId => IoTHubMessage_SetCorrelationId(m, v.ptr()),
                    Setter::UserId => IoTHubMessage_SetMessageUserIdSystemProperty(m, v.ptr()),
                    Setter::ContentType => IoTHubMessage_SetContentTypeSystemProperty(m, v.ptr()),
                    Setter::ContentEncoding => IoTHubMessage_SetContentEncodingSystemProperty(m, v.ptr()),
                    Setter::OutputName => IoTHubMessage_SetOutputName(m, v.ptr()),
                }
            };
            let want = setter_expectation(world.message(raw).is_some(), &[&v]);
            check_message_result("Set system property", got, want);
            if want == IOTHUB_MESSAGE_OK {
                world.message(raw).unwrap().system[which.slot()] = Some(v.utf8().unwrap().to_string());
            }
        }
        Op::GetSystem(h, which) => {
            let Some(raw) = world.raw(*h) else { return };
            let m = ptr(raw);
            let got = c_str(match which {
                Setter::MessageId => IoTHubMessage_GetMessageId(m),
                Setter::CorrelationId => IoTHubMessage_GetCorrelationId(m),
                Setter::UserId => IoTHubMessage_GetMessageUserIdSystemProperty(m),
                Setter::ContentType => IoTHubMessage_GetContentTypeSystemProperty(m),
                Setter::ContentEncoding => IoTHubMessage_GetContentEncodingSystemProperty(m),
                Setter::OutputName => IoTHubMessage_GetOutputName(m),
            });
            match world.message(raw) {
                Some(model) => {
                    assert_eq!(got, model.system[which.slot()].as_ref().map(|s| s.as_bytes().to_vec()), "{which:?}");
                    ok("Get system property");
                }
                None => {
                    assert!(got.is_none());
                    invalid_arg("Get system property(invalid)");
                }
            }
        }
        Op::SetSystemByName(h, name, v) => {
            let Some(raw) = world.raw(*h) else { return };
            let name = match name {
                SystemName::Known(i) => CText::str(SYSTEM.get(usize::from(*i)).copied().unwrap_or("not_a_property")),
                SystemName::Raw(t) => CText::new(t),
            };
            let v = CText::new(v);
            // SAFETY: NULL or NUL-terminated.
            let got = unsafe { iotsec_message_set_system_property(ptr(raw), name.ptr(), v.ptr()) };
            let slot = name.utf8().ok().and_then(|n| SYSTEM.iter().position(|s| *s == n));
            let value_ok = v.seen.is_none() || v.utf8().is_ok();
            match world.message(raw) {
                Some(model) if slot.is_some() && value_ok => {
                    assert_eq!(got, IOTSEC_OK, "{:?}", last_message());
                    ok("set_system_property");
                    model.system[slot.unwrap()] = v.utf8().ok().map(str::to_string);
                }
                _ => {
                    assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT);
                    invalid_arg("set_system_property(invalid)");
                }
            }
        }
        Op::GetSystemByName(h, name) => {
            let Some(raw) = world.raw(*h) else { return };
            let name = match name {
                SystemName::Known(i) => CText::str(SYSTEM.get(usize::from(*i)).copied().unwrap_or("not_a_property")),
                SystemName::Raw(t) => CText::new(t),
            };
            // SAFETY: NULL or NUL-terminated.
            let got = c_str(unsafe { iotsec_message_get_system_property(ptr(raw), name.ptr()) });
            let slot = name.utf8().ok().and_then(|n| SYSTEM.iter().position(|s| *s == n));
            match (world.message(raw), slot) {
                (Some(model), Some(slot)) => {
                    assert_eq!(got, model.system[slot].as_ref().map(|s| s.as_bytes().to_vec()));
                    ok("get_system_property");
                }
                _ => {
                    assert!(got.is_none());
                    invalid_arg("get_system_property(invalid)");
                }
            }
        }
        Op::SetAsSecurity(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = IoTHubMessage_SetAsSecurityMessage(ptr(raw));
            match world.message(raw) {
                Some(model) => {
                    check_message_result("SetAsSecurityMessage", got, IOTHUB_MESSAGE_OK);
                    model.system[8] = Some(iotsec::SECURITY_INTERFACE_ID.to_string());
                }
                None => check_message_result("SetAsSecurityMessage", got, IOTHUB_MESSAGE_INVALID_ARG),
            }
        }
        Op::IsSecurity(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = IoTHubMessage_IsSecurityMessage(ptr(raw));
            match world.message(raw) {
                Some(model) => {
                    assert_eq!(got, model.system[8].as_deref() == Some(iotsec::SECURITY_INTERFACE_ID));
                    ok("IsSecurityMessage");
                }
                None => {
                    assert!(!got);
                    invalid_arg("IsSecurityMessage(invalid)");
                }
            }
        }
        Op::GetByteArray(h, null_out) => {
            let Some(raw) = world.raw(*h) else { return };
            let mut buffer: *const u8 = std::ptr::null();
            let mut size = usize::MAX;
            let (b, s) = if *null_out { (std::ptr::null_mut(), std::ptr::null_mut()) } else { (&mut buffer as *mut _, &mut size as *mut _) };
            // SAFETY: NULL or writable.
            let got = unsafe { IoTHubMessage_GetByteArray(ptr(raw), b, s) };
            match world.message(raw) {
                Some(model) if !*null_out && !model.string => {
                    check_message_result("GetByteArray", got, IOTHUB_MESSAGE_OK);
                    // SAFETY: the library points at `size` bytes of the live message.
                    let bytes = unsafe { std::slice::from_raw_parts(buffer, size) };
                    assert_eq!(bytes, &model.body[..]);
                }
                _ => check_message_result("GetByteArray(invalid)", got, IOTHUB_MESSAGE_INVALID_ARG),
            }
        }
        Op::GetString(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = c_str(IoTHubMessage_GetString(ptr(raw)));
            match world.message(raw) {
                Some(model) => {
                    assert_eq!(got, model.string.then(|| model.body.clone()));
                    ok("GetString");
                }
                None => {
                    assert!(got.is_none());
                    invalid_arg("GetString(invalid)");
                }
            }
        }
        Op::GetContentType(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = IoTHubMessage_GetContentType(ptr(raw));
            match world.message(raw) {
                Some(model) => {
                    assert_eq!(got, if model.string { IOTHUBMESSAGE_STRING } else { IOTHUBMESSAGE_BYTEARRAY });
                    ok("GetContentType");
                }
                None => {
                    assert_eq!(got, IOTHUBMESSAGE_UNKNOWN);
                    invalid_arg("GetContentType(invalid)");
                }
            }
        }
        Op::GetBody(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let mut body: *const u8 = std::ptr::null();
            let mut size = 0usize;
            // SAFETY: writable.
            let got = unsafe { iotsec_message_get_body(ptr(raw), &mut body, &mut size) };
            match world.message(raw) {
                Some(model) => {
                    assert_eq!(got, IOTSEC_OK);
                    ok("get_body");
                    // SAFETY: the library points at `size` bytes of the live message.
                    assert_eq!(unsafe { std::slice::from_raw_parts(body, size) }, &model.body[..]);
                }
                None => {
                    assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT);
                    invalid_arg("get_body(invalid)");
                }
            }
        }
        Op::PropertiesJson(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = owned(iotsec_message_properties_json(ptr(raw)));
            match world.message(raw) {
                Some(model) => {
                    let pairs: Vec<[&str; 2]> = model.properties.iter().map(|(k, v)| [k.as_str(), v.as_str()]).collect();
                    assert_eq!(got, Some(serde_json::to_string(&pairs).unwrap()));
                    ok("properties_json");
                }
                None => {
                    assert!(got.is_none());
                    invalid_arg("properties_json(invalid)");
                }
            }
        }
        Op::Topic(h, d, m) => {
            let Some(raw) = world.raw(*h) else { return };
            let (d, m) = (CText::new(d), CText::new(m));
            // SAFETY: NULL or NUL-terminated.
            let got = owned(unsafe { iotsec_message_topic(ptr(raw), d.ptr(), m.ptr()) });
            let model = world.message(raw).cloned();
            let want = model.as_ref().and_then(|model| {
                let device = d.utf8().ok()?;
                let identity = match (&m.seen, m.utf8()) {
                    (None, _) => iotsec::Identity::device(device).ok()?,
                    (Some(_), Ok(module)) => iotsec::Identity::module(device, module).ok()?,
                    (Some(_), Err(_)) => return None,
                };
                iotsec::topic::telemetry_topic(&identity, &model.message()).ok()
            });
            assert_eq!(got, want, "message_topic");
            if got.is_some() {
                ok("message_topic");
            } else {
                assert_ne!(last_kind(), IOTSEC_OK, "message_topic failed without an error");
                if model.is_none() {
                    invalid_arg("message_topic(invalid)");
                }
            }
        }
        Op::Validate { body, null } => {
            let p = if *null { std::ptr::null() } else { body.as_ptr() };
            // SAFETY: NULL or `body.len()` readable bytes.
            let got = owned(unsafe { iotsec_validate(p, body.len()) });
            // SAFETY: as above.
            let valid = unsafe { iotsec_is_valid(p, body.len()) };
            if *null && !body.is_empty() {
                assert!(got.is_none());
                assert_eq!(valid, -1);
                invalid_arg("validate(NULL, n)");
            } else {
                let bytes: &[u8] = if *null { &[] } else { body };
                let violations = iotsec::schema::validate(bytes);
                assert_eq!(got, Some(serde_json::to_string(&violations).unwrap()));
                assert_eq!(valid, i32::from(violations.is_empty()));
                ok("is_valid");
            }
        }
        Op::ClientCreate { cs, api, no_protocol } => {
            let (text, secret) = connection_string(cs);
            let protocol: IOTHUB_CLIENT_TRANSPORT_PROVIDER = if *no_protocol { None } else { Some(MQTT_Protocol as unsafe extern "C" fn() -> *const TRANSPORT_PROVIDER) };
            // SAFETY: NULL or NUL-terminated; the protocol is NULL or MQTT_Protocol.
            let h = unsafe {
                match api {
                    Api::Device => IoTHubDeviceClient_CreateFromConnectionString(text.ptr(), protocol),
                    Api::Module => IoTHubModuleClient_CreateFromConnectionString(text.ptr(), protocol),
                    Api::Native(k) => iotsec_client_create(text.ptr(), u32::from(*k % 4)),
                }
            };
            let parsed = text.utf8().ok().map(iotsec::ConnectionString::parse);
            let kind_ok = |cs: &iotsec::ConnectionString| match api {
                Api::Device => !*no_protocol && !cs.identity.is_module(),
                Api::Module => !*no_protocol && cs.identity.is_module(),
                Api::Native(k) => match k % 4 {
                    0 => true,
                    1 => !cs.identity.is_module(),
                    2 => cs.identity.is_module(),
                    _ => false,
                },
            };
            let want = matches!(&parsed, Some(Ok(cs)) if kind_ok(cs));
            assert_eq!(!h.is_null(), want, "client create: {:?}", last_message());
            if want {
                ok("client create");
                world.clients.push((h.addr(), Some(ClientModel { secret: secret.clone() })));
            } else {
                assert_ne!(last_kind(), IOTSEC_OK);
                if let (Some(secret), Some(message)) = (&secret, last_message()) {
                    assert!(!message.contains(secret.as_str()), "the key in an error: {message}");
                }
            }
        }
        Op::ClientSetOption { handle, compat, name, value, number, null_value } => {
            let Some(raw) = world.raw(*handle) else { return };
            let name_text = match name {
                OptionName::TrustedCerts => CText::str("TrustedCerts"),
                OptionName::MessageTimeout => CText::str("messageTimeout"),
                OptionName::Keepalive => CText::str("keepalive"),
                OptionName::SasTokenLifetime => CText::str("sas_token_lifetime"),
                OptionName::ProductInfo => CText::str("product_info"),
                OptionName::Logtrace => CText::str("logtrace"),
                OptionName::Native(i) => {
                    let n = NATIVE_OPTIONS[usize::from(*i) % NATIVE_OPTIONS.len()];
                    CText::str(&if *compat { format!("iotsec.{n}") } else { n.to_string() })
                }
                OptionName::Raw(t) => CText::new(t),
            };
            // File options read files when the client is built: only paths that do not exist.
            let native = name_text.utf8().ok().map(|n| if *compat { n.strip_prefix("iotsec.").unwrap_or("") } else { n });
            let is_file = native.is_some_and(|n| matches!(n, "ca_file" | "client_cert_file" | "client_key_file"));
            let value_text = if is_file {
                CText::str(if value.clone_is_empty() { "" } else { "/nonexistent/iotsec-fuzz.pem" })
            } else {
                match name {
                    OptionName::MessageTimeout | OptionName::Keepalive | OptionName::SasTokenLifetime | OptionName::Logtrace => {
                        let mut t = CText::str("");
                        t.buf.as_mut().unwrap()[0] = *number;
                        t
                    }
                    _ => CText::new(value),
                }
            };
            let value_ptr: *const c_char = if *null_value { std::ptr::null() } else { value_text.ptr() };
            let live = world.is_client(raw);
            let got = if *compat {
                // SAFETY: the value buffer holds NUL-terminated text and at least 16 aligned bytes.
                let r = unsafe { IoTHubDeviceClient_SetOption(ptr(raw), name_text.ptr(), value_ptr.cast::<c_void>()) };
                match r {
                    IOTHUB_CLIENT_OK => IOTSEC_OK,
                    IOTHUB_CLIENT_INVALID_ARG => IOTSEC_ERROR_INVALID_ARGUMENT,
                    other => panic!("SetOption returned {other:?}: {:?}", last_message()),
                }
            } else {
                // SAFETY: NULL or NUL-terminated.
                unsafe { iotsec_client_set_option(ptr(raw), name_text.ptr(), value_ptr) }
            };
            if !live || *null_value || name_text.utf8().is_err() {
                assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT);
                invalid_arg("set_option(invalid)");
            } else if *compat && matches!(name, OptionName::Logtrace) {
                assert_eq!(got, IOTSEC_OK);
                ok("SetOption(logtrace)");
            } else if got == IOTSEC_OK {
                ok("set_option");
            } else {
                assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT, "{:?}", last_message());
                invalid_arg("set_option(refused)");
            }
            if let Some(message) = last_message() {
                for (_, c) in &world.clients {
                    if let Some(secret) = c.as_ref().and_then(|c| c.secret.as_ref()) {
                        assert!(!message.contains(secret.as_str()), "a key in an error: {message}");
                    }
                }
            }
        }
        Op::ClientUsername(h) => {
            let Some(raw) = world.raw(*h) else { return };
            let got = owned(iotsec_client_mqtt_username(ptr(raw)));
            match world.target(raw) {
                Target::Client(i) => {
                    let secret = world.clients[i].1.as_ref().and_then(|c| c.secret.clone());
                    match &got {
                        Some(name) => {
                            ok("mqtt_username");
                            assert!(name.contains("?api-version="), "{name}");
                            if let Some(s) = &secret {
                                assert!(!name.contains(s.as_str()), "the key in the user name");
                            }
                        }
                        None => {
                            assert_ne!(last_kind(), IOTSEC_OK);
                            if let (Some(s), Some(m)) = (&secret, last_message()) {
                                assert!(!m.contains(s.as_str()), "the key in an error: {m}");
                            }
                        }
                    }
                }
                _ => {
                    assert!(got.is_none());
                    invalid_arg("mqtt_username(invalid)");
                }
            }
        }
        Op::ClientDestroy(h, native) => {
            let Some(raw) = world.raw(*h) else { return };
            if *native {
                iotsec_client_destroy(ptr(raw));
            } else {
                IoTHubModuleClient_Destroy(ptr(raw));
            }
            ok("client destroy");
            if let Target::Client(i) = world.target(raw) {
                world.clients[i].1 = None;
            }
        }
        Op::Send(c, m) => {
            // Only with an invalid client or message: a send to a live client would connect.
            let (Some(c), Some(m)) = (world.raw(*c), world.raw(*m)) else { return };
            if world.is_client(c) && world.message(m).is_some() {
                return;
            }
            // SAFETY: no callback.
            let got = unsafe { IoTHubDeviceClient_SendEventAsync(ptr(c), ptr(m), None, std::ptr::null_mut()) };
            assert_eq!(got, IOTHUB_CLIENT_INVALID_ARG, "{:?}", last_message());
            invalid_arg("SendEventAsync(invalid)");
            let got = iotsec_client_send(ptr(c), ptr(m));
            assert_eq!(got, IOTSEC_ERROR_INVALID_ARGUMENT);
            invalid_arg("client_send(invalid)");
        }
    }
}

trait CloneIsEmpty {
    fn clone_is_empty(&self) -> bool;
}

impl CloneIsEmpty for Text {
    fn clone_is_empty(&self) -> bool {
        match self {
            Text::Null => true,
            Text::Utf8(s) => s.is_empty() || s.starts_with('\0'),
            Text::Bytes(b) => b.first().is_none_or(|b| *b == 0),
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut world = World::default();
    for op in ops.iter().take(64) {
        run(op, &mut world);
    }
    // Nothing outlives the input.
    for (h, m) in &world.messages {
        if m.is_some() {
            IoTHubMessage_Destroy(ptr(*h));
        }
    }
    for (h, c) in &world.clients {
        if c.is_some() {
            IoTHubDeviceClient_Destroy(ptr(*h));
        }
    }
});
