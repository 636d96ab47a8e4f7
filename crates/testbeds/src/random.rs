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
