//! The document's service levels tag. Their operations are declared with
//! their routes, in [`crate::slas`], and their schemas come from the wire
//! types in [`contracts::escalation`], which state the limits the
//! escalation service checks.

use contracts::escalation::MAX_TIMEPOINTS;
use serde_json::Value;

use super::tag;

pub(crate) const SLAS: &str = "SLAs and calendars";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SLAS,
        &format!(
            "Service levels, kept by the escalation service: business-hours calendars, SLAs, and the \
             rules that choose a ticket's SLA. Admin tokens define them; admin, agent and integration \
             tokens read them; a customer token may do neither (403).\n\n\
             A **calendar** is working time in an IANA time zone (`Europe/London`): intervals for each \
             weekday in local wall-clock time, `HH:MM` to `HH:MM` with an end up to `24:00` (a 24×7 \
             calendar is 00:00–24:00 every day), and holidays, local dates `YYYY-MM-DD` on which no \
             time counts. On a day the clocks change, an interval is as long as the wall clock says.\n\n\
             An **SLA** names a calendar and has a grid: for each priority it covers, a response target \
             and a resolve target, in business minutes counted in that calendar. Each target may have \
             up to {MAX_TIMEPOINTS} escalation timepoints, placed before the target, at it (the breach) \
             or after it, by minutes or by a percentage of the target (+25 %, +50 %), each with the \
             actions it takes when reached: alert the assignee, the team leader or named agents, record \
             an action on the ticket, email the customer, reassign the ticket, raise its priority, or \
             warn of a response breach.\n\n\
             The **SLA rules** are one ordered list per tenant: the first rule whose conditions \
             (priority, company, service, kind; each left out matches anything) all hold for a ticket \
             chooses its SLA.\n\n\
             The escalation service follows each ticket: the SLA the rules give it, and a **response** \
             and a **resolve** target, each a clock of business seconds that runs, pauses (while the \
             ticket is pending) and resumes, is recomputed when the priority, SLA or calendar changes, \
             and stops when the target is met; its timepoints fire as the clock reaches them. \
             `GET /api/v1/{{kind}}/{{id}}/sla` shows where a ticket's targets stand and the timeline that \
             explains them; `GET /api/v1/reports/sla` and `GET /api/v1/reports/sla/breaches` report the \
             targets met and breached over a period. Admin, agent and integration tokens.\n\n\
             As everywhere in the API, an unknown field is refused and named, with one exception: \
             inside a timepoint's `placement` and each of its `actions`, whose fields depend on `at` \
             and `do`, an unknown field is ignored."
        ),
    )]
}
