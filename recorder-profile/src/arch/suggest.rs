//! "Did you mean ...?" for misspelt architecture and syscall names.

/// The candidate closest to `input`, if one is close enough to be a likely
/// typo (normalised Damerau-Levenshtein similarity of at least 0.7, or
/// `input` is a prefix/suffix-trimmed form such as `fstatat` for
/// `newfstatat`).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (score(&input, c), c))
        .filter(|(score, _)| *score >= THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Every candidate as close to `input` as the closest one, sorted and
/// without repeats: where several are equally close (`openatt`: `openat`
/// and `openat2`), naming one would hide the others.
pub fn closest_all<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let input = input.to_ascii_lowercase();
    let scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (score(&input, c), c))
        .filter(|(score, _)| *score >= THRESHOLD)
        .collect();
    let Some(best) = scored.iter().map(|(s, _)| *s).max_by(f64::total_cmp) else {
        return Vec::new();
    };
    let mut all: Vec<&str> = scored
        .into_iter()
        .filter(|(s, _)| *s == best)
        .map(|(_, c)| c)
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The least score of a likely typo.
const THRESHOLD: f64 = 0.7;

/// How alike `input` (lower case) and `candidate` are, from 0 to 1.
fn score(input: &str, candidate: &str) -> f64 {
    let mut score = strsim::normalized_damerau_levenshtein(input, candidate);
    if input.len() >= 4 && (candidate.ends_with(input) || candidate.starts_with(input)) {
        score = score.max(0.8);
    }
    score
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

    #[test]
    fn every_name_equally_close() {
        let names = ["openat2", "open", "openat", "openat", "execve"];
        assert_eq!(closest_all("openatt", names), ["openat", "openat2"]);
        assert_eq!(closest_all("opne", names), ["open"]);
        assert!(closest_all("frobnicate", names).is_empty());
    }
}
