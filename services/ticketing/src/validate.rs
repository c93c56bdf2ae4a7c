//! Checks on what a person typed, shared by every command.

use crate::error::{Error, Result};

pub use contracts::limits::{MAX_SUMMARY, MAX_TEXT};

/// Text a person typed: `required` non-blank, at most `max` characters, and
/// no control characters but line breaks and tabs (and none at all in a
/// one-line field, one of at most [`MAX_SUMMARY`]). PostgreSQL cannot store
/// NUL; nobody means to send it.
pub fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::field(field, format!("at most {max} characters")));
    }
    let one_line = max <= MAX_SUMMARY;
    if value
        .chars()
        .any(|c| c.is_control() && (one_line || !matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(Error::field(field, "must not contain control characters"));
    }
    Ok(())
}

pub fn check_level(field: &str, value: Option<u8>, max: u8) -> Result<()> {
    match value {
        Some(v) if !(1..=max).contains(&v) => {
            Err(Error::field(field, format!("must be 1 to {max}")))
        }
        _ => Ok(()),
    }
}

/// What every kind of ticket is logged with: a summary, and optionally a
/// description, category and service.
pub fn check_logged(
    summary: &str,
    description: &str,
    category: Option<&str>,
    service: Option<&str>,
) -> Result<()> {
    check_text("summary", summary, MAX_SUMMARY, true)?;
    check_text("description", description, MAX_TEXT, false)?;
    check_text("category", category.unwrap_or(""), MAX_SUMMARY, false)?;
    check_text("service", service.unwrap_or(""), MAX_SUMMARY, false)
}
