//! Bounds-checked reads from packet bytes: every read past the end is a value,
//! so the decoders can use `?` instead of indexing that might panic.

use super::Layer;

/// Why and where decoding stopped. The decoders see sub-slices of the packet,
/// so the place is kept as an address and turned into an offset from the
/// packet's start once, at the top ([`super::decode`]). The layer is set by
/// the innermost layer's entry point that the error passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub layer: Option<Layer>,
    pub what: &'static str,
    /// Address of the byte where the problem is, when there is one.
    pub addr: Option<usize>,
}

impl Fault {
    /// A problem at byte `at` of `d` (which may be one past its end).
    pub fn at(d: &[u8], at: usize, what: &'static str) -> Fault {
        Fault {
            layer: None,
            what,
            addr: Some((d.as_ptr() as usize).wrapping_add(at)),
        }
    }

    /// A problem with no one place (nesting too deep).
    pub fn unplaced(what: &'static str) -> Fault {
        Fault {
            layer: None,
            what,
            addr: None,
        }
    }

    /// Name the layer, unless a layer inside it already has.
    pub fn in_layer(layer: Layer) -> impl Fn(Fault) -> Fault {
        move |f| Fault {
            layer: f.layer.or(Some(layer)),
            ..f
        }
    }
}

/// Why a packet could not be decoded.
pub type Res<T> = Result<T, Fault>;

pub fn u8_at(d: &[u8], at: usize, what: &'static str) -> Res<u8> {
    d.get(at).copied().ok_or_else(|| Fault::at(d, at, what))
}

pub fn be16(d: &[u8], at: usize, what: &'static str) -> Res<u16> {
    match d.get(at..at.wrapping_add(2)) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Fault::at(d, at, what)),
    }
}

pub fn be32(d: &[u8], at: usize, what: &'static str) -> Res<u32> {
    match d.get(at..at.wrapping_add(4)) {
        Some(&[a, b, c, e]) => Ok(u32::from_be_bytes([a, b, c, e])),
        _ => Err(Fault::at(d, at, what)),
    }
}

pub fn array<const N: usize>(d: &[u8], at: usize, what: &'static str) -> Res<[u8; N]> {
    d.get(at..at.wrapping_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Fault::at(d, at, what))
}

/// The bytes from `at` on; an error when `at` is past the end.
pub fn rest<'a>(d: &'a [u8], at: usize, what: &'static str) -> Res<&'a [u8]> {
    d.get(at..).ok_or_else(|| Fault::at(d, at, what))
}
