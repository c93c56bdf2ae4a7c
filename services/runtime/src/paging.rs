//! Cursor paging, one way for every list. Items are ordered by id (UUIDv7,
//! so by when they were made), or by a column ([`Key`]) and then id; a page
//! is up to `limit` items past the cursor, which is where the last item of
//! the page before stands: its id, or its column's value and its id
//! (`<value>~<id>`, a keyset cursor, so what is added meanwhile never
//! shifts a page; an item whose key changes meanwhile may move past the
//! cursor or back). One item more than the limit is read to know whether
//! another page follows.

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

/// A list sorted by a whole-number column (a time in microseconds, a
/// priority), then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub column: &'static str,
    /// The largest value first.
    pub descending: bool,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    after: Option<Uuid>,
    /// With a [`Key`]: the key's value of the last item before the page.
    after_value: Option<i64>,
    limit: u32,
    order: Order,
    key: Option<Key>,
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
            after_value: None,
            limit,
            order,
            key: None,
        })
    }

    /// The page after `cursor` of a list sorted by `key`, then by id.
    pub fn sorted(cursor: Option<&str>, limit: Option<u32>, key: Key) -> Result<Self, ErrorBody> {
        let bad = || ErrorBody::field("cursor", "not a cursor this desk issued for this sort");
        let after = cursor
            .map(|c| {
                let (value, id) = c.split_once('~').ok_or_else(bad)?;
                let value: i64 = value.parse().map_err(|_| bad())?;
                let id = Uuid::parse_str(id).map_err(|_| bad())?;
                Ok::<_, ErrorBody>((value, id))
            })
            .transpose()?;
        let mut paging = Self::new(None, limit, Order::Oldest)?;
        paging.key = Some(key);
        paging.after = after.map(|(_, id)| id);
        paging.after_value = after.map(|(value, _)| value);
        Ok(paging)
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// What a query's `WHERE` clause ends with to start after the cursor
    /// (binding it as the next of `args`), and its order and limit: append
    /// it to a query whose `WHERE` already has a condition.
    pub fn sql(&self, args: &mut Vec<Param>) -> String {
        if let Some(key) = self.key {
            return self.keyed_sql(key, args);
        }
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

    /// [`Paging::sql`] for a list sorted by `key`: past the cursor's
    /// (value, id), in the key's order and then the id's.
    fn keyed_sql(&self, key: Key, args: &mut Vec<Param>) -> String {
        let (past, order) = if key.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let column = key.column;
        let mut sql = String::new();
        if let (Some(value), Some(id)) = (self.after_value, self.after) {
            args.push(Param::from(value));
            let v = args.len();
            args.push(Param::from(id.to_string()));
            let i = args.len();
            sql.push_str(&format!(
                " AND ({column} {past} ${v} OR ({column} = ${v} AND id {past} ${i}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY {column} {order}, id {order} LIMIT {}",
            i64::from(self.limit) + 1
        ));
        sql
    }

    /// The page of `items` of a list sorted by a [`Key`], read by a query
    /// ending in [`Paging::sql`]: `at` gives an item's key value and id.
    pub fn page_by<T>(&self, mut items: Vec<T>, at: impl Fn(&T) -> (i64, Uuid)) -> Page<T> {
        let next_cursor = if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(|i| {
                let (value, id) = at(i);
                match self.key {
                    Some(_) => format!("{value}~{id}"),
                    None => id.to_string(),
                }
            })
        } else {
            None
        };
        Page { items, next_cursor }
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
    fn a_sorted_list_pages_by_its_key_then_its_id() {
        let key = Key {
            column: "priority",
            descending: false,
        };
        let first = Paging::sorted(None, Some(2), key).expect("valid");
        assert_eq!(
            first.sql(&mut Vec::new()),
            " ORDER BY priority ASC, id ASC LIMIT 3"
        );
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let items = vec![(1, ids[0]), (2, ids[1]), (2, ids[2])];
        let page = first.page_by(items, |i| *i);
        let cursor = page.next_cursor.expect("another page");
        assert_eq!(cursor, format!("2~{}", ids[1]));
        let next = Paging::sorted(Some(&cursor), Some(2), key).expect("valid");
        let mut args = vec![Param::from("tenant")];
        assert_eq!(
            next.sql(&mut args),
            " AND (priority > $2 OR (priority = $2 AND id > $3)) ORDER BY priority ASC, id ASC LIMIT 3"
        );
        assert_eq!(args.len(), 3);
        for bad in ["2", "x~y", &ids[0].to_string()] {
            let refused = Paging::sorted(Some(bad), None, key).expect_err("refused");
            assert!(refused.details.expect("details")["fields"]["cursor"].is_string());
        }
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
