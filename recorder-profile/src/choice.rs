//! Enums a user chooses by name (`--format crd`, `--prefer allow`): every
//! value's name and a line on what it means, so that a command line, a
//! config file or an API can offer and parse them the same way. This crate
//! knows nothing of argument parsing; `recorder`'s CLI builds its value
//! parsers from [`Choice`].

/// An enum chosen by name.
pub trait Choice: Copy + Sized + 'static {
    /// Every value, in the order they are offered.
    const ALL: &'static [Self];

    /// The name a user gives for this value.
    fn name(self) -> &'static str;

    /// What this value means, in one line.
    fn help(self) -> &'static str;

    /// The value named `name` (exactly, case included).
    fn from_name(name: &str) -> Result<Self, UnknownChoice> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == name)
            .ok_or_else(|| UnknownChoice {
                given: name.to_string(),
                expected: Self::ALL.iter().map(|v| v.name()).collect(),
            })
    }
}

/// A name that is none of a [`Choice`]'s values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown value '{given}' (expected one of: {})", expected.join(", "))]
pub struct UnknownChoice {
    /// The name given.
    pub given: String,
    /// The names of every value.
    pub expected: Vec<&'static str>,
}

/// `Display` and `FromStr` of a [`Choice`] by its names.
macro_rules! by_name {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::choice::UnknownChoice;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::choice::Choice>::from_name(s)
            }
        }
    };
}
pub(crate) use by_name;
