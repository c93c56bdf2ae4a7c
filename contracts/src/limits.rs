//! Limits on what people type: the services check them, and the documents
//! generated from the types state them, from these same constants.

/// Longest one-line field (a summary, a name); longer is refused, not cut.
pub const MAX_SUMMARY: usize = 200;
/// Longest text (a description, an action, a resolution).
pub const MAX_TEXT: usize = 100_000;

/// One line of text a person typed, as the services take it: something
/// that is not white space, and no control characters (U+0000 to U+001F,
/// U+007F to U+009F).
pub const ONE_LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*\
     [^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";
