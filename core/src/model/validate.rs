//! Input checks shared by the record mappings. Each names the field and the problem.

use super::types::{Address, Member};
use crate::error::{Error, Result};

/// Text of `min..=max` characters (after trimming) with no control characters but
/// newlines and tabs.
pub(crate) fn text(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(Error::invalid(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("needs at least {min} characters, got {n}")
            },
        ));
    }
    if n > max {
        return Err(Error::invalid(
            field,
            format!("is {n} characters long; at most {max} allowed"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "contains a control character"));
    }
    Ok(())
}

/// A non-empty single-line text of at most `max` characters.
pub(crate) fn short_text(field: &str, s: &str, max: usize) -> Result<()> {
    text(field, s, 1, max)?;
    if s.contains('\n') {
        return Err(Error::invalid(field, "must be one line"));
    }
    Ok(())
}

/// A person's name.
pub(crate) fn name(field: &str, s: &str) -> Result<()> {
    short_text(field, s, 64)
}

/// A phone number: empty, or 5 to 20 digits with optional `+`, `-` and spaces.
pub(crate) fn phone(s: &str) -> Result<()> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(());
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        || !(5..=20).contains(&digits)
    {
        return Err(Error::invalid(
            "phone",
            format!("{t:?} is not a phone number (5-20 digits)"),
        ));
    }
    Ok(())
}

/// An address with every part filled in.
pub(crate) fn address(a: &Address) -> Result<()> {
    let parts: [(&str, &str); 3] = match a {
        Address::Urban {
            building,
            unit,
            room,
        } => [
            ("address.building", building),
            ("address.unit", unit),
            ("address.room", room),
        ],
        Address::Rural {
            group,
            courtyard,
            number,
        } => [
            ("address.group", group),
            ("address.courtyard", courtyard),
            ("address.number", number),
        ],
    };
    for (f, v) in parts {
        short_text(f, v, 64)?;
    }
    Ok(())
}

/// A member list: at most 30 people with names and plausible birth years.
pub(crate) fn members(m: &[Member]) -> Result<()> {
    if m.len() > 30 {
        return Err(Error::invalid(
            "members",
            format!("{} members; at most 30 allowed", m.len()),
        ));
    }
    for p in m {
        name("members.name", &p.name)?;
        short_text("members.relation", &p.relation, 16)?;
        if !(1900..=2100).contains(&p.birth_year) {
            return Err(Error::invalid(
                "members.birth_year",
                format!(
                    "{} is not a plausible year of birth for {}",
                    p.birth_year, p.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let e = name("head", "  ").unwrap_err().to_string();
        assert_eq!(e, "invalid head: must not be empty");
        assert!(phone("12ab").unwrap_err().to_string().contains("phone"));
        assert!(phone("").is_ok());
        assert!(phone("139-1234-5678").is_ok());
        let e = text("notes", &"字".repeat(5001), 0, 5000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("notes") && e.contains("5001"), "{e}");
        let bad = Member {
            name: "王芳".into(),
            birth_year: 1800,
            relation: "配偶".into(),
        };
        assert!(
            members(&[bad])
                .unwrap_err()
                .to_string()
                .contains("birth_year")
        );
    }
}
