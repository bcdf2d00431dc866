//! The published JSON Schema of the JSON Lines contract. Kept as a file in the
//! repository (`schema/wshs-sniff.schema.json`) so consumers can fetch it without
//! the binary; compiled in so `wshs-sniff schema` prints exactly that file.

/// JSON Schema 2020-12 for every record kind of the JSON Lines contract.
pub const SCHEMA: &str = include_str!("../../schema/wshs-sniff.schema.json");
