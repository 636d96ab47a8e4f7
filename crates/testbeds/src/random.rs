//! Random strings for ids and secrets. Testbeds need unpredictable values (so tests cannot
//! depend on them by accident), not cryptographic ones.

use rand::distributions::{Alphanumeric, Slice};
use rand::Rng;

const BASE36: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
    'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z',
];

/// `len` characters from `[A-Za-z0-9]`: secrets and tokens.
pub(crate) fn alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `len` characters from `[0-9a-z]`: the body of base36 ids such as `usr-0123456789`.
pub(crate) fn base36(len: usize) -> String {
    let digits = Slice::new(BASE36).expect("alphabet is not empty");
    rand::thread_rng().sample_iter(digits).take(len).collect()
}

/// A random (version 4) UUID in its lowercase hyphenated form.
pub(crate) fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
