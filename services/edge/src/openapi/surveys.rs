//! The document's satisfaction surveys tag. Their operations (the survey of
//! a customer's own incident, and the survey's link, which needs no API
//! token because its token is the credential) are declared with their
//! routes, in [`crate::incidents`].

use contracts::incident::SURVEY_VALID_DAYS;
use serde_json::Value;

use super::tag;

pub(crate) const SATISFACTION: &str = "Satisfaction";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SATISFACTION,
        &format!(
            "Satisfaction surveys. When an incident with a customer is resolved for the first time, the \
             customer is offered one survey (reopening and resolving again offers no other): they are \
             emailed its link, and their portal finds it with `GET /api/v1/incidents/{{id}}/survey`. It is \
             answered once, within {SURVEY_VALID_DAYS} days, with a rating from 1 (poor) to 5 (excellent) and \
             an optional comment. The link, `/api/v1/surveys/{{token}}`, needs no API token: its token is \
             the credential, and a token that is unknown, malformed or expired unanswered answers 404 \
             `not_found`. The answers feed the incident report's `satisfaction`."
        ),
    )]
}
