//! One TLS connection, both directions: reads the hellos for the facts, and
//! when a [`KeySource`] knows the connection's client random, follows the key
//! changes (TLS 1.2 ChangeCipherSpec; TLS 1.3 handshake keys, Finished,
//! KeyUpdate) to hand out each direction's decrypted application data.

use super::aead::{Opener, Plain};
use super::hello::{self, HandshakeReader};
use super::keylog::{KeySource, Secrets};
use super::record::{self, Record, RecordReader};
use super::schedule::{self, TrafficKeys};
use super::suite::{self, Suite};
use super::TlsError;

/// Which end sent the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What a connection says in clear (and, with keys, in its encrypted
/// extensions): never any key material.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    /// The protocol the server chose: clear up to TLS 1.2, from decrypted
    /// EncryptedExtensions under TLS 1.3.
    pub alpn: Option<String>,
    /// Negotiated version (0x0304 = 1.3); the client's best offer until the
    /// ServerHello is seen.
    pub version: Option<u16>,
    pub cipher_suite: Option<u16>,
    pub client_random: Option<[u8; 32]>,
    pub server_random: Option<[u8; 32]>,
}

/// How far decryption got, for the summary and for `incomplete` reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsProgress {
    /// The key source had this connection's secrets.
    pub keys_found: bool,
    /// Records opened, per direction (client, server).
    pub opened: [u64; 2],
    /// Protected records that could not be opened.
    pub failed: u64,
    /// The first error that stopped a direction.
    pub error: Option<TlsError>,
}

/// Protected records of one direction wait at most this many bytes for the
/// other direction's ServerHello before the direction is given up.
const MAX_BACKLOG: usize = 1 << 18;
/// After this many records in a row fail, stop trying the direction.
const MAX_FAILURES: u32 = 8;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before keys change: records are clear text.
    #[default]
    Clear,
    /// TLS 1.3 handshake keys in use.
    Handshake,
    /// Application keys in use (TLS 1.3 after Finished, TLS 1.2 after CCS).
    Application,
}

#[derive(Debug, Default)]
struct Direction {
    records: RecordReader,
    handshake: HandshakeReader,
    phase: Phase,
    /// Boxed, as `held` and the connection's `secrets`: only a connection
    /// with keys has them, and every TLS connection the flow table tracks
    /// would otherwise carry their size.
    opener: Option<Box<Opener>>,
    /// TLS 1.3 current application traffic secret (for KeyUpdate).
    app_secret: Option<Vec<u8>>,
    /// A TLS 1.2 ChangeCipherSpec was seen: what follows is protected.
    changed: bool,
    failures: u32,
    stopped: bool,
    no_keys: bool,
    /// A protected record waiting for its connection's secrets to appear
    /// in a key log that is still growing (live capture).
    held: Option<Box<Record>>,
}

/// One TLS connection being read.
#[derive(Debug, Default)]
pub struct TlsConnection {
    pub facts: TlsFacts,
    pub progress: TlsProgress,
    client: Direction,
    server: Direction,
    suite: Option<Suite>,
    tls13: bool,
    secrets: Option<Box<Secrets>>,
}

impl TlsConnection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the ServerHello has been read (the facts are final but ALPN
    /// under TLS 1.3).
    pub fn negotiated(&self) -> bool {
        self.suite.is_some() || self.facts.cipher_suite.is_some()
    }

    /// The ServerHello chose TLS 1.2 or older, whose Finished is a handshake
    /// record: the client's first application-data record is data.
    pub fn negotiated_before_tls13(&self) -> bool {
        self.negotiated() && !self.tls13
    }

    /// Feed bytes one side sent; decrypted application data of either
    /// direction (the other may have been waiting for this one's hello) goes
    /// to `out` with its side.
    pub fn feed(
        &mut self,
        side: Side,
        bytes: &[u8],
        keys: &dyn KeySource,
        out: &mut dyn FnMut(Side, &[u8]),
    ) {
        let d = self.dir_mut(side);
        if d.stopped {
            return;
        }
        d.records.push(bytes);
        self.pump(side, keys, out);
        // This side's hello (or secrets that arrived since) may release the
        // other side's records.
        let other = match side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        let o = self.dir_mut(other);
        if o.records.pending() > 0 || o.held.is_some() {
            self.pump(other, keys, out);
        }
    }

    /// Bytes held while records and handshake messages are incomplete.
    pub fn buffered(&self) -> usize {
        [&self.client, &self.server]
            .iter()
            .map(|d| {
                d.records.pending()
                    + d.handshake.pending()
                    + d.held.as_ref().map_or(0, |r| r.fragment.len())
            })
            .sum()
    }

    /// Nothing more can be decrypted: each direction stopped or found no
    /// keys for this connection.
    pub fn is_idle(&self) -> bool {
        [&self.client, &self.server]
            .iter()
            .all(|d| d.stopped || d.no_keys)
    }

    /// Stop reading altogether and free what is held (the facts stay).
    pub fn stop_reading(&mut self) {
        for d in [&mut self.client, &mut self.server] {
            d.stopped = true;
            d.records = RecordReader::default();
            d.held = None;
            d.handshake = HandshakeReader::default();
        }
    }

    fn dir_mut(&mut self, side: Side) -> &mut Direction {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    fn stop(&mut self, side: Side, e: TlsError) {
        self.dir_mut(side).stopped = true;
        if self.progress.error.is_none() {
            self.progress.error = Some(e);
        }
    }

    fn pump(&mut self, side: Side, keys: &dyn KeySource, out: &mut dyn FnMut(Side, &[u8])) {
        loop {
            let d = self.dir_mut(side);
            if d.stopped {
                return;
            }
            // Records after a side's hello may be protected under keys that
            // the other side's hello decides: they wait for it.
            let waits = match side {
                Side::Client => {
                    self.facts.client_random.is_some() && self.facts.cipher_suite.is_none()
                }
                Side::Server => {
                    self.facts.cipher_suite.is_some() && self.facts.client_random.is_none()
                }
            };
            if waits {
                if self.dir_mut(side).records.pending() > MAX_BACKLOG {
                    self.stop(side, TlsError::Backlog { limit: MAX_BACKLOG });
                }
                return;
            }
            let d = self.dir_mut(side);
            let rec = match d.held.take() {
                Some(r) => *r,
                None => match d.records.next_record() {
                    Ok(Some(r)) => r,
                    Ok(None) => return,
                    Err(e) => return self.stop(side, e),
                },
            };
            match self.on_record(side, rec, keys, out) {
                Ok(None) => {}
                // Secrets not there yet: try again when more bytes come.
                Ok(Some(rec)) => {
                    let d = self.dir_mut(side);
                    if d.records.pending() > MAX_BACKLOG {
                        d.no_keys = true;
                        continue;
                    }
                    d.held = Some(Box::new(rec));
                    return;
                }
                Err(e) => return self.stop(side, e),
            }
        }
    }

    /// Read one record; a protected record whose secrets may still come is
    /// handed back.
    fn on_record(
        &mut self,
        side: Side,
        rec: Record,
        keys: &dyn KeySource,
        out: &mut dyn FnMut(Side, &[u8]),
    ) -> Result<Option<Record>, TlsError> {
        let d = self.dir_mut(side);
        let protected = match d.phase {
            Phase::Clear => d.changed && rec.header.content_type != record::CHANGE_CIPHER_SPEC,
            _ => rec.header.content_type == record::APPLICATION_DATA || !self.tls13,
        };
        if !protected {
            match rec.header.content_type {
                record::HANDSHAKE => {
                    self.dir_mut(side).handshake.push(&rec.fragment);
                    self.read_handshake(side)?;
                }
                record::CHANGE_CIPHER_SPEC if !self.tls13 && self.negotiated() => {
                    let d = self.dir_mut(side);
                    d.changed = true;
                }
                _ => {}
            }
            return Ok(None);
        }
        if self.dir_mut(side).opener.is_none()
            && !self.dir_mut(side).no_keys
            && keys.may_grow()
            && !self.has_secrets(keys)
        {
            return Ok(Some(rec));
        }
        let Some(plain) = self.open(side, &rec, keys)? else {
            return Ok(None);
        };
        match plain.content_type {
            record::APPLICATION_DATA => out(side, &plain.data),
            record::HANDSHAKE => {
                self.dir_mut(side).handshake.push(&plain.data);
                self.read_handshake(side)?;
            }
            _ => {}
        }
        Ok(None)
    }

    /// Whether the key source has all of this connection's secrets yet (a
    /// key log being written gets a TLS 1.3 connection's handshake secrets
    /// before its traffic secrets).
    fn has_secrets(&mut self, keys: &dyn KeySource) -> bool {
        if self.secrets.is_none() {
            if let Some(cr) = self.facts.client_random {
                let tls13 = self.tls13;
                self.secrets = keys
                    .secrets(&cr)
                    .filter(|s| s.complete(tls13))
                    .map(Box::new);
            }
        }
        self.secrets.is_some()
    }

    /// Open a protected record, `Ok(None)` when it cannot be (no keys, a
    /// record that fails but not often enough to give up).
    fn open(
        &mut self,
        side: Side,
        rec: &Record,
        keys: &dyn KeySource,
    ) -> Result<Option<Plain>, TlsError> {
        if self.dir_mut(side).no_keys {
            return Ok(None);
        }
        if self.dir_mut(side).opener.is_none() && !self.arm(side, keys)? {
            self.dir_mut(side).no_keys = true;
            return Ok(None);
        }
        let tls13 = self.tls13;
        let suite = self.suite;
        let d = match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        };
        let Some(opener) = d.opener.as_mut() else {
            return Ok(None);
        };
        match opener.open(&rec.header, &rec.fragment) {
            Ok(p) => {
                d.failures = 0;
                self.progress.opened[side as usize] += 1;
                Ok(Some(p))
            }
            Err(e) => {
                // TLS 1.3 without the handshake secrets (or with 0-RTT data we
                // cannot read): the record may already be under the
                // application keys.
                if tls13 && d.phase == Phase::Handshake {
                    if let (Some(secret), Some(suite)) = (d.app_secret.clone(), suite) {
                        let mut app =
                            Opener::new(suite.aead, &schedule::tls13_keys(&suite, &secret)?, true)?;
                        if let Ok(p) = app.open(&rec.header, &rec.fragment) {
                            d.opener = Some(Box::new(app));
                            d.phase = Phase::Application;
                            d.failures = 0;
                            self.progress.opened[side as usize] += 1;
                            return Ok(Some(p));
                        }
                    }
                }
                d.failures += 1;
                self.progress.failed += 1;
                if d.failures >= MAX_FAILURES {
                    return Err(e);
                }
                Ok(None)
            }
        }
    }

    /// Set up the first keys of a direction; `false` when the key source has
    /// none for this connection.
    fn arm(&mut self, side: Side, keys: &dyn KeySource) -> Result<bool, TlsError> {
        let (Some(suite), Some(cr)) = (self.suite, self.facts.client_random) else {
            return Ok(false);
        };
        if self.secrets.is_none() {
            self.secrets = keys.secrets(&cr).map(Box::new);
        }
        let Some(secrets) = self.secrets.as_deref().cloned() else {
            return Ok(false);
        };
        self.progress.keys_found = true;
        let server_random = self.facts.server_random.unwrap_or_default();
        let tls13 = self.tls13;
        let d = self.dir_mut(side);
        if tls13 {
            let (hs, app) = match side {
                Side::Client => (secrets.client_handshake, secrets.client_traffic),
                Side::Server => (secrets.server_handshake, secrets.server_traffic),
            };
            d.app_secret = app;
            let (secret, phase) = match (hs, &d.app_secret) {
                (Some(hs), _) => (hs, Phase::Handshake),
                (None, Some(app)) => (app.clone(), Phase::Application),
                (None, None) => return Ok(false),
            };
            d.opener = Some(Box::new(Opener::new(
                suite.aead,
                &schedule::tls13_keys(&suite, &secret)?,
                true,
            )?));
            d.phase = phase;
        } else {
            let Some(master) = secrets.master else {
                return Ok(false);
            };
            let (c, s): (TrafficKeys, TrafficKeys) =
                schedule::tls12_keys(&suite, &master, &cr, &server_random)?;
            let k = if side == Side::Client { c } else { s };
            d.opener = Some(Box::new(Opener::new(suite.aead, &k, false)?));
            d.phase = Phase::Application;
        }
        Ok(true)
    }

    fn read_handshake(&mut self, side: Side) -> Result<(), TlsError> {
        while let Some((kind, body)) = self.dir_mut(side).handshake.next_message()? {
            match (side, kind) {
                (Side::Client, hello::CLIENT_HELLO) => {
                    let h = hello::parse_client_hello(&body)?;
                    self.facts.sni = h.sni;
                    self.facts.alpn_offered = h.alpn;
                    if self.facts.version.is_none() {
                        self.facts.version =
                            Some(h.versions.iter().copied().max().unwrap_or(h.legacy_version));
                    }
                    self.facts.client_random = Some(h.random);
                }
                (Side::Server, hello::SERVER_HELLO) => {
                    let h = hello::parse_server_hello(&body)?;
                    if h.retry_request {
                        continue;
                    }
                    self.facts.version = Some(h.version);
                    self.facts.cipher_suite = Some(h.cipher_suite);
                    self.facts.server_random = Some(h.random);
                    self.facts.alpn = h.alpn;
                    self.tls13 = h.version == 0x0304;
                    // A suite that cannot be decrypted still leaves the facts.
                    self.suite = suite::lookup(h.cipher_suite).ok();
                    if self.tls13 && self.suite.is_some() {
                        self.client.phase = Phase::Handshake;
                        self.server.phase = Phase::Handshake;
                    }
                }
                (Side::Server, hello::ENCRYPTED_EXTENSIONS) => {
                    self.facts.alpn = hello::parse_encrypted_extensions(&body)?;
                }
                (_, hello::FINISHED) if self.tls13 => self.enter_application(side)?,
                (_, hello::KEY_UPDATE) if self.tls13 => self.key_update(side)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// TLS 1.3: after its Finished a side sends under its application keys.
    fn enter_application(&mut self, side: Side) -> Result<(), TlsError> {
        let Some(suite) = self.suite else {
            return Ok(());
        };
        let d = self.dir_mut(side);
        if d.phase != Phase::Handshake {
            return Ok(());
        }
        d.phase = Phase::Application;
        d.opener = match &d.app_secret {
            Some(s) => Some(Box::new(Opener::new(
                suite.aead,
                &schedule::tls13_keys(&suite, s)?,
                true,
            )?)),
            None => {
                d.no_keys = true;
                None
            }
        };
        Ok(())
    }

    /// TLS 1.3 KeyUpdate: the sender's next records use the next secret.
    fn key_update(&mut self, side: Side) -> Result<(), TlsError> {
        let Some(suite) = self.suite else {
            return Ok(());
        };
        let d = self.dir_mut(side);
        let Some(secret) = d.app_secret.take() else {
            return Ok(());
        };
        let next = schedule::tls13_next_secret(suite.hash, &secret)?;
        d.opener = Some(Box::new(Opener::new(
            suite.aead,
            &schedule::tls13_keys(&suite, &next)?,
            true,
        )?));
        d.app_secret = Some(next);
        Ok(())
    }
}
