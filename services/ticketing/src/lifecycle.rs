//! Which status an incident may move to from which.
//!
//! open → in_progress | pending | resolved
//! in_progress → pending | resolved
//! pending → in_progress | resolved
//! resolved → closed | open (reopen)
//! closed: final.

use contracts::incident::IncidentStatus::{self, *};

pub fn allowed(from: IncidentStatus, to: IncidentStatus) -> bool {
    matches!(
        (from, to),
        (Open, InProgress | Pending | Resolved)
            | (InProgress, Pending | Resolved)
            | (Pending, InProgress | Resolved)
            | (Resolved, Closed | Open)
    )
}

/// The statuses reachable from `from`, for error details.
pub fn next(from: IncidentStatus) -> Vec<&'static str> {
    IncidentStatus::ALL
        .into_iter()
        .filter(|to| allowed(from, *to))
        .map(IncidentStatus::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
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
}
