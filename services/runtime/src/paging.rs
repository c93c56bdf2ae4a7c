//! Cursor paging, one way for every list. Items are ordered by id (UUIDv7,
//! so by when they were made); a page is up to `limit` items past the
//! cursor, which is the id of the last item of the page before. One item
//! more than the limit is read to know whether another page follows.

use contracts::{ErrorBody, Page};
use uuid::Uuid;

use crate::store::Param;

/// Most items one page holds.
pub const MAX_LIMIT: u32 = 500;

/// How many items a list gives when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// Which way a list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The oldest first (the directory).
    Oldest,
    /// The newest first (tickets, articles).
    Newest,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    after: Option<Uuid>,
    limit: u32,
    order: Order,
}

impl Paging {
    /// The page after `cursor` (as a list handed it out) of `limit` items
    /// (`None`: [`DEFAULT_LIMIT`]). A cursor this desk did not issue, or a
    /// limit out of 1..=[`MAX_LIMIT`], is refused naming the parameter.
    pub fn new(cursor: Option<&str>, limit: Option<u32>, order: Order) -> Result<Self, ErrorBody> {
        let after = cursor
            .map(|c| {
                Uuid::parse_str(c)
                    .map_err(|_| ErrorBody::field("cursor", "not a cursor this desk issued"))
            })
            .transpose()?;
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(0) => return Err(ErrorBody::field("limit", "must be at least 1")),
            Some(l) if l > MAX_LIMIT => {
                return Err(ErrorBody::field("limit", format!("at most {MAX_LIMIT}")));
            }
            Some(l) => l,
        };
        Ok(Self {
            after,
            limit,
            order,
        })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// What a query's `WHERE` clause ends with to start after the cursor
    /// (binding it as the next of `args`), and its order and limit: append
    /// it to a query whose `WHERE` already has a condition.
    pub fn sql(&self, args: &mut Vec<Param>) -> String {
        let (past, order) = match self.order {
            Order::Oldest => (">", "ASC"),
            Order::Newest => ("<", "DESC"),
        };
        let mut sql = String::new();
        if let Some(after) = self.after {
            args.push(Param::from(after.to_string()));
            sql.push_str(&format!(" AND id {past} ${}", args.len()));
        }
        sql.push_str(&format!(
            " ORDER BY id {order} LIMIT {}",
            i64::from(self.limit) + 1
        ));
        sql
    }

    /// The page of `items`, read by a query ending in [`Paging::sql`]: at
    /// most `limit` of them, and the cursor of the next page if one
    /// follows.
    pub fn page<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> Uuid) -> Page<T> {
        let next_cursor = if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(|i| id(i).to_string())
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_says_whether_another_follows() {
        let paging = Paging::new(None, Some(2), Order::Newest).expect("valid");
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = paging.page(ids.clone(), |i| *i);
        assert_eq!(page.items, ids[..2]);
        assert_eq!(page.next_cursor, Some(ids[1].to_string()));
        let last = paging.page(ids[..2].to_vec(), |i| *i);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn the_cursor_and_order_end_the_query() {
        let after = Uuid::now_v7();
        let paging = Paging::new(Some(&after.to_string()), Some(10), Order::Oldest).expect("valid");
        let mut args = vec![Param::from("tenant")];
        assert_eq!(
            paging.sql(&mut args),
            " AND id > $2 ORDER BY id ASC LIMIT 11"
        );
        assert_eq!(args.len(), 2);
        let first = Paging::new(None, None, Order::Newest).expect("valid");
        assert_eq!(
            first.sql(&mut Vec::new()),
            format!(" ORDER BY id DESC LIMIT {}", DEFAULT_LIMIT + 1)
        );
    }

    #[test]
    fn bad_cursors_and_limits_name_the_parameter() {
        for (cursor, limit, field) in [
            (Some("INC-1"), None, "cursor"),
            (None, Some(0), "limit"),
            (None, Some(MAX_LIMIT + 1), "limit"),
        ] {
            let refused = Paging::new(cursor, limit, Order::Newest).expect_err("refused");
            let details = refused.details.expect("details");
            assert!(details["fields"][field].is_string(), "{details}");
        }
    }
}
