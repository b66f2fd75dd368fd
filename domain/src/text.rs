//! Checks shared by the free-text fields of every aggregate (names, descriptions).

/// A name: not blank, at most `max` characters, no control characters.
pub(crate) fn valid_name(value: &str, max: usize) -> bool {
    !value.trim().is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control)
}

/// A description: may be empty, at most `max` characters, no control characters but newlines.
pub(crate) fn valid_description(value: &str, max: usize) -> bool {
    value.chars().count() <= max && !value.chars().any(|c| c.is_control() && c != '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_name_is_not_valid() {
        assert!(!valid_name("   ", 10));
    }

    #[test]
    fn a_name_over_the_maximum_is_not_valid() {
        assert!(valid_name("abc", 3));
        assert!(!valid_name("abcd", 3));
    }

    #[test]
    fn a_description_may_be_empty_but_not_carry_control_characters() {
        assert!(valid_description("", 10));
        assert!(!valid_description("a\u{0}b", 10));
    }
}
