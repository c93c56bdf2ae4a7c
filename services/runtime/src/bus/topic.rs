//! AMQP topic matching (`*` one word, `#` zero or more), for the embedded
//! transport; RabbitMQ does its own.

pub fn matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = key.split('.').collect();
    match_words(&pattern, &key)
}

fn match_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => (0..=key.len()).any(|skip| match_words(rest, &key[skip..])),
        Some((&word, rest)) => match key.split_first() {
            Some((&k, key_rest)) => (word == "*" || word == k) && match_words(rest, key_rest),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn topic_patterns() {
        assert!(matches(
            "ticketing.incident.logged",
            "ticketing.incident.logged"
        ));
        assert!(matches("ticketing.*.logged", "ticketing.incident.logged"));
        assert!(matches("ticketing.#", "ticketing.incident.logged"));
        assert!(matches("#", "a"));
        assert!(matches("#.logged", "ticketing.incident.logged"));
        assert!(matches("ticketing.incident.#", "ticketing.incident"));
        assert!(!matches("ticketing.*", "ticketing.incident.logged"));
        assert!(!matches(
            "ticketing.incident.logged",
            "ticketing.incident.closed"
        ));
        assert!(!matches("*.incident.logged", "incident.logged"));
    }
}
