//! SLA definitions: a grid of response and resolve targets by priority,
//! each with up to [`MAX_TIMEPOINTS`] escalation timepoints and what they
//! do, and the ordered rules that choose an SLA for a ticket.
//!
//! As the seed documents describe the engine: "for each Response and
//! Resolve target you define you can have up to 12 Escalation Timepoints",
//! typically "breach in 2 hours, breach in 1 hour, breach, breach by 25%,
//! breach by 50%", each with a consistent meaning and response.

use uuid::Uuid;

use crate::calendar::Invalid;

pub use contracts::escalation::{
    Action, Conditions, GridRow, MAX_ACTION_TEMPLATE, MAX_TARGET_MINUTES, MAX_TIMEPOINTS,
    Placement, ResponseMetBy, SlaDefinitionV1 as Sla, SlaRuleV1 as Rule, Target, Timepoint,
};
use contracts::limits::{MAX_PRIORITY, MAX_SUMMARY};

/// Business seconds from the start of the clock to a timepoint placed at
/// `placement`, for a target of `target` business seconds (never before
/// the start).
pub fn offset(placement: Placement, target: i64) -> i64 {
    match placement {
        Placement::Before { minutes } => (target - i64::from(minutes) * 60).max(0),
        Placement::Target => target,
        Placement::After { minutes } => target + i64::from(minutes) * 60,
        Placement::AfterPercent { percent } => target + target * i64::from(percent) / 100,
    }
}

/// A target in business seconds.
pub fn seconds(target: &Target) -> i64 {
    i64::from(target.minutes) * 60
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a definition; errors name the field (`grid[0].resolve.minutes`).
pub fn check(sla: &Sla) -> Result<(), Invalid> {
    let name = sla.name.trim();
    if name.is_empty() || name.chars().count() > MAX_SUMMARY || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("1 to {MAX_SUMMARY} characters, one line"),
        ));
    }
    if sla.grid.is_empty() {
        return Err(invalid("grid", "give the targets of at least one priority"));
    }
    for (n, row) in sla.grid.iter().enumerate() {
        let at = |what: &str| format!("grid[{n}].{what}");
        if !(1..=MAX_PRIORITY).contains(&row.priority) {
            return Err(invalid(
                at("priority"),
                format!("must be 1 to {MAX_PRIORITY}"),
            ));
        }
        if sla.grid[..n].iter().any(|r| r.priority == row.priority) {
            return Err(invalid(at("priority"), "given twice"));
        }
        for (which, target) in [("response", &row.response), ("resolve", &row.resolve)] {
            check_target(&at(which), target)?;
        }
        if row.response.minutes > row.resolve.minutes {
            return Err(invalid(
                at("response.minutes"),
                "the response target cannot be after the resolve target",
            ));
        }
    }
    Ok(())
}

/// The targets for `priority`, if the grid has them.
/// The row of the grid for `priority`: its own, or where the grid has
/// none, the nearest (a tie going to the more urgent, 1 being the most),
/// so that a ticket whose priority the grid does not name still has its
/// targets and timepoints, and the timeline says which row it took.
pub fn row(sla: &Sla, priority: u8) -> Option<&GridRow> {
    sla.grid
        .iter()
        .min_by_key(|r| (r.priority.abs_diff(priority), r.priority))
}

fn check_target(at: &str, target: &Target) -> Result<(), Invalid> {
    if target.minutes == 0 {
        return Err(invalid(format!("{at}.minutes"), "must be more than 0"));
    }
    // A year of business minutes is as far as a target goes.
    if target.minutes > MAX_TARGET_MINUTES {
        return Err(invalid(format!("{at}.minutes"), "at most a year"));
    }
    if target.timepoints.len() > MAX_TIMEPOINTS {
        return Err(invalid(
            format!("{at}.timepoints"),
            format!("at most {MAX_TIMEPOINTS} per target"),
        ));
    }
    for (n, tp) in target.timepoints.iter().enumerate() {
        let here = format!("{at}.timepoints[{n}]");
        match tp.placement {
            Placement::Before { minutes } if minutes == 0 || minutes >= target.minutes => {
                return Err(invalid(
                    format!("{here}.placement"),
                    "before the target by more than 0 and less than the target",
                ));
            }
            Placement::After { minutes: 0 } | Placement::AfterPercent { percent: 0 } => {
                return Err(invalid(
                    format!("{here}.placement"),
                    "after the target by more than 0 (or use the target itself)",
                ));
            }
            _ => {}
        }
        if tp.actions.is_empty() {
            return Err(invalid(
                format!("{here}.actions"),
                "give at least one action",
            ));
        }
        for (a, action) in tp.actions.iter().enumerate() {
            let field = format!("{here}.actions[{a}]");
            match action {
                Action::AlertAgents { agents } if agents.is_empty() => {
                    return Err(invalid(field, "name at least one agent"));
                }
                Action::RecordAction { template } | Action::EmailCustomer { template }
                    if template.trim().is_empty()
                        || template.chars().count() > MAX_ACTION_TEMPLATE =>
                {
                    return Err(invalid(
                        field,
                        format!("a template of 1 to {MAX_ACTION_TEMPLATE} characters"),
                    ));
                }
                Action::Reassign {
                    team_id: None,
                    agent_id: None,
                } => return Err(invalid(field, "give a team_id, an agent_id or both")),
                Action::RaisePriority { priority } if !(1..=MAX_PRIORITY).contains(priority) => {
                    return Err(invalid(
                        field,
                        format!("priority must be 1 to {MAX_PRIORITY}"),
                    ));
                }
                _ => {}
            }
        }
        let same = target.timepoints[..n]
            .iter()
            .any(|o| offset(o.placement, seconds(target)) == offset(tp.placement, seconds(target)));
        if same {
            return Err(invalid(
                format!("{here}.placement"),
                "another timepoint of this target is at the same time",
            ));
        }
    }
    Ok(())
}

/// What a ticket is, for choosing its SLA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    pub priority: u8,
    pub company_id: Option<Uuid>,
    pub service: Option<&'a str>,
    pub kind: &'a str,
}

/// Whether `c` holds for a ticket with `f`.
pub fn matches(c: &Conditions, f: &Facts<'_>) -> bool {
    c.priority.is_none_or(|p| p == f.priority)
        && c.company_id.is_none_or(|co| Some(co) == f.company_id)
        && c.service
            .as_deref()
            .is_none_or(|s| f.service.is_some_and(|fs| fs.eq_ignore_ascii_case(s)))
        && c.kind.as_deref().is_none_or(|k| k == f.kind)
}

/// The SLA of the first rule, in order, whose conditions hold.
pub fn choose(rules: &[Rule], facts: &Facts<'_>) -> Option<Uuid> {
    rules
        .iter()
        .find(|r| matches(&r.when, facts))
        .map(|r| r.sla)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timepoint(placement: Placement) -> Timepoint {
        Timepoint {
            placement,
            actions: vec![Action::AlertAssignee],
        }
    }

    /// The seed's five: breach in 2 h, in 1 h, breach, +25 %, +50 %.
    fn seeds_five() -> Vec<Timepoint> {
        vec![
            timepoint(Placement::Before { minutes: 120 }),
            timepoint(Placement::Before { minutes: 60 }),
            timepoint(Placement::Target),
            timepoint(Placement::AfterPercent { percent: 25 }),
            timepoint(Placement::AfterPercent { percent: 50 }),
        ]
    }

    fn sla() -> Sla {
        Sla {
            name: "Gold".into(),
            calendar_id: Uuid::nil(),
            response_met_by: ResponseMetBy::FirstAction,
            grid: vec![GridRow {
                priority: 1,
                response: Target {
                    minutes: 30,
                    timepoints: vec![timepoint(Placement::Target)],
                },
                resolve: Target {
                    minutes: 8 * 60,
                    timepoints: seeds_five(),
                },
            }],
        }
    }

    fn refused(s: &Sla) -> String {
        check(s).err().map(|e| e.field).unwrap_or_default()
    }

    #[test]
    fn a_priority_the_grid_does_not_name_takes_the_nearest_row() {
        let mut s = sla();
        let mut fourth = s.grid[0].clone();
        fourth.priority = 4;
        s.grid.push(fourth);
        let at = |s: &Sla, p: u8| row(s, p).map(|r| r.priority);
        assert_eq!(at(&s, 1), Some(1));
        assert_eq!(at(&s, 2), Some(1), "nearer to 1 than to 4");
        assert_eq!(at(&s, 3), Some(4));
        assert_eq!(at(&s, 5), Some(4));
        s.grid[1].priority = 3;
        assert_eq!(at(&s, 2), Some(1), "a tie goes to the more urgent");
    }

    #[test]
    fn timepoints_sit_where_they_say() {
        let target = 8 * 3600;
        let offsets: Vec<i64> = seeds_five()
            .iter()
            .map(|t| offset(t.placement, target) / 60)
            .collect();
        assert_eq!(offsets, [360, 420, 480, 600, 720]);
        assert_eq!(offset(Placement::After { minutes: 15 }, target) / 60, 495);
        assert_eq!(
            offset(Placement::Before { minutes: 900 }, target),
            0,
            "never before the start"
        );
    }

    #[test]
    fn a_good_sla_passes_and_bad_ones_name_the_field() {
        assert_eq!(check(&sla()), Ok(()));
        let mut thirteen = sla();
        thirteen.grid[0].resolve.timepoints = (1..=13)
            .map(|m| timepoint(Placement::After { minutes: m }))
            .collect();
        assert_eq!(refused(&thirteen), "grid[0].resolve.timepoints");
        let mut twelve = sla();
        twelve.grid[0].resolve.timepoints = (1..=12)
            .map(|m| timepoint(Placement::After { minutes: m }))
            .collect();
        assert_eq!(check(&twelve), Ok(()), "twelve is the most, and allowed");
        let mut zero = sla();
        zero.grid[0].resolve.minutes = 0;
        assert_eq!(refused(&zero), "grid[0].resolve.minutes");
        let mut twice = sla();
        twice.grid.push(twice.grid[0].clone());
        assert_eq!(refused(&twice), "grid[1].priority");
        let mut silent = sla();
        silent.grid[0].response.timepoints[0].actions.clear();
        assert_eq!(refused(&silent), "grid[0].response.timepoints[0].actions");
        let mut nowhere = sla();
        nowhere.grid[0].resolve.timepoints[0].actions = vec![Action::Reassign {
            team_id: None,
            agent_id: None,
        }];
        assert_eq!(
            refused(&nowhere),
            "grid[0].resolve.timepoints[0].actions[0]"
        );
        let mut same_time = sla();
        same_time.grid[0]
            .resolve
            .timepoints
            .push(timepoint(Placement::After { minutes: 120 }));
        assert_eq!(
            refused(&same_time),
            "grid[0].resolve.timepoints[5].placement",
            "+25% of 8 h is +2 h"
        );
        let mut slow_response = sla();
        slow_response.grid[0].response.minutes = 9 * 60;
        assert_eq!(refused(&slow_response), "grid[0].response.minutes");
    }

    #[test]
    fn the_first_matching_rule_chooses() {
        let (gold, silver, standard) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let acme = Uuid::from_u128(9);
        let rules = [
            Rule {
                when: Conditions {
                    company_id: Some(acme),
                    priority: Some(1),
                    ..Conditions::default()
                },
                sla: gold,
            },
            Rule {
                when: Conditions {
                    service: Some("Email".into()),
                    kind: Some("incident".into()),
                    ..Conditions::default()
                },
                sla: silver,
            },
            Rule {
                when: Conditions::default(),
                sla: standard,
            },
        ];
        let facts = |priority, company, service| Facts {
            priority,
            company_id: company,
            service,
            kind: "incident",
        };
        assert_eq!(
            choose(&rules, &facts(1, Some(acme), Some("email"))),
            Some(gold)
        );
        assert_eq!(
            choose(&rules, &facts(2, Some(acme), Some("email"))),
            Some(silver)
        );
        assert_eq!(choose(&rules, &facts(2, None, None)), Some(standard));
        assert_eq!(choose(&rules[..2], &facts(3, None, None)), None);
    }

    #[test]
    fn definitions_read_as_the_api_writes_them() {
        let json = serde_json::json!({
            "name": "Gold", "calendar_id": Uuid::nil(),
            "grid": [{"priority": 2,
                "response": {"minutes": 60},
                "resolve": {"minutes": 480, "timepoints": [
                    {"placement": {"at": "before", "minutes": 120}, "actions": [{"do": "alert_team_leader"}]},
                    {"placement": {"at": "after_percent", "percent": 50},
                     "actions": [{"do": "raise_priority", "priority": 1}, {"do": "email_customer", "template": "Sorry"}]}
                ]}}]
        });
        let sla: Sla = serde_json::from_value(json).expect("reads");
        assert_eq!(check(&sla), Ok(()));
        assert_eq!(sla.response_met_by, ResponseMetBy::FirstAction);
        assert_eq!(row(&sla, 2).map(|r| r.resolve.timepoints.len()), Some(2));
    }
}
