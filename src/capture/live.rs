//! Live capture through libpcap (the `pcap` crate): the first way users run the
//! tool, on the server host while the incident happens.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::{CaptureError, KernelStats, LinkType, Next, PacketSource, RawPacket, Timestamp};
use crate::coarse_clock::CoarseInstant;

/// Longest a captured packet waits in a partly filled kernel block before it
/// is handed to us (libpcap's packet buffer timeout).
const BLOCK_TIMEOUT_MS: i32 = 100;

/// Packets handed over per call at most: about what a kernel block holds.
const DISPATCH_PACKETS: usize = 1024;

/// How to open the interface.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    /// BPF filter (already combined with `tcp`).
    pub filter: String,
    pub snaplen: i32,
    /// Kernel buffer in bytes (`-B`, given in KiB on the command line like tcpdump).
    pub buffer_size: Option<i32>,
    pub promisc: bool,
    /// Stop after this long (`--duration`).
    pub duration: Option<Duration>,
}

/// Why a live capture could not start or went on failing.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot capture on {iface}: {msg}")]
    Open { iface: String, msg: String },
    #[error("bad filter '{filter}': {msg}")]
    Filter { filter: String, msg: String },
    #[error("cannot list interfaces: {msg}")]
    List { msg: String },
}

impl LiveError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LiveError::Filter { .. } => 1,
            LiveError::Open { .. } | LiveError::List { .. } => 2,
        }
    }
}

/// Why root could not be dropped (`-Z`).
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("cannot drop privileges: bad user name '{0}'")]
    BadName(String),
    #[error("cannot drop privileges: no such user '{0}'")]
    NoSuchUser(String),
    #[error("cannot drop privileges to {user}: {call}: {source}")]
    Call {
        user: String,
        call: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A live capture handle as a packet source.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    linktype: LinkType,
    deadline: Option<CoarseInstant>,
    iface: String,
    /// Kernel drop count last warned about.
    warned_drops: u32,
    last_stats_check: CoarseInstant,
}

impl LiveSource {
    pub fn open(o: &LiveOptions) -> Result<LiveSource, LiveError> {
        let open_err = |e: pcap::Error| LiveError::Open {
            iface: o.interface.clone(),
            msg: e.to_string(),
        };
        let mut inactive = pcap::Capture::from_device(o.interface.as_str())
            .map_err(open_err)?
            .snaplen(o.snaplen)
            .promisc(o.promisc)
            // Not immediate mode: libpcap then reads a TPACKET_V3 ring of
            // variable-size frames in blocks, one wake-up per block instead of
            // per packet, and the ring holds as many packets as their bytes
            // allow (immediate mode forces fixed slots sized from the snap
            // length: a few dozen of them on an interface with offloads).
            // The kernel hands a block over when it is full or when this
            // timeout passes, so a packet waits at most BLOCK_TIMEOUT_MS
            // before it is read: attempts are still reported well within a
            // second of their response.
            .timeout(BLOCK_TIMEOUT_MS);
        if let Some(b) = o.buffer_size {
            inactive = inactive.buffer_size(b);
        }
        // Non-blocking reads, with the wait done here (poll on the selectable
        // descriptor, 100 ms at most): a blocking read would wait for the next
        // block, which on a quiet wire never comes, holding back attempts
        // waiting for a quiet moment and a Ctrl-C until the next packet.
        let mut cap = inactive
            .open()
            .map_err(open_err)?
            .setnonblock()
            .map_err(open_err)?;
        cap.filter(&o.filter, true).map_err(|e| LiveError::Filter {
            filter: o.filter.clone(),
            msg: e.to_string(),
        })?;
        let linktype = LinkType(cap.get_datalink().0 as u32);
        Ok(LiveSource {
            cap,
            linktype,
            deadline: o.duration.map(|d| CoarseInstant::now() + d),
            iface: o.interface.clone(),
            warned_drops: 0,
            last_stats_check: CoarseInstant::now(),
        })
    }

    /// The interface's link type, for a recording of it (`-w`).
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// Whether `--duration` has run out; if not, drops are checked on.
    fn over(&mut self) -> bool {
        if self.deadline.is_some_and(|d| CoarseInstant::now() >= d) {
            return true;
        }
        self.check_drops();
        false
    }

    /// Warn once per second at most when the kernel starts dropping packets.
    fn check_drops(&mut self) {
        if self.last_stats_check.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_stats_check = CoarseInstant::now();
        if let Ok(s) = self.cap.stats() {
            if s.dropped > self.warned_drops {
                crate::notice::note(format_args!(
                    "warning: kernel dropped {} packets on {} so far (raise -B, or narrow the filter)",
                    s.dropped, self.iface
                ));
                self.warned_drops = s.dropped;
            }
        }
    }
}

/// The interfaces libpcap can capture on, for `-D`.
pub fn list_interfaces() -> Result<Vec<(String, Option<String>)>, LiveError> {
    pcap::Device::list()
        .map(|ds| ds.into_iter().map(|d| (d.name, d.desc)).collect())
        .map_err(|e| LiveError::List { msg: e.to_string() })
}

impl LiveSource {
    /// Nothing to read: wait until something is, or 100 ms pass.
    fn wait(fd: RawFd, iface: &str) -> Result<Next<'static>, CaptureError> {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(CaptureError::Live {
                    iface: iface.to_string(),
                    what: e.to_string(),
                });
            }
        }
        Ok(Next::Idle)
    }

    fn failed(iface: &str, e: pcap::Error) -> CaptureError {
        CaptureError::Live {
            iface: iface.to_string(),
            what: e
                .to_string()
                .trim_start_matches("libpcap error: ")
                .to_string(),
        }
    }

    fn raw<'a>(linktype: LinkType, p: &pcap::Packet<'a>) -> RawPacket<'a> {
        RawPacket {
            ts: Timestamp::new(p.header.ts.tv_sec, (p.header.ts.tv_usec as u32) * 1000),
            linktype,
            data: p.data,
            orig_len: p.header.len,
            backing: None,
        }
    }
}

impl PacketSource for LiveSource {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.over() {
            return Ok(Next::End);
        }
        let (fd, linktype, iface) = (self.cap.as_raw_fd(), self.linktype, &self.iface);
        match self.cap.next_packet() {
            Ok(p) => Ok(Next::Packet(LiveSource::raw(linktype, &p))),
            Err(pcap::Error::TimeoutExpired) => LiveSource::wait(fd, iface),
            Err(e) => Err(LiveSource::failed(iface, e)),
        }
    }

    /// Every packet of the ring's ready blocks, read where the kernel put
    /// it: `next` has libpcap copy each one out of the ring first, since a
    /// block goes back to the kernel once its last packet is handed over.
    fn each_ready(&mut self, take: &mut dyn FnMut(Next<'_>) -> bool) -> Result<(), CaptureError> {
        if self.over() {
            take(Next::End);
            return Ok(());
        }
        let linktype = self.linktype;
        let mut open = true;
        // At most one block's worth per call, so the caller looks at the
        // clock, Ctrl-C and the kernel's counters between blocks even when
        // the ring stays full.
        let read = self.cap.dispatch(Some(DISPATCH_PACKETS), |p| {
            // libpcap cannot be stopped from inside its loop through this
            // API: what follows a refusal is left unread.
            if open {
                open = take(Next::Packet(LiveSource::raw(linktype, &p)));
            }
        });
        match read {
            Ok(0) => {
                if open {
                    take(LiveSource::wait(self.cap.as_raw_fd(), &self.iface)?);
                }
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(LiveSource::failed(&self.iface, e)),
        }
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.cap.stats().ok().map(|s| KernelStats {
            received: s.received as u64,
            dropped: s.dropped as u64,
            dropped_by_interface: s.if_dropped as u64,
        })
    }

    fn is_live(&self) -> bool {
        true
    }
}

/// Drop root after the capture or the input files are open (`-Z USER`),
/// like tcpdump: the analyzer reads bytes any attacker can send and must not
/// keep privileges it no longer needs.
pub fn drop_privileges(user: &str) -> Result<(), PrivilegeError> {
    let name =
        std::ffi::CString::new(user).map_err(|_| PrivilegeError::BadName(user.to_string()))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; the fields are
    // read immediately, before any other call that could overwrite it.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            return Err(PrivilegeError::NoSuchUser(user.to_string()));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let failed = |call| PrivilegeError::Call {
        user: user.to_string(),
        call,
        source: std::io::Error::last_os_error(),
    };
    // SAFETY: plain syscalls with values from the password database; order
    // matters: groups and gid before uid, while still privileged.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(failed("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(failed("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(failed("setuid"));
        }
    }
    Ok(())
}
