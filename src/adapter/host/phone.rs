//! `e164(number)` and `e164(number, region)`: phone numbers to E.164 with libphonenumber's
//! metadata (the `phonenumber` crate). A number without a country code is read in the
//! tenant's `default_region` setting. A number that is not a valid phone number throws
//! SCIM 400 `invalidValue`, so a bad number never reaches the target.

use super::HostResult;
use crate::adapter::{context, convert::throw_scim};
use phonenumber::{country, Mode};
use rhai::Engine;
use scimitar_scim::ScimError;

pub fn register(engine: &mut Engine) {
    engine.register_fn("e164", |number: &str| -> HostResult<String> {
        let region = context::current()?.default_region;
        to_e164(number, region).map_err(throw_scim)
    });
    engine.register_fn("e164", |number: &str, region: &str| -> HostResult<String> {
        let region = parse_region(region).map_err(throw_scim)?;
        to_e164(number, Some(region)).map_err(throw_scim)
    });
}

pub fn parse_region(region: &str) -> Result<country::Id, ScimError> {
    region
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| ScimError::invalid_value(format!("{region:?} is not a region code")))
}

pub fn to_e164(number: &str, region: Option<country::Id>) -> Result<String, ScimError> {
    let invalid = || ScimError::invalid_value(format!("{number:?} is not a valid phone number"));
    let parsed = phonenumber::parse(region, number).map_err(|_| invalid())?;
    if !parsed.is_valid() {
        return Err(invalid());
    }
    Ok(parsed.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_use_the_default_region() {
        let us = parse_region("us").unwrap();
        assert_eq!(to_e164("(617) 555-1212", Some(us)).unwrap(), "+16175551212");
        assert_eq!(
            to_e164("+44 20 7946 0018", Some(us)).unwrap(),
            "+442079460018"
        );
    }

    #[test]
    fn garbage_is_invalid_value() {
        let err = to_e164("call me maybe", None).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.scim_type.as_deref(), Some("invalidValue"));
        assert!(to_e164("12", parse_region("US").ok()).is_err());
    }
}
