//! Value parsers for the library's enums chosen by name ([`Choice`]):
//! `recorder-profile` knows nothing of clap, so the command line offers
//! their names and one-line helps here, as `clap::ValueEnum` would.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use recorder_profile::choice::Choice;

/// Accepts exactly `T`'s names, lists them with their helps in `--help`,
/// and suggests the nearest on a typo.
pub fn parser<T: Choice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.help())),
    )
    .map(|name| T::from_name(&name).expect("clap accepts only T's names"))
}
