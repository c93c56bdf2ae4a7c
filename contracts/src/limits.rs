//! Limits on what people type: the services check them, and the documents
//! generated from the types state them, from these same constants.
//!
//! The patterns end with `(?![\s\S])` (nothing follows), not `$`: in
//! Python's regular expressions, which clients such as Schemathesis use,
//! `$` also matches before a final line break, and Schemathesis' coverage
//! phase cannot build examples for some patterns that end in `$`.

/// Longest one-line field (a summary, a name); longer is refused, not cut.
pub const MAX_SUMMARY: usize = 200;
/// Longest text (a description, an action, a resolution).
pub const MAX_TEXT: usize = 100_000;
/// Longest knowledge-base template, in bytes.
pub const MAX_TEMPLATE: usize = 100_000;
/// Longest comment on a satisfaction survey.
pub const MAX_COMMENT: usize = 2_000;
/// The most minutes one action may record as time spent: a week.
pub const MAX_MINUTES: u32 = 7 * 24 * 60;

/// Priorities run from 1 (highest) to this.
pub const MAX_PRIORITY: u8 = 5;
/// Impact and urgency run from 1 (high) to this (low).
pub const MAX_LEVEL: u8 = 3;
/// Survey ratings run from 1 (poor) to this (excellent).
pub const MAX_RATING: u8 = 5;

/// One line of text a person typed, as the services take it: something
/// that is not white space, and no control characters (U+0000 to U+001F,
/// U+007F to U+009F).
pub const ONE_LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*\
     [^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*(?![\\s\\S])";
/// One line that may be blank: no control characters.
pub const ANY_LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*(?![\\s\\S])";
/// Text of many lines a person typed: something that is not white space,
/// and no control characters but line breaks and tabs.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*\
     [^\\s\\u0000-\\u001F\\u007F-\\u009F]\
     [^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*(?![\\s\\S])";
/// Text of many lines that may be blank: no control characters but line
/// breaks and tabs.
pub const ANY_TEXT_PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*(?![\\s\\S])";

/// Text that is not blank, whatever else it holds: a character that is
/// not white space. (Python's `\s`, which Schemathesis uses, also takes
/// U+001C to U+001F for white space, as Rust's `trim` does not.)
pub const NOT_BLANK_PATTERN: &str = "[\\S\\u001C-\\u001F]";

/// Longest email address, in characters.
pub const MAX_EMAIL: usize = 254;
/// One email address as the desk takes it (white space around it is
/// trimmed): a single `@` with text on both sides, no white space, control
/// characters or `<>,;"`.
pub const EMAIL_PATTERN: &str = "^\\s*[^@\\s\\u0000-\\u001F\\u007F-\\u009F<>,;\"]+\
     @[^@\\s\\u0000-\\u001F\\u007F-\\u009F<>,;\"]+\\s*(?![\\s\\S])";

/// A tenant's field key (extended data): 1 to 40 of a-z, 0-9 and `_`,
/// starting with a letter.
pub const FIELD_KEY_PATTERN: &str = "^[a-z][a-z0-9_]{0,39}(?![\\s\\S])";

/// Most agents a change names to approve it.
pub const MAX_APPROVERS: usize = 20;
/// Most configuration items a change names.
pub const MAX_AFFECTED_ITEMS: usize = 100;

/// Most fields a tenant defines for one kind of ticket (or one request
/// type).
pub const MAX_FIELDS: usize = 100;
/// Longest field label.
pub const MAX_LABEL: usize = 100;
/// Most fulfilment steps of a request type.
pub const MAX_STEPS: usize = 50;

/// Most incidents linked to a problem in one request.
pub const MAX_LINKED_INCIDENTS: usize = 500;
/// Longest range of the change calendar, in days.
pub const MAX_CALENDAR_DAYS: i64 = 366;

/// The longest range a KPI report covers, in days.
pub const MAX_REPORT_DAYS: i64 = 3 * 366;
/// Most rows a KPI report's listing holds (its totals count everything).
pub const MAX_REPORT_LISTED: usize = 5_000;
