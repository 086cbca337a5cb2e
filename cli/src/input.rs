//! Reading a message from a file or standard input, never more than IoT Hub accepts.

use std::io::Read;

use iotsec::MAX_BODY_BYTES;

/// A message body read from `name` (`-` is standard input).
pub(crate) struct Input {
    /// How to name it in messages (`standard input` or the path).
    pub label: String,
    pub bytes: Vec<u8>,
}

/// Reads `name`, at most [`MAX_BODY_BYTES`] + 1 bytes: a bigger input is refused without
/// reading the rest. Errors are one line naming the file.
pub(crate) fn read(name: &str) -> Result<Input, String> {
    let (label, reader): (String, Box<dyn Read>) = if name == "-" {
        ("standard input".to_string(), Box::new(std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(name).map_err(|e| describe(name, &e))?;
        (name.to_string(), Box::new(file))
    };
    let mut bytes = Vec::new();
    reader.take(MAX_BODY_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| describe(&label, &e))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(format!("{label} is larger than {MAX_BODY_BYTES} bytes, IoT Hub's message size limit"));
    }
    Ok(Input { label, bytes })
}

fn describe(name: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => format!("{name}: no such file"),
        PermissionDenied => format!("{name}: permission denied"),
        IsADirectory => format!("{name}: is a directory, not a file"),
        _ => format!("{name}: cannot read: {e}"),
    }
}
