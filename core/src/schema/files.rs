//! The 17 published schema files, embedded verbatim.
//!
//! They are compiled into the crate so validation needs no file system and no network, and so
//! the bytes checked are exactly the published ones (see `files/PROVENANCE.md`; MIT licence in
//! `files/LICENSE.md`). Each file's `$id` is its bare file name, which is also the name used here.

macro_rules! embed {
    ($name:literal) => {
        ($name, include_str!(concat!("files/", $name)))
    };
}

/// `(file name = $id, contents)` of every published schema file, root first.
pub(crate) const FILES: [(&str, &str); 17] = [
    embed!("messageRoot.json"),
    embed!("message_v1_0.json"),
    embed!("messageEventTypeDefinitions_v1_0.json"),
    embed!("messageEventSecurityProcessCreate_v1_0.json"),
    embed!("messageEventSecurityProcessTerminate_v1_0.json"),
    embed!("messageEventSecurityConnectionCreate_v1_0.json"),
    embed!("messageEventSecurityLogin_v1_0.json"),
    embed!("messageEventSecurityListeningPorts_v1_0.json"),
    embed!("messageEventSecurityFirewallConfiguration_v1_0.json"),
    embed!("messageEventSecurityLocalUsers_v1_0.json"),
    embed!("messageEventSecurityConnectedHardware_v1_0.json"),
    embed!("messageEventSecurityOSBaseline_v1_0.json"),
    embed!("messageEventSecuritySystemInformation_v1_0.json"),
    embed!("messageEventDiagnostic_v1_0.json"),
    embed!("messageOperationalEventConfigurationError_v1_0.json"),
    embed!("messageOperationalEventDroppedEvents_v1_0.json"),
    embed!("messageOperationalEventMessageStatistics_v1_0.json"),
];

/// The entry point: `oneOf` over the versioned message schemas.
pub(crate) const ROOT: &str = "messageRoot.json";

/// The v1.0 message schema: envelope, generic event, IsEmpty/Category rule.
pub(crate) const MESSAGE_V1_0: &str = "message_v1_0.json";

/// The published schema files as `(file name, contents)` pairs, e.g. for tools that want to run
/// another validator against exactly the schemas iotsec uses.
pub fn schema_files() -> &'static [(&'static str, &'static str)] {
    &FILES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_json_with_its_own_name_as_id() {
        for (name, text) in FILES {
            let value: serde_json::Value = serde_json::from_str(text).expect(name);
            assert_eq!(value["$id"], name, "{name}");
        }
    }
}
