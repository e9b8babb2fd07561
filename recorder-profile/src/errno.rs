//! Errno values given by number or name (`38`, `ENOSYS`, `enosys`).

/// Parses an errno for `--errno`: a number from 1 to 4095 or a name.
pub fn parse_errno(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u32>() {
        return if (1..4096).contains(&n) {
            Ok(n)
        } else {
            Err(format!("errno {n} is out of range: use 1 to 4095"))
        };
    }
    let upper = text.to_ascii_uppercase();
    (1..4096)
        .find(|&n| syscalls::Errno::new(n).name() == Some(upper.as_str()))
        .map(|n| n as u32)
        .ok_or_else(|| {
            format!("unknown errno {text:?}: give a number or a name such as ENOSYS or EPERM")
        })
}

/// The name of an errno value, for messages.
pub fn errno_name(n: u32) -> Option<&'static str> {
    i32::try_from(n)
        .ok()
        .and_then(|n| syscalls::Errno::new(n).name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(parse_errno("38"), Ok(38));
        assert_eq!(parse_errno("ENOSYS"), Ok(38));
        assert_eq!(parse_errno("eperm"), Ok(1));
        assert!(parse_errno("0").is_err());
        assert!(parse_errno("EWHAT").unwrap_err().contains("EWHAT"));
        assert_eq!(errno_name(38), Some("ENOSYS"));
    }
}
