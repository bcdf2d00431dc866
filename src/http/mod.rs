//! HTTP/1.x on reassembled streams: heads (httparse), body framing, and the
//! per-connection pairing of requests with responses that yields [`Attempt`]s.

pub mod attempt;
pub mod before_payload;
pub mod body;
pub mod connection;
pub mod conversation;
pub mod engine_io;
pub mod head;
pub mod layer;
pub mod opening;
pub mod over_h2;
pub mod proxy_protocol;
pub mod secure;
pub mod session;
pub mod ws_frame;

pub use attempt::{AfterUpgrade, Attempt, Ending, H2Info, PacketNumbers, TlsInfo};
pub use connection::{Connection, PacketFlags};
pub use conversation::{Conversation, HttpLimits, HttpStats, TlsSighting};
pub use engine_io::SidIssued;
pub use head::{Header, HeaderList, Headers, RequestHead, ResponseHead};
pub use opening::{ConnectFailed, ConnectFailure};
