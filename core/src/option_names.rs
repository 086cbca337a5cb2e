//! Client options by name: the one place that turns `name = "text"` into a [`ClientOptions`]
//! field, for every language package (C's `iotsec_client_set_option`, Python's keyword
//! options, Node's `setOptions`, Java's `ClientOptions`, C# through C).
//!
//! A binding maps its own spelling (`keepAlive`, `sastoken_ttl`, ...) to one of these names and
//! its native value to text, then calls [`ClientOptions::set_by_name`]. Which text is accepted,
//! the units, and the error a bad value gives live here only. Ranges that depend on more than
//! one option (or on IoT Hub's limits) are still checked once by [`ClientOptions::validate`]
//! when the client is created.
//!
//! # The options
//!
//! | name | value | default |
//! | --- | --- | --- |
//! | `ca_file` | path of a PEM file with the CA certificate(s) to trust | `IOTSEC_CA_FILE`, else the system roots |
//! | `ca_pem` | PEM text of the CA certificate(s) to trust (wins over `ca_file`) | none |
//! | `port` | MQTT port, `1` to `65535`; `0` means the default | `IOTSEC_MQTT_PORT`, else 8883 |
//! | `transport` | `tls` or `plain_tcp_loopback` (plain MQTT, to a loopback host only) | `tls` |
//! | `keep_alive` | seconds; `0` disables, else 5 to 1,767 | 60 |
//! | `puback_timeout` | seconds a send waits for its PUBACK, above 0 | 60 |
//! | `connect_timeout` | seconds connecting may take (TCP + TLS + CONNACK) | 30 |
//! | `token_lifetime` | seconds each SAS token is valid, at least 5 | 3,600 |
//! | `validation` | `strict`, `warn` or `off` | `strict` |
//! | `max_in_flight` | PUBLISH packets awaiting PUBACK, `1` to `65535` | 100 |
//! | `queue_capacity` | messages accepted and not yet acknowledged, at least 1 | 10,000 |
//! | `queue_policy` | `block` (wait for room) or `fail_fast` (fail with `QUEUE_FULL`) | `block` |
//! | `reconnect_initial` | seconds before the first reconnect attempt, above 0 | 1 |
//! | `reconnect_max` | seconds, the largest reconnect delay (the delay doubles up to it) | 30 |
//! | `reconnect_jitter` | fraction `0` to `1` by which each delay is moved at random | 0.1 |
//! | `client_cert_file` | path of the client certificate (PEM) for `x509=true` | none |
//! | `client_key_file` | path of the client private key (PEM) for `x509=true` | none |
//! | `durable_queue` | path of the durable queue file (redb), created when missing | none (memory only) |
//! | `message_ids` | `never` or `when_unset` (a message without an id gets a UUID) | `never` |
//! | `product_info` | the `{binding} {runtime}` part of the user agent, e.g. `python 3.11.7` | none |
//!
//! Units: every duration is in **seconds**, fractions allowed (`0.25`, `1e-3`). Each duration
//! option also takes the suffixed names `NAME_s` (seconds) and `NAME_ms` (milliseconds), e.g.
//! `puback_timeout_ms = 1500`, for callers whose native unit is the millisecond.
//!
//! Text: leading and trailing white space is ignored except in `ca_pem` and `product_info`. An
//! empty value clears the text and path options (`ca_file`, `ca_pem`, `client_cert_file`,
//! `client_key_file`, `durable_queue`, `product_info`) and restores the default of `port`; for
//! every other option it is an error. The choice options (`transport`, `validation`,
//! `queue_policy`, `message_ids`) ignore case, `-` and `_` (`failFast`, `when-unset`).
//!
//! Errors are [`ErrorKind::InvalidArgument`]: an unknown name gives the closest known one
//! (`did you mean `queue_policy`?`) or the list of names; a bad value names the option and what
//! it accepts. A value is quoted in the message only when it is short (at most 100 characters).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::client::{ClientOptions, MessageIdPolicy, QueuePolicy, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::ValidationMode;

/// Every option name [`ClientOptions::set_by_name`] accepts (the duration options also take
/// `NAME_s` and `NAME_ms`; see [`DURATION_OPTIONS`]).
pub const OPTION_NAMES: &[&str] = &[
    "ca_file",
    "ca_pem",
    "port",
    "transport",
    "keep_alive",
    "puback_timeout",
    "connect_timeout",
    "token_lifetime",
    "validation",
    "max_in_flight",
    "queue_capacity",
    "queue_policy",
    "reconnect_initial",
    "reconnect_max",
    "reconnect_jitter",
    "client_cert_file",
    "client_key_file",
    "durable_queue",
    "message_ids",
    "product_info",
];

/// The options whose value is a duration: seconds, or with the name suffixed `_s` / `_ms`,
/// seconds / milliseconds.
pub const DURATION_OPTIONS: &[&str] =
    &["keep_alive", "puback_timeout", "connect_timeout", "token_lifetime", "reconnect_initial", "reconnect_max"];

/// The longest value quoted back in an error message.
const MAX_QUOTED: usize = 100;

/// A value as an error message may show it: quoted when short, else only its length.
fn shown(value: &str) -> String {
    let chars = value.chars().count();
    if chars <= MAX_QUOTED && !value.chars().any(char::is_control) {
        format!("`{value}`")
    } else {
        format!("a value of {chars} characters")
    }
}

fn bad_value(name: &str, value: &str, expected: &str) -> Error {
    let what = if value.trim().is_empty() { "an empty value".to_string() } else { shown(value) };
    Error::new(ErrorKind::InvalidArgument, format!("option `{name}`: {what} is not valid; expected {expected}"))
}

fn unknown_name(name: &str) -> Error {
    let lower = name.to_ascii_lowercase();
    let closest = OPTION_NAMES
        .iter()
        .map(|k| (strsim::damerau_levenshtein(k, &lower), *k))
        .min()
        .filter(|(distance, _)| *distance <= 2 + name.len() / 8)
        // `keep_alive_min`, `port_number`: a known name with something added.
        .or_else(|| OPTION_NAMES.iter().filter(|k| lower.starts_with(**k)).max_by_key(|k| k.len()).map(|k| (0, *k)));
    let message = match closest {
        Some((_, k)) => format!("unknown option {}; did you mean `{k}`?", shown(name)),
        None => format!("unknown option {}; the options are {}", shown(name), OPTION_NAMES.join(", ")),
    };
    Error::new(ErrorKind::InvalidArgument, message)
}

/// `when-unset`, `WhenUnset`, `when_unset` → `whenunset`.
fn folded(value: &str) -> String {
    value.trim().chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase()
}

/// One of `choices` (pairs of accepted name and value), ignoring case, `-` and `_`.
fn choice<T: Copy>(name: &str, value: &str, choices: &[(&str, T)]) -> Result<T> {
    let f = folded(value);
    choices.iter().find(|(n, _)| folded(n) == f).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("`{n}`")).collect();
        bad_value(name, value, &format!("one of {}", names.join(", ")))
    })
}

fn number<T: FromStr>(name: &str, value: &str, expected: &str) -> Result<T> {
    value.trim().parse().map_err(|_| bad_value(name, value, expected))
}

/// A non-negative, finite number of `unit`s as a [`Duration`].
fn duration(name: &str, value: &str, millis: bool) -> Result<Duration> {
    let expected = if millis { "a number of milliseconds (0 or more)" } else { "a number of seconds (0 or more, fractions allowed)" };
    let n: f64 = number(name, value, expected)?;
    let secs = if millis { n / 1000.0 } else { n };
    if !secs.is_finite() {
        return Err(bad_value(name, value, expected));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad_value(name, value, expected))
}

fn text(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn path(value: &str) -> Option<PathBuf> {
    let v = value.trim();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

impl ClientOptions {
    /// Sets the option called `name` from its text `value` (see the [module](self) for every
    /// name, unit and accepted value).
    ///
    /// Only the text is checked here; ranges are checked by [`ClientOptions::validate`] when a
    /// client is created from the options. On error the options are unchanged.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] naming the option: an unknown name (with the closest known
    /// one), or a value the option does not accept (with what it accepts).
    pub fn set_by_name(&mut self, name: &str, value: &str) -> Result<()> {
        // Duration options with a unit suffix: `puback_timeout_ms`, `keep_alive_s`.
        for base in DURATION_OPTIONS {
            if let Some(suffix) = name.strip_prefix(base) {
                let millis = match suffix {
                    "" | "_s" => false,
                    "_ms" => true,
                    _ => continue,
                };
                let d = duration(name, value, millis)?;
                match *base {
                    "keep_alive" => self.keep_alive = d,
                    "puback_timeout" => self.puback_timeout = d,
                    "connect_timeout" => self.connect_timeout = d,
                    "token_lifetime" => self.token_lifetime = d,
                    "reconnect_initial" => self.reconnect.initial = d,
                    "reconnect_max" => self.reconnect.max = d,
                    _ => unreachable!("every name of DURATION_OPTIONS is handled"),
                }
                return Ok(());
            }
        }
        match name {
            "ca_file" => self.ca_file = path(value),
            "ca_pem" => self.ca_pem = text(value),
            "port" => {
                let port: u16 = if value.trim().is_empty() {
                    0
                } else {
                    number(name, value, "a port number (1 to 65535, or 0 for the default)")?
                };
                self.port = (port != 0).then_some(port);
            }
            "transport" => {
                self.transport =
                    choice(name, value, &[("tls", Transport::Tls), ("plain_tcp_loopback", Transport::PlainTcpLoopbackOnly)])?
            }
            "validation" => {
                self.validation = choice(
                    name,
                    value,
                    &[("strict", ValidationMode::Strict), ("warn", ValidationMode::Warn), ("off", ValidationMode::Off)],
                )?
            }
            "max_in_flight" => self.max_in_flight = number(name, value, "a whole number from 1 to 65535")?,
            "queue_capacity" => self.queue_capacity = number(name, value, "a whole number of messages, at least 1")?,
            "queue_policy" => {
                self.queue_policy = choice(name, value, &[("block", QueuePolicy::Block), ("fail_fast", QueuePolicy::FailFast)])?
            }
            "reconnect_jitter" => {
                let expected = "a fraction from 0 to 1 (e.g. 0.1)";
                let j: f64 = number(name, value, expected)?;
                if !(0.0..=1.0).contains(&j) {
                    return Err(bad_value(name, value, expected));
                }
                self.reconnect.jitter = j;
            }
            "client_cert_file" => self.client_cert_file = path(value),
            "client_key_file" => self.client_key_file = path(value),
            "durable_queue" => self.durable_queue = path(value),
            "message_ids" => {
                self.message_ids = choice(
                    name,
                    value,
                    &[(MessageIdPolicy::Never.name(), MessageIdPolicy::Never), (MessageIdPolicy::WhenUnset.name(), MessageIdPolicy::WhenUnset)],
                )?
            }
            "product_info" => self.product_info = text(value),
            _ => return Err(unknown_name(name)),
        }
        Ok(())
    }

    /// A copy of `self` with every `(name, value)` pair applied in order (see
    /// [`ClientOptions::set_by_name`]); stops at the first error.
    pub fn with_names<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        for (name, value) in pairs {
            self.set_by_name(name, value)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: &str) -> ClientOptions {
        let mut o = ClientOptions::default();
        o.set_by_name(name, value).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        o
    }

    fn err(name: &str, value: &str) -> String {
        let mut o = ClientOptions::default();
        let e = o.set_by_name(name, value).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        e.message().to_string()
    }

    #[test]
    fn every_name_is_accepted_and_listed() {
        let good = |n: &str| match n {
            "port" => "8884",
            "transport" => "tls",
            "validation" => "warn",
            "max_in_flight" | "queue_capacity" => "7",
            "queue_policy" => "block",
            "reconnect_jitter" => "0.5",
            "message_ids" => "never",
            _ => "5",
        };
        for name in OPTION_NAMES {
            set(name, good(name));
        }
        for name in DURATION_OPTIONS {
            assert!(OPTION_NAMES.contains(name));
        }
        let mut sorted = OPTION_NAMES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), OPTION_NAMES.len());
    }

    #[test]
    fn paths_and_text() {
        assert_eq!(set("ca_file", " /tmp/ca.pem ").ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(set("ca_file", "").ca_file, None);
        let pem = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(set("ca_pem", pem).ca_pem.as_deref(), Some(pem));
        assert_eq!(set("ca_pem", "").ca_pem, None);
        assert_eq!(set("client_cert_file", "c.pem").client_cert_file, Some(PathBuf::from("c.pem")));
        assert_eq!(set("client_key_file", "k.pem").client_key_file, Some(PathBuf::from("k.pem")));
        assert_eq!(set("durable_queue", "/tmp/q.redb").durable_queue, Some(PathBuf::from("/tmp/q.redb")));
        assert_eq!(set("durable_queue", "").durable_queue, None);
        assert_eq!(set("product_info", "c 1.0").product_info.as_deref(), Some("c 1.0"));
        let mut o = set("product_info", "c 1.0");
        o.set_by_name("product_info", "").unwrap();
        assert_eq!(o.product_info, None);
    }

    #[test]
    fn port() {
        assert_eq!(set("port", "8884").port, Some(8884));
        assert_eq!(set("port", " 443 ").port, Some(443));
        assert_eq!(set("port", "0").port, None);
        assert_eq!(set("port", "").port, None);
        for bad in ["http", "70000", "-1", "1.5"] {
            let m = err("port", bad);
            assert!(m.contains("option `port`") && m.contains(&format!("`{bad}`")) && m.contains("1 to 65535"), "{m}");
        }
    }

    #[test]
    fn durations_in_seconds_and_with_unit_suffixes() {
        assert_eq!(set("keep_alive", "30").keep_alive, Duration::from_secs(30));
        assert_eq!(set("keep_alive_s", "30").keep_alive, Duration::from_secs(30));
        assert_eq!(set("keep_alive_ms", "30000").keep_alive, Duration::from_secs(30));
        assert_eq!(set("puback_timeout", "1.5").puback_timeout, Duration::from_millis(1500));
        assert_eq!(set("puback_timeout_ms", "1500").puback_timeout, Duration::from_millis(1500));
        assert_eq!(set("connect_timeout", "2").connect_timeout, Duration::from_secs(2));
        assert_eq!(set("connect_timeout_ms", "250").connect_timeout, Duration::from_millis(250));
        assert_eq!(set("token_lifetime", "600").token_lifetime, Duration::from_secs(600));
        assert_eq!(set("token_lifetime_s", "600").token_lifetime, Duration::from_secs(600));
        assert_eq!(set("reconnect_initial", "0.25").reconnect.initial, Duration::from_millis(250));
        assert_eq!(set("reconnect_initial_ms", "100").reconnect.initial, Duration::from_millis(100));
        assert_eq!(set("reconnect_max", "1e1").reconnect.max, Duration::from_secs(10));
        assert_eq!(set("reconnect_max_ms", "5000").reconnect.max, Duration::from_secs(5));
        for bad in ["-1", "soon", "inf", "NaN", "", "1e400"] {
            let m = err("puback_timeout", bad);
            assert!(m.contains("option `puback_timeout`") && m.contains("seconds"), "{m}");
        }
        let m = err("connect_timeout_ms", "-5");
        assert!(m.contains("option `connect_timeout_ms`") && m.contains("milliseconds"), "{m}");
        // A suffix that is not a unit is an unknown name.
        let m = err("keep_alive_min", "1");
        assert!(m.contains("unknown option `keep_alive_min`") && m.contains("did you mean `keep_alive`?"), "{m}");
    }

    #[test]
    fn choices_ignore_case_dashes_and_underscores() {
        assert_eq!(set("transport", "plain_tcp_loopback").transport, Transport::PlainTcpLoopbackOnly);
        assert_eq!(set("transport", "TLS").transport, Transport::Tls);
        assert_eq!(set("validation", "strict").validation, ValidationMode::Strict);
        assert_eq!(set("validation", "Warn").validation, ValidationMode::Warn);
        assert_eq!(set("validation", "off").validation, ValidationMode::Off);
        assert_eq!(set("queue_policy", "fail_fast").queue_policy, QueuePolicy::FailFast);
        assert_eq!(set("queue_policy", "failFast").queue_policy, QueuePolicy::FailFast);
        assert_eq!(set("queue_policy", "block").queue_policy, QueuePolicy::Block);
        assert_eq!(set("message_ids", "when_unset").message_ids, MessageIdPolicy::WhenUnset);
        assert_eq!(set("message_ids", "when-unset").message_ids, MessageIdPolicy::WhenUnset);
        assert_eq!(set("message_ids", "WhenUnset").message_ids, MessageIdPolicy::WhenUnset);
        assert_eq!(set("message_ids", "never").message_ids, MessageIdPolicy::Never);
        let m = err("transport", "udp");
        assert!(m.contains("option `transport`") && m.contains("`tls`, `plain_tcp_loopback`"), "{m}");
        let m = err("validation", "sometimes");
        assert!(m.contains("option `validation`") && m.contains("`strict`, `warn`, `off`"), "{m}");
        let m = err("queue_policy", "drop");
        assert!(m.contains("option `queue_policy`") && m.contains("`block`, `fail_fast`"), "{m}");
        let m = err("message_ids", "always");
        assert!(m.contains("option `message_ids`") && m.contains("`never`, `when_unset`"), "{m}");
        let m = err("message_ids", "");
        assert!(m.contains("an empty value"), "{m}");
    }

    #[test]
    fn counts() {
        assert_eq!(set("max_in_flight", "1").max_in_flight, 1);
        assert_eq!(set("max_in_flight", "65535").max_in_flight, 65535);
        assert_eq!(set("queue_capacity", "123456").queue_capacity, 123_456);
        for bad in ["65536", "-1", "ten", "1.0"] {
            let m = err("max_in_flight", bad);
            assert!(m.contains("option `max_in_flight`") && m.contains("1 to 65535"), "{m}");
        }
        let m = err("queue_capacity", "-3");
        assert!(m.contains("option `queue_capacity`") && m.contains("`-3`"), "{m}");
        // Zero parses; ClientOptions::validate refuses it when the client is made.
        assert!(set("max_in_flight", "0").validate().unwrap_err().message().contains("max_in_flight"));
        assert!(set("queue_capacity", "0").validate().unwrap_err().message().contains("queue_capacity"));
    }

    #[test]
    fn reconnect_jitter() {
        assert_eq!(set("reconnect_jitter", "0").reconnect.jitter, 0.0);
        assert_eq!(set("reconnect_jitter", "0.25").reconnect.jitter, 0.25);
        assert_eq!(set("reconnect_jitter", "1").reconnect.jitter, 1.0);
        for bad in ["1.5", "-0.1", "lots", "NaN"] {
            let m = err("reconnect_jitter", bad);
            assert!(m.contains("option `reconnect_jitter`") && m.contains("0 to 1"), "{m}");
        }
    }

    #[test]
    fn unknown_names_get_the_closest_or_the_list() {
        let m = err("queue_polcy", "block");
        assert!(m.contains("unknown option `queue_polcy`; did you mean `queue_policy`?"), "{m}");
        let m = err("Port", "1");
        assert!(m.contains("did you mean `port`?"), "{m}");
        let m = err("durable-queue", "x");
        assert!(m.contains("did you mean `durable_queue`?"), "{m}");
        let m = err("messageids", "never");
        assert!(m.contains("did you mean `message_ids`?"), "{m}");
        let m = err("colour", "blue");
        assert!(m.contains("unknown option `colour`") && m.contains("ca_file") && m.contains("message_ids"), "{m}");
        assert!(!m.contains("blue"), "the value of an unknown option is not shown: {m}");
    }

    #[test]
    fn long_or_odd_values_are_not_echoed() {
        let long = "x".repeat(101);
        let m = err("port", &long);
        assert!(!m.contains(&long) && m.contains("a value of 101 characters"), "{m}");
        let m = err("validation", "a\nb");
        assert!(m.contains("a value of 3 characters"), "{m}");
        let m = err(&"n".repeat(200), "1");
        assert!(m.contains("a value of 200 characters") && !m.contains(&"n".repeat(101)), "{m}");
        let ok = "y".repeat(100);
        assert!(err("port", &ok).contains(&ok));
    }

    #[test]
    fn a_failed_set_leaves_the_options_unchanged() {
        let mut o = ClientOptions::default();
        o.set_by_name("port", "8884").unwrap();
        assert!(o.set_by_name("port", "x").is_err());
        assert!(o.set_by_name("reconnect_jitter", "7").is_err());
        assert_eq!(o.port, Some(8884));
        assert_eq!(o.reconnect, crate::client::Backoff::default());
    }

    #[test]
    fn with_names_applies_in_order() {
        let o = ClientOptions::default()
            .with_names([("port", "1"), ("port", "2"), ("message_ids", "when_unset"), ("reconnect_max", "3")])
            .unwrap();
        assert_eq!(o.port, Some(2));
        assert_eq!(o.message_ids, MessageIdPolicy::WhenUnset);
        assert_eq!(o.reconnect.max, Duration::from_secs(3));
        let e = ClientOptions::default().with_names([("port", "1"), ("nope", "2")]).unwrap_err();
        assert!(e.message().contains("`nope`"));
    }
}
