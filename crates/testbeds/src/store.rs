//! An in-memory collection of resources in creation order, with cursor paging that stays
//! stable while items are added and deleted between pages.

use std::collections::{BTreeMap, HashMap};

/// Resources keyed by id, iterated in creation order.
pub(crate) struct Collection<T> {
    next_seq: u64,
    by_seq: BTreeMap<u64, T>,
    seq_of: HashMap<String, u64>,
}

/// Where the next page starts: the creation sequence number of its first candidate. Rendered as
/// an opaque token; a token for an item deleted since simply starts at the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor(u64);

impl Cursor {
    pub fn parse(token: &str) -> Option<Cursor> {
        let hex = token.strip_prefix('c')?;
        u64::from_str_radix(hex, 16).ok().map(Cursor)
    }

    pub fn token(self) -> String {
        format!("c{:x}", self.0)
    }
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Collection {
            next_seq: 0,
            by_seq: BTreeMap::new(),
            seq_of: HashMap::new(),
        }
    }
}

impl<T> Collection<T> {
    /// Adds `item` under `id`, after every existing item (`id` must be new).
    pub fn insert(&mut self, id: String, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_seq.insert(seq, item);
        self.seq_of.insert(id, seq);
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.by_seq.get(self.seq_of.get(id)?)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.by_seq.get_mut(self.seq_of.get(id)?)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seq_of.contains_key(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        self.by_seq.remove(&self.seq_of.remove(id)?)
    }

    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.by_seq.values()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.by_seq.values_mut()
    }

    /// Up to `size` items matching `keep`, from `from` on (the start when `None`), and the
    /// cursor of the following page when more matching items exist.
    pub fn page(
        &self,
        from: Option<Cursor>,
        size: usize,
        keep: impl Fn(&T) -> bool,
    ) -> (Vec<&T>, Option<Cursor>) {
        let mut matching = self
            .by_seq
            .range(from.map_or(0, |c| c.0)..)
            .filter(|(_, item)| keep(item));
        let items = matching.by_ref().take(size).map(|(_, item)| item).collect();
        (items, matching.next().map(|(seq, _)| Cursor(*seq)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_in_creation_order_across_deletions() {
        let mut items = Collection::default();
        for n in 0..5 {
            items.insert(format!("id{n}"), n);
        }
        let (first, next) = items.page(None, 2, |_| true);
        assert_eq!(first, [&0, &1]);
        items.remove("id2");
        let next = Cursor::parse(&next.unwrap().token());
        let (second, next) = items.page(next, 2, |_| true);
        assert_eq!(second, [&3, &4]);
        assert_eq!(next, None);
        assert_eq!(items.page(None, 10, |n| n % 2 == 1).0, [&1, &3]);
    }

    #[test]
    fn rejects_foreign_tokens() {
        assert_eq!(Cursor::parse("xyz"), None);
        assert_eq!(Cursor::parse("c"), None);
        assert_eq!(Cursor::parse("czz"), None);
    }
}
