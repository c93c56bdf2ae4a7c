//! The files the desk keeps on tickets (uploaded, or attached to a mail):
//! their size, names and types. The edge refuses the others; the mail
//! gateway names, on the note a message became, the attachments it will
//! not keep.

/// Largest file accepted; larger answers 413.
pub const MAX_SIZE: usize = 10 * 1024 * 1024;

/// The content types accepted.
pub const ALLOWED: &[&str] = &[
    "application/json",
    "application/msword",
    "application/octet-stream",
    "application/pdf",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/zip",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "message/rfc822",
    "text/csv",
    "text/plain",
];

/// Why a file is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Its name.
    Name(String),
    /// Its type is not one the desk keeps.
    Type(String),
    /// Its bytes: empty, or not of the type it says.
    Bytes(String),
}

impl Refused {
    /// What is wrong, in plain words.
    pub fn message(&self) -> &str {
        match self {
            Self::Name(m) | Self::Type(m) | Self::Bytes(m) => m,
        }
    }
}

/// Longest file name, in characters.
pub const MAX_NAME: usize = 200;

/// A file name as [`check_filename`] takes it (white space around it is
/// trimmed), in the patterns' dialect ([`crate::limits`]).
pub const FILENAME_PATTERN: &str = "^(?!\\s*\\.{1,2}\\s*(?![\\s\\S]))\
    [^/\\\\\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*\
    [^\\s/\\\\\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]\
    [^/\\\\\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*(?![\\s\\S])";

/// Characters that reorder or hide text: a name with them can disguise its
/// real extension (`invoice\u{202E}fdp.exe`).
fn hides_text(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A file's name as kept (trimmed), or why not.
pub fn check_filename(name: &str) -> Result<String, Refused> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && !name
            .chars()
            .any(|c| c.is_control() || hides_text(c) || matches!(c, '/' | '\\'))
        && name != "."
        && name != "..";
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Refused::Name(format!(
            "1 to {MAX_NAME} characters, no path separators or control characters"
        )))
    }
}

/// The declared type (a `Content-Type` value), checked against
/// [`ALLOWED`] and the bytes.
pub fn check_content(content_type: &str, bytes: &[u8]) -> Result<String, Refused> {
    let declared = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !ALLOWED.contains(&declared.as_str()) {
        return Err(Refused::Type(format!(
            "{} is not a type this desk keeps; one of {}",
            if declared.is_empty() {
                "no content type"
            } else {
                &declared
            },
            ALLOWED.join(", ")
        )));
    }
    if bytes.is_empty() {
        return Err(Refused::Bytes("the file is empty".into()));
    }
    let signature: Option<&[&[u8]]> = match declared.as_str() {
        "image/png" => Some(&[b"\x89PNG\r\n\x1a\n"]),
        "image/jpeg" => Some(&[b"\xff\xd8\xff"]),
        "image/gif" => Some(&[b"GIF87a", b"GIF89a"]),
        "application/pdf" => Some(&[b"%PDF-"]),
        // The old Office formats are OLE compound files.
        "application/msword" | "application/vnd.ms-excel" => {
            Some(&[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
        }
        t if t == "application/zip" || t.starts_with("application/vnd.openxmlformats") => {
            Some(&[b"PK\x03\x04", b"PK\x05\x06"])
        }
        _ => None,
    };
    let webp_ok = declared != "image/webp"
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP");
    let signed_ok = signature.is_none_or(|sigs| sigs.iter().any(|s| bytes.starts_with(s)));
    if !(webp_ok && signed_ok) {
        return Err(Refused::Bytes(format!("the file is not {declared}")));
    }
    Ok(declared)
}
