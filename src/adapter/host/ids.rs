//! `uuid_v4()`: a fresh random id, for adapters that must mint ids the target does not
//! have (e.g. groups kept only in the key/value store, such as MX3's tags).

use rand::Rng;
use rhai::Engine;

pub fn register(engine: &mut Engine) {
    engine.register_fn("uuid_v4", uuid_v4);
}

/// A random (version 4) UUID, lowercase and hyphenated.
fn uuid_v4() -> String {
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
}
