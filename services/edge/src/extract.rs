//! Request extractors whose failures are API errors: a JSON body whose
//! errors name the field, and query parameters likewise.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Code};

/// A JSON body. Syntax errors are `malformed_json`; a wrong or missing field
/// is `validation_failed` with `details.fields.<path>`; too large is 413.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(Code::PayloadTooLarge, "request body too large")
                } else {
                    ApiError::new(Code::MalformedJson, e.body_text())
                }
            })?;
        if !is_json {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send the body as application/json",
            ));
        }
        parse(&bytes).map(Body)
    }
}

/// A body: a JSON object (not an array a struct would take by position),
/// whose numbers that are integers are taken as integers however written
/// (`5.0` is `5`, as JSON Schema counts them), read into `T`.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(Code::MalformedJson, format!("body is not valid JSON: {e}")))?;
    read(value)
}

/// `current` with `patch` merged into it (a JSON merge patch, RFC 7396: a
/// field given replaces the field, `null` removes it so it takes its
/// default, an object is merged field by field), read as a body is: a
/// field `T` does not know is refused, naming it.
pub fn merged<T: serde::Serialize + DeserializeOwned>(
    current: &T,
    patch: serde_json::Map<String, Value>,
) -> Result<T, ApiError> {
    let mut value = serde_json::to_value(current).map_err(|e| ApiError::internal(&e))?;
    contracts::common::merge_patch(&mut value, Value::Object(patch));
    read(value)
}

/// A body already read as JSON, read into `T`.
fn read<T: DeserializeOwned>(mut value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    integral(&mut value);
    // A field the type does not know is refused, not dropped in silence (a
    // misspelt one would otherwise change nothing and say nothing), for
    // every body: wire types that take new fields (DESIGN §3) included.
    let mut unknown = None;
    let remember = |path: serde_ignored::Path| {
        unknown.get_or_insert_with(|| field_path(&path));
    };
    let parsed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut {
        remember
    }))
    .map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A missing field is reported at its parent; name it from the message.
        let field = if path == "." {
            missing_field(&inner.to_string()).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        ApiError::field(&field, plain(&inner.to_string()))
    })?;
    match unknown {
        Some(field) => Err(ApiError::field(&field, "unknown field")),
        None => Ok(parsed),
    }
}

/// A field's path as the errors name it: `grid[0].response.extra`.
fn field_path(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// Every number in `value` that is an integer written with a fraction
/// (`5.0`, `1e2`) as that integer.
fn integral(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 every integer is exact in an f64.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral),
        Value::Object(fields) => fields.values_mut().for_each(integral),
        _ => {}
    }
}

/// `missing field `summary` at line 1 column 2` → `summary`.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// What a time must be.
const A_TIME: &str = "a date and time as in RFC 3339, e.g. 2026-03-01T09:00:00Z";

/// A deserializer's message in a user's words: what the value must be,
/// never the Rust type it was read into (`expected u8`), the struct's name
/// or a date parser's component.
fn plain(message: &str) -> String {
    let message = strip_position(message);
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, e)| e.trim_end_matches('.'));
    let kind = |e: &str| -> Option<&'static str> {
        Some(match e {
            "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
            "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
            "f32" | "f64" => "a number",
            "a boolean" => "true or false",
            "a string" | "a borrowed string" => "text",
            "a sequence" => "a list",
            "a map" => "an object",
            "a UUID string" => "an id (a UUID)",
            _ if e.starts_with("struct ") || e.starts_with("a map") => "an object",
            _ if e.starts_with("a sequence") || e.starts_with("tuple") => "a list",
            _ if e.starts_with("RFC3339") || e.starts_with("an RFC3339") => A_TIME,
            _ => return None,
        })
    };
    if message.starts_with("invalid value: integer")
        || message.starts_with("invalid value: floating")
    {
        // A number the field's type cannot hold: out of its range.
        let value = message.split('`').nth(1).unwrap_or("the number");
        return format!("{value} is out of range");
    }
    if message.starts_with("invalid type: null") {
        return "must not be null".to_owned();
    }
    if (message.starts_with("invalid type:") || message.starts_with("invalid value:"))
        && let Some(what) = expected.and_then(kind)
    {
        return format!("must be {what}");
    }
    if message.starts_with("UUID parsing failed")
        || message.starts_with("invalid length: expected length 32")
        || message.contains("invalid character: expected an optional prefix of `urn:uuid:`")
    {
        return "must be an id (a UUID)".to_owned();
    }
    // The `time` crate's parse errors name its own components.
    let bad_time = (message.contains("component")
        && (message.contains("could not be parsed") || message.contains("out of range")))
        || message.starts_with("premature end of input")
        || message.starts_with("unexpected trailing characters");
    if bad_time {
        return format!("must be {A_TIME}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((given, allowed)) => format!(
                "{} is not one of {}",
                given,
                allowed.trim_start_matches("one of ")
            ),
            None => format!("{rest} is not allowed"),
        };
    }
    if let Some(field) = message.strip_prefix("unknown field ") {
        let field = field.split(',').next().unwrap_or(field);
        return format!("{field} is not a field this takes");
    }
    message
}

/// The version an edit is written for: the `If-Match` header's ETag
/// (`"7"`, or weak, `W/"7"`, as the desk's [`crate::served::Tagged`]
/// answers give it). Without one, or with `*`, any version; an ETag that
/// is not one the desk gives matches none (412).
pub fn if_match(headers: &axum::http::HeaderMap) -> Option<i64> {
    let value = headers.get(axum::http::header::IF_MATCH)?;
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return None;
    }
    let tag = value.trim_start_matches("W/").trim_matches('"');
    Some(tag.parse().unwrap_or(-1))
}

/// Query parameters; a bad one answers 400 naming it.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        from_query(query.as_bytes()).map(Params)
    }
}

fn from_query<T: DeserializeOwned>(query: &[u8]) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = if path == "." {
            missing_field(&message).unwrap_or(path)
        } else {
            path
        };
        ApiError::field(&field, plain(&message))
    })
}

/// The prefix of query parameters that filter on extended data:
/// `?field.site=York`.
pub const FIELD_PREFIX: &str = "field.";

/// A list's query parameters: `T` from the named ones, and the extended
/// data filters (`field.<key>=<value>`) by key.
pub struct Filters<T>(pub T, pub BTreeMap<String, String>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Filters<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let mut fields = BTreeMap::new();
        let mut rest = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.strip_prefix(FIELD_PREFIX) {
                Some(key) => {
                    fields.insert(key.to_owned(), v.into_owned());
                }
                None => {
                    rest.append_pair(&k, &v);
                }
            }
        }
        Ok(Filters(from_query(rest.finish().as_bytes())?, fields))
    }
}

/// Path parameters; one that cannot be read (invalid UTF-8, a wrong type)
/// answers the JSON error like every other bad input, not axum's plain
/// text.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(ApiError::new(
                Code::ValidationFailed,
                format!("the path is not valid: {}", e.body_text()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::parse;

    /// A wire type as contracts writes them: it takes fields it does not
    /// know (a newer sender's), so the body must be checked for them.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)] // read by serde only
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Vec<Inner>,
        #[serde(default)]
        count: Option<u8>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)] // read by serde only
    struct Inner {
        minutes: u32,
    }

    fn refused(body: &str) -> (String, String) {
        let e = parse::<Outer>(body.as_bytes()).expect_err("refused");
        let fields = e
            .details
            .as_ref()
            .and_then(|d| d["fields"].as_object().cloned());
        let (field, why) = fields
            .and_then(|f| f.into_iter().next())
            .expect("names the field");
        (field, why.as_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn an_unknown_field_is_refused_at_any_depth() {
        assert_eq!(
            refused(r#"{"name": "a", "nmae": "b"}"#),
            ("nmae".into(), "unknown field".into())
        );
        assert_eq!(
            refused(r#"{"name": "a", "inner": [{"minutes": 1}, {"minutes": 2, "hours": 3}]}"#),
            ("inner[1].hours".into(), "unknown field".into())
        );
        assert!(parse::<Outer>(br#"{"name": "a", "inner": [{"minutes": 1}]}"#).is_ok());
    }

    #[test]
    fn a_merge_patch_keeps_what_it_does_not_name() {
        #[derive(serde::Serialize, Deserialize, Debug, PartialEq)]
        struct Settings {
            name: String,
            #[serde(default)]
            reply_to: Option<String>,
            #[serde(default)]
            inner: Vec<u8>,
        }
        let current = Settings {
            name: "a".into(),
            reply_to: Some("r".into()),
            inner: vec![1],
        };
        let patch = |json: &str| serde_json::from_str(json).expect("an object");
        let renamed = super::merged(&current, patch(r#"{"name": "b"}"#)).expect("merged");
        assert_eq!(
            renamed,
            Settings {
                name: "b".into(),
                ..current
            }
        );
        let cleared = super::merged(&renamed, patch(r#"{"reply_to": null}"#)).expect("merged");
        assert_eq!(cleared.reply_to, None);
        assert_eq!(cleared.inner, vec![1]);
        let e = super::merged(&cleared, patch(r#"{"nmae": "c"}"#)).expect_err("unknown");
        assert!(e.details.expect("details")["fields"]["nmae"].is_string());
        let e = super::merged(&cleared, patch(r#"{"name": null}"#)).expect_err("required");
        assert!(e.details.expect("details")["fields"]["name"].is_string());
    }

    #[test]
    fn messages_say_what_a_value_must_be_in_plain_words() {
        assert_eq!(
            refused(r#"{"name": "a", "count": 300}"#).1,
            "300 is out of range"
        );
        assert_eq!(
            refused(r#"{"name": "a", "count": "many"}"#).1,
            "must be a whole number, 0 or more"
        );
        assert_eq!(refused(r#"{"name": 5}"#).1, "must be text");
        assert_eq!(refused(r#"{"name": null}"#).1, "must not be null");
        assert_eq!(
            refused(r#"{"name": "a", "inner": {"minutes": 1}}"#).1,
            "must be a list"
        );
        assert_eq!(
            refused(r#"{"name": "a", "inner": [5]}"#).1,
            "must be an object"
        );
        for (_, why) in [
            refused(r#"{"name": "a", "count": 300}"#),
            refused(r#"{"name": "a", "inner": [5]}"#),
        ] {
            assert!(!why.contains("u8") && !why.contains("struct"), "{why}");
        }
    }

    #[test]
    fn only_an_object_is_a_body_and_integral_numbers_are_integers() {
        assert_eq!(refused(r#"["a"]"#).0, "body");
        let parsed = parse::<Outer>(br#"{"name": "a", "count": 5.0}"#).expect("5.0 is 5");
        assert_eq!(parsed.count, Some(5));
        assert_eq!(refused(r#"{"name": "a", "count": 5.5}"#).0, "count");
    }
}
