//! Held attempts without a `Sec-WebSocket-Key`, indexed by where a proxy's
//! other leg of each would be found.
//!
//! Legs that carry a key are found by it. Legs without one are found by
//! comparing requests: the backend leg comes from the host the client leg
//! went to, and asks for the same target. Comparing a new attempt with every
//! held one made a storm of keyless refusals quadratic (every attempt read
//! hundreds of held ones, each a cache miss: 4.4 times the run time of the
//! same storm with keys). The index narrows that to the held attempts on the
//! right host asking for the same target; the caller still checks each
//! candidate with the full comparison.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};

use super::correlate::{edit_list, HashMap, MAX_SAME_KEY};
use crate::http::Attempt;
use crate::reassembly::table::FlowHasher;

/// A host and a hash of a request target. Two attempts that can be legs of
/// one exchange share it; others may too (the hash is not the target), so a
/// bucket is a superset of the candidates, never a subset.
type Bucket = (IpAddr, u64);

#[derive(Default)]
pub struct KeylessLegs {
    /// Held attempts by the host they went to: each may be the client leg
    /// of a backend leg coming from that host.
    by_server: HashMap<Bucket, Vec<u64>>,
    /// Held attempts by the host they came from: each may be the backend
    /// leg of a client leg going to that host.
    by_client: HashMap<Bucket, Vec<u64>>,
    targets: FlowHasher,
}

/// One address per host as `correlate::same_host` counts hosts: the IPv4
/// form of a mapped address, and every loopback address as one.
fn host(ip: IpAddr) -> IpAddr {
    let ip = super::correlate::host(ip);
    if ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

impl KeylessLegs {
    fn bucket(&self, ip: IpAddr, a: &Attempt) -> Bucket {
        (host(ip), self.targets.hash_one(a.request.target.as_bytes()))
    }

    /// Index a held attempt `id`, sent without a key. Past `MAX_SAME_KEY`
    /// in one bucket the oldest is no longer found, as with keys: a proxy
    /// forwards in moments, so its other leg is among the newest.
    pub fn insert(&mut self, id: u64, a: &Attempt) {
        let to = self.bucket(a.server.ip, a);
        let from = self.bucket(a.client.ip, a);
        for (map, bucket) in [(&mut self.by_server, to), (&mut self.by_client, from)] {
            let ids = map.entry(bucket).or_default();
            ids.push(id);
            if ids.len() > MAX_SAME_KEY {
                ids.remove(0);
            }
        }
    }

    /// Forget `id`, no longer held (nothing when it was never indexed).
    pub fn remove(&mut self, id: u64, a: &Attempt) {
        if self.by_server.is_empty() {
            return;
        }
        let to = self.bucket(a.server.ip, a);
        let from = self.bucket(a.client.ip, a);
        for (map, bucket) in [(&mut self.by_server, to), (&mut self.by_client, from)] {
            edit_list(map, &bucket, Vec::is_empty, |ids| ids.retain(|&i| i != id));
        }
    }

    /// The held attempts that may be the other leg of `b`, newest first:
    /// its client leg (went to the host `b` came from) or its backend leg
    /// (came from the host `b` went to), asking for the same target.
    pub fn candidates(&self, b: &Attempt) -> Vec<u64> {
        if self.by_server.is_empty() {
            return Vec::new();
        }
        let none: &[u64] = &[];
        let clients = self
            .by_server
            .get(&self.bucket(b.client.ip, b))
            .map_or(none, Vec::as_slice);
        let backends = self
            .by_client
            .get(&self.bucket(b.server.ip, b))
            .map_or(none, Vec::as_slice);
        let mut ids: Vec<u64> = clients.iter().chain(backends).copied().collect();
        ids.sort_unstable_by(|x, y| y.cmp(x));
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;

    fn ep(s: &str) -> Endpoint {
        let (ip, port) = s.rsplit_once(':').expect("test endpoint");
        Endpoint {
            ip: ip.trim_matches(['[', ']']).parse().expect("test address"),
            port: port.parse().expect("test port"),
        }
    }

    fn attempt_between(client: &str, server: &str, target: &str) -> Attempt {
        Attempt::for_test(ep(client), ep(server), target)
    }

    #[test]
    fn a_leg_is_found_from_either_side_and_only_on_its_host_and_target() {
        let mut k = KeylessLegs::default();
        let client = attempt_between("10.0.0.1:5000", "10.0.0.9:80", "/ws");
        let backend = attempt_between("10.0.0.9:6000", "10.0.0.20:8080", "/ws");
        let elsewhere = attempt_between("10.0.0.2:5000", "10.0.0.8:80", "/ws");
        let other_path = attempt_between("10.0.0.3:5000", "10.0.0.9:80", "/chat");
        k.insert(1, &client);
        k.insert(2, &elsewhere);
        k.insert(3, &other_path);
        assert_eq!(k.candidates(&backend), vec![1]);
        k.remove(1, &client);
        assert!(k.candidates(&backend).is_empty());
        k.insert(4, &backend);
        assert_eq!(k.candidates(&client), vec![4]);
    }

    #[test]
    fn loopback_addresses_are_one_host_and_candidates_come_newest_first() {
        let mut k = KeylessLegs::default();
        let a = attempt_between("127.0.0.1:5000", "127.0.0.1:18611", "/");
        let b = attempt_between("[::ffff:127.0.0.2]:5001", "[::1]:18612", "/");
        k.insert(7, &a);
        k.insert(9, &b);
        let c = attempt_between("127.0.0.3:6000", "127.0.0.1:18601", "/");
        assert_eq!(k.candidates(&c), vec![9, 7]);
    }

    #[test]
    fn a_bucket_keeps_the_newest_and_empties_away() {
        let mut k = KeylessLegs::default();
        let a = attempt_between("10.0.0.1:5000", "10.0.0.9:80", "/ws");
        for id in 0..(MAX_SAME_KEY as u64 + 10) {
            k.insert(id, &a);
        }
        let backend = attempt_between("10.0.0.9:6000", "10.0.0.20:8080", "/ws");
        let found = k.candidates(&backend);
        assert_eq!(found.len(), MAX_SAME_KEY);
        assert_eq!(found.first(), Some(&(MAX_SAME_KEY as u64 + 9)));
        for id in 0..(MAX_SAME_KEY as u64 + 10) {
            k.remove(id, &a);
        }
        assert!(k.by_server.is_empty() && k.by_client.is_empty());
        assert!(k.candidates(&backend).is_empty());
    }
}
