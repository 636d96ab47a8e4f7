//! Random values, from the operating system's generator (Rhai has no random source):
//! `uuid_v4()` for ids the target does not have (e.g. groups kept only in the key/value store,
//! such as MX3's tags), `random_secret(length)` for a password a target requires on create
//! that Entra does not send.

use super::HostResult;
use crate::adapter::convert::throw_scim;
use rand::seq::SliceRandom;
use rand::Rng as _;
use rhai::{Engine, INT};
use scimitar_scim::ScimError;

pub fn register(engine: &mut Engine) {
    engine.register_fn("uuid_v4", uuid_v4);
    engine.register_fn("random_secret", |length: INT| -> HostResult<String> {
        usize::try_from(length)
            .ok()
            .filter(|n| SECRET_LENGTHS.contains(n))
            .map(random_secret)
            .ok_or_else(|| {
                throw_scim(ScimError::internal(format!(
                    "random_secret({length}): the length must be {} to {}",
                    SECRET_LENGTHS.start(),
                    SECRET_LENGTHS.end()
                )))
            })
    });
}

/// Long enough to hold every class below; short enough for any target's password field.
const SECRET_LENGTHS: std::ops::RangeInclusive<usize> = 12..=128;

/// The classes a password policy asks for; one of each is always in a secret. The symbols
/// are ones that need no escaping in JSON, URLs' query values or shells' single quotes.
const SECRET_CLASSES: [&[u8]; 4] = [
    b"ABCDEFGHJKLMNPQRSTUVWXYZ",
    b"abcdefghijkmnopqrstuvwxyz",
    b"23456789",
    b"!#%+-.:=?@_~",
];

/// `length` random characters (`SECRET_LENGTHS`), with an upper-case letter, a lower-case
/// letter, a digit and a symbol among them, as password policies require.
fn random_secret(length: usize) -> String {
    let mut rng = rand::thread_rng();
    let all: Vec<u8> = SECRET_CLASSES.concat();
    let mut chars: Vec<u8> = SECRET_CLASSES
        .iter()
        .map(|class| *class.choose(&mut rng).expect("not empty"))
        .collect();
    while chars.len() < length {
        chars.push(*all.choose(&mut rng).expect("not empty"));
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).expect("ASCII")
}

/// A random (version 4) UUID, lowercase and hyphenated.
pub(crate) fn uuid_v4() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_fresh_version_4_uuid() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, uuid_v4());
    }

    #[test]
    fn a_secret_has_its_length_and_every_class() {
        for length in [12, 40, 128] {
            let secret = random_secret(length);
            assert_eq!(secret.len(), length);
            for class in SECRET_CLASSES {
                assert!(secret.bytes().any(|c| class.contains(&c)), "{secret}");
            }
        }
        assert_ne!(random_secret(32), random_secret(32));
    }
}
