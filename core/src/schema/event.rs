//! One event of a security message, built from its kind and records.

use serde_json::{Map, Value};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::kind::EventKind;
use super::payload::Payload;

/// One event: an [`EventKind`], its records, and optionally its `Id` and timestamps.
///
/// Everything the kind fixes is derived when the event is turned into JSON: `Name`, `Category`,
/// `EventType`, `PayloadSchemaVersion` (`"1.0"`) and `IsEmpty` (true exactly when there are no
/// records). An `Id` or timestamp not set is filled in then: a random (v4) UUID, the current
/// UTC time (`…Z`) and the current local time with its offset (the system's time zone, read
/// with `localtime_r` on Unix; the UTC time when the zone is UTC or cannot be read).
///
/// Records are either typed ([`Payload`] structs) or raw JSON objects; bindings use the raw
/// form. A record of the wrong kind is kept as given and reported by validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    kind: EventKind,
    id: Option<String>,
    timestamp_local: Option<String>,
    timestamp_utc: Option<String>,
    records: Vec<Value>,
}

impl Event {
    /// An event of `kind` with no records yet.
    pub fn new(kind: EventKind) -> Self {
        Event {
            kind,
            id: None,
            timestamp_local: None,
            timestamp_utc: None,
            records: Vec::new(),
        }
    }

    /// An event holding one typed record; its kind is the record's.
    pub fn with<P: Payload>(record: P) -> Self {
        Event::new(P::KIND).record(record)
    }

    /// An event holding all `records`; its kind is theirs (possibly with no records).
    pub fn from_payloads<P: Payload>(records: impl IntoIterator<Item = P>) -> Self {
        let mut event = Event::new(P::KIND);
        for record in records {
            event.push_record(record);
        }
        event
    }

    /// This event with a typed record added.
    pub fn record<P: Payload>(mut self, record: P) -> Self {
        self.push_record(record);
        self
    }

    /// Adds a typed record. If it cannot be turned into JSON (not possible with the structs of
    /// [`super::payload`]) a `null` record is added, which validation then reports.
    pub fn push_record<P: Payload>(&mut self, record: P) -> &mut Self {
        let value = record.to_record().map_or(Value::Null, Value::Object);
        self.records.push(value);
        self
    }

    /// This event with a raw record (normally a JSON object) added.
    pub fn raw_record(mut self, record: impl Into<Value>) -> Self {
        self.push_raw_record(record);
        self
    }

    /// Adds a raw record as given; validation reports anything that is not a valid record.
    pub fn push_raw_record(&mut self, record: impl Into<Value>) -> &mut Self {
        self.records.push(record.into());
        self
    }

    /// This event with its `Id` set (a 36-character GUID).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// This event with `TimestampLocal` set (RFC 3339 with offset, a space may replace `T`).
    pub fn timestamp_local(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp_local = Some(timestamp.into());
        self
    }

    /// This event with `TimestampUTC` set.
    pub fn timestamp_utc(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp_utc = Some(timestamp.into());
        self
    }

    /// Sets or clears (`None`: generate at build time) the `Id`.
    pub fn set_id(&mut self, id: Option<String>) -> &mut Self {
        self.id = id;
        self
    }

    /// Sets or clears the `TimestampLocal`.
    pub fn set_timestamp_local(&mut self, timestamp: Option<String>) -> &mut Self {
        self.timestamp_local = timestamp;
        self
    }

    /// Sets or clears the `TimestampUTC`.
    pub fn set_timestamp_utc(&mut self, timestamp: Option<String>) -> &mut Self {
        self.timestamp_utc = timestamp;
        self
    }

    /// The event type.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The records added so far, as JSON.
    pub fn records(&self) -> &[Value] {
        &self.records
    }

    /// Whether there are no records (the event's `IsEmpty`).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// This event as JSON, filling a missing `Id` or timestamp now.
    pub fn to_value(&self) -> Value {
        self.to_value_at(&Now::take())
    }

    /// This event as JSON, filling missing timestamps from `now` (one instant per message).
    pub(crate) fn to_value_at(&self, now: &Now) -> Value {
        let mut event = Map::new();
        let kind = self.kind;
        event.insert("EventType".into(), kind.event_type().into());
        event.insert("Category".into(), kind.category().into());
        event.insert("Name".into(), kind.name().into());
        event.insert("IsEmpty".into(), self.records.is_empty().into());
        event.insert("PayloadSchemaVersion".into(), "1.0".into());
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        event.insert("Id".into(), id.into());
        let local = self
            .timestamp_local
            .clone()
            .unwrap_or_else(|| now.local.clone());
        event.insert("TimestampLocal".into(), local.into());
        let utc = self
            .timestamp_utc
            .clone()
            .unwrap_or_else(|| now.utc.clone());
        event.insert("TimestampUTC".into(), utc.into());
        event.insert("Payload".into(), Value::Array(self.records.clone()));
        Value::Object(event)
    }
}

/// The current time, formatted once for every event of a message.
pub(crate) struct Now {
    utc: String,
    local: String,
}

impl Now {
    /// Reads the clock and the local offset.
    pub(crate) fn take() -> Self {
        let utc_now = OffsetDateTime::now_utc();
        let utc = format_utc(utc_now);
        let local = UtcOffset::current_local_offset()
            .ok()
            .filter(|offset| !offset.is_utc())
            .and_then(|offset| format_local(utc_now.to_offset(offset)))
            .unwrap_or_else(|| utc.clone());
        Now { utc, local }
    }
}

/// `2019-01-27T13:48:52.123Z`.
fn format_utc(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a valid date with a fixed description cannot fail for years 0..=9999.
    t.format(&format)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2019-01-27T15:48:52.123+02:00`.
fn format_local(t: OffsetDateTime) -> Option<String> {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(&format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::is_date_time;

    #[test]
    fn generated_timestamps_are_valid_date_times() {
        let now = Now::take();
        assert!(
            now.utc.ends_with('Z') && is_date_time(&now.utc),
            "{}",
            now.utc
        );
        assert!(is_date_time(&now.local), "{}", now.local);
        let t = OffsetDateTime::from_unix_timestamp(1_548_596_932).expect("time");
        assert_eq!(format_utc(t), "2019-01-27T13:48:52.000Z");
        let plus2 = UtcOffset::from_hms(2, 0, 0).expect("offset");
        assert_eq!(
            format_local(t.to_offset(plus2)).as_deref(),
            Some("2019-01-27T15:48:52.000+02:00")
        );
    }
}
