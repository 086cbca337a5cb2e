//! The typed builders: every kind builds a valid message, fill-ins are filled, and what the
//! schema refuses comes back as a `SchemaValidation` error with pointers.

use std::collections::BTreeMap;
use std::path::Path;

use iotsec::schema::payload::*;
use iotsec::schema::{self, Event, EventKind, Payload, SecurityMessage};
use iotsec::ErrorKind;
use serde_json::{json, Value};

const AGENT: &str = "e89dc5f5-feac-4c3e-87e2-93c16f010c25";

fn extra() -> Option<ExtraDetails> {
    Some(BTreeMap::from([("Key".to_string(), "Value".to_string())]))
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// One event per kind, every optional member set, so a misspelt member name would be caught
/// by `additionalProperties: false`.
fn full_events() -> Vec<Event> {
    vec![
        Event::with(ProcessCreate {
            executable: "/usr/bin/myApp".into(),
            process_id: 11750,
            parent_process_id: 1593,
            user_id: "1000".into(),
            user_name: s("aUser"),
            command_line: "myApp -a -b".into(),
            extra_details: extra(),
        }),
        Event::with(ProcessTerminate {
            executable: "/usr/bin/myApp".into(),
            process_id: 1,
            exit_status: -1,
            extra_details: extra(),
        }),
        Event::with(ConnectionCreate {
            remote_address: "20.38.114.105".into(),
            remote_port: "443".into(),
            local_address: s("fe80::1"),
            local_port: s("51234"),
            direction: Direction::Out,
            protocol: "TCP".into(),
            process_id: 11750,
            user_id: s("1000"),
            executable: "/usr/bin/curl".into(),
            command_line: s("curl https://example.com"),
            extra_details: extra(),
        }),
        Event::with(Login {
            process_id: 812,
            user_id: s("0"),
            user_name: s("root"),
            operation: "PAM:authentication".into(),
            executable: "/usr/sbin/sshd".into(),
            remote_address: s("10.0.0.7"),
            remote_port: s("50022"),
            local_port: s("22"),
            result: LoginResult::Success,
            extra_details: extra(),
        }),
        Event::with(ListeningPorts {
            remote_address: s("::"),
            remote_port: s("*"),
            local_address: s("0.0.0.0"),
            local_port: "22".into(),
            protocol: "TCP".into(),
            extra_details: extra(),
        }),
        Event::with(FirewallConfiguration {
            priority: Some(1),
            direction: Some(Direction::In),
            chain_name: s("INPUT"),
            application: s("sshd"),
            enabled: true,
            action: FirewallAction::Deny,
            source_address: s("Local subnet"),
            source_port: s("*"),
            destination_address: s("10.0.0.0/8"),
            destination_port: s("22"),
            protocol: s("TCP"),
            extra_details: extra(),
        }),
        Event::with(LocalUsers {
            group_ids: "0;1".into(),
            group_names: "root;daemon".into(),
            user_id: "0".into(),
            user_name: "root".into(),
            extra_details: extra(),
        }),
        Event::with(ConnectedHardware {
            hardware_category: "USB".into(),
            hardware_sub_category: "Keyboard".into(),
            hardware_name: "Microsoft Hardware USB Keyboard".into(),
            extra_details: extra(),
        }),
        Event::with(OSBaseline {
            description: "Ensure SSH root login is disabled".into(),
            cce_id: "CCE-4387-1".into(),
            result: BaselineResult::Err,
            error: "sshd_config not readable".into(),
            severity: BaselineSeverity::Important,
            extra_details: extra(),
        }),
        Event::with(SystemInformation {
            os_name: s("Linux"),
            os_version: s("5.10"),
            os_vendor: s("Debian"),
            os_architecture: s("x86_64"),
            host_name: s("gateway-01"),
            bios_version: s("1.2"),
            boot_device: s("/dev/sda1"),
            total_physical_memory_kb: Some(2_048_000),
            free_physical_memory_kb: Some(1_024_000),
            total_virtual_memory_kb: Some(4_096_000),
            free_virtual_memory_kb: Some(3_000_000),
            extra_details: extra(),
        }),
        Event::with(Diagnostic {
            correlation_id: s("0b6a1a6e-4b1c-4d54-9f4e-2a9c2f1f3d11"),
            severity: DiagnosticSeverity::Debug,
            message: "queue almost full".into(),
            process_id: 4242,
            thread_id: 4243,
            extra_details: extra(),
        }),
        Event::with(ConfigurationError {
            configuration_name: "highPriorityQueueSizePercentage".into(),
            error_type: ConfigurationErrorType::Conflict,
            used_configuration: "0.5".into(),
            message: "conflicts with lowPriorityQueueSizePercentage".into(),
            extra_details: extra(),
        }),
        Event::with(DroppedEventsStatistics {
            queue: Queue::Low,
            collected_events: 120,
            dropped_events: 3,
            extra_details: extra(),
        }),
        Event::with(MessageStatistics {
            messages_sent: 42,
            messages_under_4kb: 40,
            total_failed: 1,
            extra_details: extra(),
        }),
    ]
}

fn pairs(error: &iotsec::Error) -> Vec<(&str, &str)> {
    error
        .violations()
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.as_str()))
        .collect()
}

#[test]
fn every_kind_builds_valid_with_every_member_set() {
    let events = full_events();
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, EventKind::ALL);
    for event in &events {
        let body = SecurityMessage::new(AGENT, "1.0.0")
            .event(event.clone())
            .build();
        assert!(body.is_ok(), "{}: {:?}", event.kind(), body.err());
    }
    let all = SecurityMessage {
        agent_id: AGENT.into(),
        agent_version: "1.0.0".into(),
        events,
    };
    let body = all.build().expect("all 14 kinds in one message");
    assert!(schema::is_valid(&body));
}

#[test]
fn every_kind_builds_valid_from_raw_records() {
    // The records of the shared vectors' valid cases, passed the way bindings pass them.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/schema/valid.json");
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("valid.json")).expect("json");
    for kind in EventKind::ALL {
        let name = format!("{}_valid", kind.name().to_lowercase());
        let case = vectors["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["name"] == name.as_str())
            .expect(&name);
        let mut event = Event::new(kind);
        for record in case["body"]["Events"][0]["Payload"]
            .as_array()
            .expect("payload")
        {
            event.push_raw_record(record.clone());
        }
        let built = SecurityMessage::new(AGENT, "1.0.0").event(event).build();
        assert!(built.is_ok(), "{kind}: {:?}", built.err());
    }
}

#[test]
fn missing_fill_ins_are_filled_and_given_ones_kept() {
    let record = MessageStatistics {
        messages_sent: 1,
        messages_under_4kb: 1,
        total_failed: 0,
        extra_details: None,
    };
    let message = SecurityMessage::new(AGENT, "2.3.4")
        .event(Event::with(record.clone()))
        .event(Event::from_payloads([record.clone(), record]))
        .event(
            Event::new(EventKind::ListeningPorts)
                .id("21a2db0b-44fe-42e9-9cff-bbb2d8fdf874")
                .timestamp_local("2019-01-27 15:48:52+02:00")
                .timestamp_utc("2019-01-27 13:48:52Z"),
        );
    let body = message.build().expect("valid");
    let value: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(value["AgentVersion"], "2.3.4");
    assert_eq!(value["AgentId"], AGENT);
    assert_eq!(value["MessageSchemaVersion"], "1.0");
    let events = value["Events"].as_array().expect("events");
    for event in &events[..2] {
        let id = event["Id"].as_str().expect("Id");
        let parsed = uuid::Uuid::parse_str(id).expect("Id is a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        let utc = event["TimestampUTC"].as_str().expect("utc");
        assert!(utc.ends_with('Z') && schema::is_date_time(utc), "{utc}");
        assert!(schema::is_date_time(
            event["TimestampLocal"].as_str().expect("local")
        ));
        assert_eq!(event["Category"], "Periodic");
        assert_eq!(event["EventType"], "Operational");
        assert_eq!(event["Name"], "MessageStatistics");
        assert_eq!(event["PayloadSchemaVersion"], "1.0");
        assert_eq!(event["IsEmpty"], false);
    }
    assert_ne!(
        events[0]["Id"], events[1]["Id"],
        "each event gets its own Id"
    );
    assert_eq!(
        events[0]["TimestampUTC"], events[1]["TimestampUTC"],
        "one clock reading per message"
    );
    assert_eq!(events[1]["Payload"].as_array().map(Vec::len), Some(2));
    assert_eq!(events[2]["Id"], "21a2db0b-44fe-42e9-9cff-bbb2d8fdf874");
    assert_eq!(events[2]["TimestampLocal"], "2019-01-27 15:48:52+02:00");
    assert_eq!(events[2]["TimestampUTC"], "2019-01-27 13:48:52Z");
    assert_eq!(
        events[2]["IsEmpty"], true,
        "a Periodic event with no records is empty"
    );
    assert_eq!(events[2]["Payload"], json!([]));
}

#[test]
fn record_of_the_wrong_kind_is_a_schema_error_with_pointers() {
    let process = ProcessCreate {
        executable: "/bin/sh".into(),
        process_id: 1,
        user_id: "0".into(),
        ..Default::default()
    };
    let error = SecurityMessage::new(AGENT, "1.0.0")
        .event(Event::new(EventKind::Login).record(process))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::SchemaValidation);
    assert_eq!(
        pairs(&error),
        [
            ("/Events/0/Payload/0/CommandLine", "additionalProperties"),
            ("/Events/0/Payload/0/Operation", "required"),
            (
                "/Events/0/Payload/0/ParentProcessId",
                "additionalProperties"
            ),
            ("/Events/0/Payload/0/Result", "required"),
        ]
    );
    assert!(
        error.message().contains("/Events/0/Payload/0/CommandLine"),
        "{}",
        error.message()
    );
}

#[test]
fn invalid_content_is_a_schema_error_with_pointers() {
    let login = Login {
        process_id: 1,
        operation: "ssh".into(),
        executable: "/usr/sbin/sshd".into(),
        ..Default::default()
    };
    let error = SecurityMessage::new("not-a-guid", "1.0.0")
        .event(Event::with(login).timestamp_utc("2019-02-29T00:00:00Z"))
        .event(Event::new(EventKind::ProcessCreate))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::SchemaValidation);
    assert_eq!(
        pairs(&error),
        [
            ("/AgentId", "minLength"),
            ("/Events/0/Payload/0", "anyOf"),
            ("/Events/0/TimestampUTC", "format"),
            ("/Events/1/IsEmpty", "oneOf"),
        ]
    );
}

#[test]
fn raw_records_that_are_not_objects_are_reported() {
    let error = SecurityMessage::new(AGENT, "1.0.0")
        .event(
            Event::new(EventKind::LocalUsers)
                .raw_record("root")
                .raw_record(json!({"UserId": 0})),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        pairs(&error),
        [
            ("/Events/0/Payload/0", "type"),
            ("/Events/0/Payload/1/GroupIds", "required"),
            ("/Events/0/Payload/1/GroupNames", "required"),
            ("/Events/0/Payload/1/UserId", "type"),
            ("/Events/0/Payload/1/UserName", "required"),
        ]
    );
}

#[test]
fn a_message_without_events_is_refused() {
    let error = SecurityMessage::new(AGENT, "1.0.0").build().unwrap_err();
    assert_eq!(pairs(&error), [("/Events", "minItems")]);
}

#[test]
fn build_message_flags_a_security_message() {
    let mut message = SecurityMessage::new(AGENT, "1.0.0");
    message.push(Event::with(ProcessTerminate {
        executable: "/bin/true".into(),
        ..Default::default()
    }));
    let sendable = message.build_message().expect("valid");
    assert!(sendable.is_security_message());
    assert_eq!(sendable.content_type(), Some("application/json"));
    assert_eq!(sendable.content_encoding(), Some("utf-8"));
    assert!(schema::is_valid(sendable.body()));
    assert!(SecurityMessage::new(AGENT, "1.0.0")
        .build_message()
        .is_err());
}

#[test]
fn payload_kinds_match_their_types() {
    assert_eq!(ProcessCreate::KIND, EventKind::ProcessCreate);
    assert_eq!(MessageStatistics::KIND.category(), "Periodic");
    assert_eq!(Diagnostic::KIND.event_type(), "Diagnostic");
    let record = OSBaseline::default().to_record().expect("object");
    let names: Vec<&str> = record.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["Description", "CceId", "Result", "Error", "Severity"]
    );
}
