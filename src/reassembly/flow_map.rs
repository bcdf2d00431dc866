//! The flow table's index: boxed flows found by their key, with the key kept
//! inside the flow instead of beside it.
//!
//! A map of key to box spends 48 bytes per bucket (the 40-byte key and the
//! pointer), and under churn (a SYN flood against a full table) its tombstones
//! make it grow to twice the buckets it needs: 13 MiB for a table of 100 000
//! flows, and twice that while it grows. A table of bare pointers spends 8
//! bytes per bucket; the key costs 40 bytes once per live flow instead. A
//! lookup compares keys through the pointer only for entries whose 7-bit
//! hash tag matches, so it still touches one flow in the common case.

use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};

use super::table::{Flow, FlowHasher};
use crate::decode::FlowKey;

/// A flow key with its hash in the flow table. A packet's flow is looked up
/// in up to four places (the memory of closed connections, two prefetch
/// steps and the table itself), and hashing the 40-byte key again for each
/// was a tenth of the worker's instructions: the hash is taken once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    pub key: FlowKey,
    hash: u64,
}

impl Hashed {
    pub(super) fn hash(&self) -> u64 {
        self.hash
    }
}

#[derive(Debug)]
pub(super) struct FlowMap<V> {
    table: HashTable<Box<Flow<V>>>,
    hasher: FlowHasher,
}

impl<V> Default for FlowMap<V> {
    fn default() -> Self {
        FlowMap {
            table: HashTable::new(),
            hasher: FlowHasher::default(),
        }
    }
}

impl<V> FlowMap<V> {
    pub fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn hashed(&self, key: FlowKey) -> Hashed {
        Hashed {
            key,
            hash: self.hash(&key),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn get(&self, k: &Hashed) -> Option<&Flow<V>> {
        self.table.find(k.hash, |f| f.key == k.key).map(|f| &**f)
    }

    /// Start loading the flow of `key` without waiting for it: every flow
    /// whose hash tag matches is prefetched through its pointer and none is
    /// read, so the caller does not stall on the miss it is trying to hide
    /// (comparing the key would read the flow). Only the index's own slots
    /// are read, and they are small enough to stay cached.
    pub fn prefetch(&self, k: &Hashed) {
        let _ = self.table.find(k.hash, |f| {
            crate::hint::prefetch_all(&**f);
            false
        });
    }

    pub fn get_hashed_mut(&mut self, k: &Hashed) -> Option<&mut Flow<V>> {
        self.table
            .find_mut(k.hash, |f| f.key == k.key)
            .map(|f| &mut **f)
    }

    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<V>> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |f| f.key == *key)
            .map(|f| &mut **f)
    }

    pub fn contains_key(&self, k: &Hashed) -> bool {
        self.get(k).is_some()
    }

    /// The flow of `key`, made by `make` if absent, and whether it was made.
    pub fn get_or_insert_with(
        &mut self,
        k: &Hashed,
        make: impl FnOnce() -> Flow<V>,
    ) -> (&mut Flow<V>, bool) {
        let hasher = &self.hasher;
        match self
            .table
            .entry(k.hash, |f| f.key == k.key, |f| hasher.hash_one(f.key))
        {
            Entry::Occupied(e) => (&mut **e.into_mut(), false),
            Entry::Vacant(e) => (&mut **e.insert(Box::new(make())).into_mut(), true),
        }
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<Box<Flow<V>>> {
        let hash = self.hash(key);
        match self.table.find_entry(hash, |f| f.key == *key) {
            Ok(e) => Some(e.remove().0),
            Err(_) => None,
        }
    }

    /// Every flow, in the table's own order: callers that act on what they
    /// find sort it first.
    pub fn iter(&self) -> impl Iterator<Item = &Flow<V>> {
        self.table.iter().map(|f| &**f)
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Box<Flow<V>>> + '_ {
        self.table.drain()
    }
}
