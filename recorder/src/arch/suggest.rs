//! "Did you mean ...?" for misspelt architecture and syscall names.

/// The candidate closest to `input`, if one is close enough to be a likely
/// typo (normalised Damerau-Levenshtein similarity of at least 0.7, or
/// `input` is a prefix/suffix-trimmed form such as `fstatat` for
/// `newfstatat`).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let mut score = strsim::normalized_damerau_levenshtein(&input, c);
            if input.len() >= 4 && (c.ends_with(input.as_str()) || c.starts_with(input.as_str())) {
                score = score.max(0.8);
            }
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_trimmed_names() {
        let names = ["open", "openat", "newfstatat", "fstat", "execve"];
        assert_eq!(closest("opne", names), Some("open"));
        assert_eq!(closest("fstatat", names), Some("newfstatat"));
        assert_eq!(closest("exceve", names), Some("execve"));
        assert_eq!(closest("frobnicate", names), None);
    }
}
