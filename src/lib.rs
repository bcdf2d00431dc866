//! wshs-sniff: find every WebSocket upgrade attempt in a packet capture, pair it
//! with the server's answer, and explain each refusal.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! capture ──▶ decode ──▶ reassembly ──▶ http ──▶ classify ──▶ report
//! ```

pub mod capture;
pub mod decode;
pub mod reassembly;
