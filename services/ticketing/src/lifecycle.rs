//! Which status a ticket may move to from which, per kind.
//!
//! Incidents: open → in_progress | pending | resolved; in_progress →
//! pending | resolved; pending → in_progress | resolved; resolved → closed |
//! open (reopen); closed is final.
//!
//! Problems: open → investigating | known_error | resolved; investigating →
//! known_error | resolved; known_error → investigating | resolved; resolved
//! → closed | open; closed is final.
//!
//! Changes: requested → cancelled (approved and rejected come from the
//! approvers' decisions, never from a status change); approved → scheduled |
//! cancelled; scheduled → implementing | cancelled; implementing →
//! implemented | backed_out; implemented | backed_out → reviewed (the
//! post-implementation review); reviewed → closed. Rejected, cancelled and
//! closed are final.
//!
//! Service requests: open → in_progress | pending | fulfilled; in_progress →
//! pending | fulfilled; pending → in_progress | fulfilled; fulfilled →
//! closed | open; closed is final.

use contracts::incident::IncidentStatus;
use contracts::ticket::TicketKind;

type Moves = &'static [(&'static str, &'static [&'static str])];

fn moves(kind: TicketKind) -> Moves {
    match kind {
        TicketKind::Incident => &[
            ("open", &["in_progress", "pending", "resolved"]),
            ("in_progress", &["pending", "resolved"]),
            ("pending", &["in_progress", "resolved"]),
            ("resolved", &["open", "closed"]),
        ],
        TicketKind::Problem => &[
            ("open", &["investigating", "known_error", "resolved"]),
            ("investigating", &["known_error", "resolved"]),
            ("known_error", &["investigating", "resolved"]),
            ("resolved", &["open", "closed"]),
        ],
        TicketKind::Change => &[
            ("requested", &["cancelled"]),
            ("approved", &["scheduled", "cancelled"]),
            ("scheduled", &["implementing", "cancelled"]),
            ("implementing", &["implemented", "backed_out"]),
            ("implemented", &["reviewed"]),
            ("backed_out", &["reviewed"]),
            ("reviewed", &["closed"]),
        ],
        TicketKind::Request => &[
            ("open", &["in_progress", "pending", "fulfilled"]),
            ("in_progress", &["pending", "fulfilled"]),
            ("pending", &["in_progress", "fulfilled"]),
            ("fulfilled", &["open", "closed"]),
        ],
    }
}

/// The statuses a ticket of `kind` may move to from `from`.
pub fn next_of(kind: TicketKind, from: &str) -> &'static [&'static str] {
    moves(kind)
        .iter()
        .find(|(f, _)| *f == from)
        .map_or(&[], |(_, to)| to)
}

pub fn allowed_for(kind: TicketKind, from: &str, to: &str) -> bool {
    next_of(kind, from).contains(&to)
}

/// Nothing more happens to it: no actions, no assignment, no moves.
pub fn is_final(kind: TicketKind, status: &str) -> bool {
    next_of(kind, status).is_empty() && !(kind == TicketKind::Change && status == "requested")
}

pub fn allowed(from: IncidentStatus, to: IncidentStatus) -> bool {
    allowed_for(TicketKind::Incident, from.as_str(), to.as_str())
}

/// The statuses reachable from `from`, for error details.
pub fn next(from: IncidentStatus) -> Vec<&'static str> {
    next_of(TicketKind::Incident, from.as_str()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn incidents() {
        assert!(allowed(Open, InProgress));
        assert!(allowed(InProgress, Pending));
        assert!(allowed(Pending, InProgress));
        assert!(allowed(InProgress, Resolved));
        assert!(allowed(Resolved, Open), "reopen");
        assert!(allowed(Resolved, Closed));
        assert!(!allowed(Open, Closed), "close only after resolving");
        assert!(!allowed(Closed, Open), "closed is final");
        assert!(!allowed(Open, Open));
        for to in IncidentStatus::ALL {
            assert!(!allowed(Closed, to));
        }
        assert_eq!(next(Resolved), vec!["open", "closed"]);
    }

    #[test]
    fn every_status_named_is_a_status_of_its_kind() {
        for kind in TicketKind::ALL {
            for (from, to) in moves(kind) {
                assert!(kind.statuses().contains(from), "{kind:?} {from}");
                for t in *to {
                    assert!(kind.statuses().contains(t), "{kind:?} {t}");
                }
            }
        }
    }

    #[test]
    fn changes_are_approved_only_by_decisions() {
        use TicketKind::Change;
        assert!(!allowed_for(Change, "requested", "approved"));
        assert!(!allowed_for(Change, "requested", "rejected"));
        assert!(allowed_for(Change, "approved", "scheduled"));
        assert!(
            !allowed_for(Change, "approved", "implementing"),
            "schedule first"
        );
        assert!(!is_final(Change, "requested"));
        for done in ["rejected", "cancelled", "closed"] {
            assert!(is_final(Change, done), "{done}");
        }
        assert!(is_final(TicketKind::Problem, "closed"));
        assert!(!is_final(TicketKind::Problem, "resolved"));
    }
}
