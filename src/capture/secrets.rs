//! Decryption Secrets Blocks of a pcapng file (block type 0x0A): the TLS key
//! log that `editcap --inject-secrets tls,KEYS` or eCapture store beside the
//! packets. Read in a pass of its own before the packets, since a block may
//! sit anywhere before the packets it opens.

use std::fs::File;
use std::io::{BufReader, Read};

use nom::number::Endianness;

use super::pcapng_format::{block_header, section_endian, MIN_BLOCK_LEN, SHB_TYPE};

pub const DSB_TYPE: u32 = 0x0000_000a;
/// Secrets type of an NSS key log ("TLSK").
pub const TLS_KEY_LOG: u32 = 0x544c_534b;
/// Larger blocks are not secrets (or are damage): they are not read.
const MAX_SECRETS: u32 = 64 << 20;

fn u32_at(b: &[u8], at: usize, e: Endianness) -> Option<u32> {
    let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(match e {
        Endianness::Big => u32::from_be_bytes(v),
        _ => u32::from_le_bytes(v),
    })
}

/// The TLS key log text of every Decryption Secrets Block in the file,
/// concatenated; empty for pcap files and pcapng files without one. Damage
/// ends the scan quietly: the packet reader reports it.
pub fn tls_key_log(path: &str) -> std::io::Result<Vec<u8>> {
    let mut r = BufReader::new(File::open(path)?);
    let mut out = Vec::new();
    let mut head = [0u8; 12];
    if r.read_exact(&mut head).is_err()
        || u32::from_le_bytes([head[0], head[1], head[2], head[3]]) != SHB_TYPE
    {
        return Ok(out);
    }
    let Some(mut e) = section_endian(&head) else {
        return Ok(out);
    };
    let mut at_block: [u8; 8] = head[..8].try_into().unwrap_or_default();
    let mut first = true;
    while let Some((kind, len)) = block_header(&at_block, e) {
        if len < MIN_BLOCK_LEN || len % 4 != 0 {
            break;
        }
        // Bytes of this block after its 8-byte header (the SHB's first 4 of
        // them were read with the header).
        let mut rest = u64::from(len) - 8;
        if kind == SHB_TYPE {
            if !first {
                let mut bom = [0u8; 4];
                if r.read_exact(&mut bom).is_err() {
                    break;
                }
                let first12 = [&at_block[..], &bom[..]].concat();
                match section_endian(&first12) {
                    Some(ne) => e = ne,
                    None => break,
                }
            }
            rest -= 4;
            first = false;
        } else if kind == DSB_TYPE && len <= MAX_SECRETS {
            let mut body = vec![0u8; rest as usize];
            if r.read_exact(&mut body).is_err() {
                break;
            }
            rest = 0;
            if let (Some(TLS_KEY_LOG), Some(n)) = (u32_at(&body, 0, e), u32_at(&body, 4, e)) {
                if let Some(text) = body.get(8..8 + n as usize) {
                    out.extend_from_slice(text);
                    out.push(b'\n');
                }
            }
        }
        if rest > 0 && r.seek_relative(rest as i64).is_err() {
            break;
        }
        if r.read_exact(&mut at_block).is_err() {
            break;
        }
    }
    Ok(out)
}
