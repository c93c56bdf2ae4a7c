//! The document's satisfaction surveys, from the handlers at the bottom of
//! [`crate::incidents`] and the wire types in [`contracts::incident`]: the
//! survey of a customer's own incident, and the survey's link, which needs
//! no API token because its token is the credential.

use serde_json::{Value, json};

use super::{
    about, answer, bad_body, closed, component, idempotency_key, incident_id, internal, not_found,
    not_json, object, operation, parameter, public, responses, tag, text, text_or_null,
    ticketing_down, timestamp, timestamp_or_null, too_large, traceparent, unauthorized, with_body,
    with_parameters,
};

const SATISFACTION: &str = "Satisfaction";

/// How long a survey may be answered, in days (ticketing's `VALID_DAYS`).
const VALID_DAYS: u32 = 30;

/// The longest comment, in characters.
const MAX_COMMENT: u32 = 2_000;

/// A survey token: the tenant's id and 64 random hex digits.
const TOKEN_PATTERN: &str = "^[0-9a-f]{96}$";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SATISFACTION,
        &format!(
            "Satisfaction surveys. When an incident with a customer is resolved for the first time, the \
             customer is offered one survey (reopening and resolving again offers no other): they are \
             emailed its link, and their portal finds it with `GET /api/v1/incidents/{{id}}/survey`. It is \
             answered once, within {VALID_DAYS} days, with a rating from 1 (poor) to 5 (excellent) and \
             an optional comment. The link, `/api/v1/surveys/{{token}}`, needs no API token: its token is \
             the credential, and a token that is unknown, malformed or expired unanswered answers 404 \
             `not_found`. The answers feed the incident report's `satisfaction`."
        ),
    )]
}

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let survey = object(
        &[
            "token",
            "reference",
            "summary",
            "expires_at",
            "rating",
            "comment",
            "answered_at",
        ],
        vec![
            (
                "token",
                about(
                    json!({ "type": "string", "pattern": TOKEN_PATTERN }),
                    "The survey's token: its link is `/api/v1/surveys/{token}`. Whoever has it may read and \
                     answer the survey.",
                ),
            ),
            ("reference", about(text(), "The incident's reference.")),
            ("summary", about(text(), "The incident's summary.")),
            (
                "expires_at",
                about(
                    timestamp(),
                    "Until when it may be answered. RFC 3339. Once expired unanswered its link answers 404; \
                     an answered survey stays readable.",
                ),
            ),
            (
                "rating",
                about(
                    json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 5 }),
                    "1 (poor) to 5 (excellent); null until answered.",
                ),
            ),
            (
                "comment",
                about(text_or_null(), "Null until answered, or if none was given."),
            ),
            ("answered_at", timestamp_or_null()),
        ],
    );
    let answer = object(
        &["rating"],
        vec![
            (
                "rating",
                about(
                    json!({ "type": "integer", "minimum": 1, "maximum": 5 }),
                    "1 (poor) to 5 (excellent).",
                ),
            ),
            (
                "comment",
                about(
                    text_or_null(),
                    &format!(
                        "At most {MAX_COMMENT} characters, no control characters but line breaks and tabs; \
                         blank is none."
                    ),
                ),
            ),
        ],
    );
    vec![
        (
            "SurveyV1",
            about(
                survey,
                "A satisfaction survey on a resolved incident, answered once.",
            ),
        ),
        (
            "SurveyAnswer",
            about(closed(answer), "The answer to a survey."),
        ),
    ]
}

// ---- paths ----

pub(super) fn paths() -> Vec<(String, Value)> {
    let own = operation(
        "getIncidentSurvey",
        SATISFACTION,
        "Get the survey of an incident",
        "The survey offered on the customer's own incident, answered or not: its `token` makes the link. \
         Customer tokens only: to any other token no survey exists (404).",
        responses(
            vec![(200, answer("The survey.", component("SurveyV1")))],
            vec![
                unauthorized(),
                not_found(
                    "no such incident in the tenant or not the customer's own, no survey offered on it \
                     (it has not been resolved, or has no customer), or the API token is not a customer's.",
                ),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let unknown = || {
        not_found(
            "the token is unknown, malformed, or its survey expired unanswered (an answered survey stays \
             readable).",
        )
    };
    let read = operation(
        "getSurvey",
        SATISFACTION,
        "Read a survey by its link",
        "The survey behind a link, answered or not. No API token: the link's token is the credential.",
        responses(
            vec![(200, answer("The survey.", component("SurveyV1")))],
            vec![unknown(), internal(), ticketing_down()],
        ),
    );
    let answer_it = operation(
        "answerSurvey",
        SATISFACTION,
        "Answer a survey by its link",
        &format!(
            "Rates the incident, once, within {VALID_DAYS} days of the offer. No API token: the link's token \
             is the credential."
        ),
        responses(
            vec![(
                200,
                answer("The survey as answered.", component("SurveyV1")),
            )],
            vec![
                bad_body(&format!(
                    "`rating` must be 1 to 5; `comment` at most {MAX_COMMENT} characters with no control \
                     characters but line breaks and tabs."
                )),
                unknown(),
                (
                    409,
                    "`conflict`: the survey has been answered already.".to_owned(),
                ),
                too_large(),
                not_json(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let token = parameter(
        "token",
        "path",
        true,
        json!({ "type": "string", "pattern": TOKEN_PATTERN }),
        "The survey's token, from its link: 96 lowercase hex digits. Anything else answers 404.",
    );
    vec![
        (
            "/api/v1/incidents/{id}/survey".to_owned(),
            json!({ "get": with_parameters(own, vec![incident_id(), traceparent()]) }),
        ),
        (
            "/api/v1/surveys/{token}".to_owned(),
            json!({
                "get": public(with_parameters(read, vec![token.clone(), traceparent()])),
                "post": public(with_parameters(
                    with_body(answer_it, "SurveyAnswer"),
                    vec![token, traceparent(), idempotency_key()],
                )),
            }),
        ),
    ]
}
