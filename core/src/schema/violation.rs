//! One way a body breaks the schema.

use std::fmt;

use serde::Serialize;

/// Where in the raw bytes a body stops being UTF-8 or JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TextPosition {
    /// Byte offset from the start of the body (0-based).
    pub offset: usize,
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based, counted in bytes).
    pub column: usize,
}

/// One schema violation: where (a JSON pointer into the instance), which rule, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the instance at fault; `""` is the whole document.
    pub pointer: String,
    /// The schema keyword that failed (`required`, `type`, `format`, `enum`, `pattern`,
    /// `additionalProperties`, `oneOf`, ...), or `utf8` / `json` when the bytes cannot be parsed.
    pub rule: String,
    /// A readable explanation.
    pub message: String,
    /// For `utf8` and `json` violations: where in the bytes parsing stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<TextPosition>,
}

impl Violation {
    /// A violation at `pointer` of `rule`.
    pub fn new(pointer: impl Into<String>, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Violation { pointer: pointer.into(), rule: rule.into(), message: message.into(), position: None }
    }

    /// This violation located at `position` in the raw bytes.
    pub fn at(mut self, position: TextPosition) -> Self {
        self.position = Some(position);
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() { "(root)" } else { &self.pointer };
        write!(f, "{pointer}: {} [{}]", self.message, self.rule)?;
        if let Some(p) = self.position {
            write!(f, " at line {}, column {} (byte {})", p.line, p.column, p.offset)?;
        }
        Ok(())
    }
}
