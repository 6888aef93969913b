//! Printing numbers the way monitoring engines parse them.

/// Formats a finite number in plain decimal notation, never scientific.
///
/// At most 12 decimals are kept and trailing zeros dropped, so float noise
/// (`0.30000000000000004`) prints as `0.3` while a tiny time such as
/// `0.000004` keeps its digits. Non-finite values print as `U` ("unknown" in
/// perfdata); `-0` prints as `0`.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "U".to_string();
    }
    let mut text = format!("{value:.12}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

/// Formats a number with a fixed count of decimals (for human-readable summaries).
pub fn format_fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    // "-0.00" reads as a bug to an administrator.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_scientific() {
        assert_eq!(format_number(0.000004), "0.000004");
        assert_eq!(format_number(4e-6), "0.000004");
        assert_eq!(format_number(1e21), "1000000000000000000000");
        assert_eq!(format_number(12329156608.0), "12329156608");
        assert!(!format_number(1.5e-9).contains('e'));
    }

    #[test]
    fn trims_noise_and_zeros() {
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(5.0), "5");
        assert_eq!(format_number(-7.25), "-7.25");
        assert_eq!(format_number(657.8210567), "657.8210567");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.0), "0");
    }

    #[test]
    fn non_finite_is_unknown() {
        assert_eq!(format_number(f64::NAN), "U");
        assert_eq!(format_number(f64::INFINITY), "U");
    }

    #[test]
    fn fixed() {
        assert_eq!(format_fixed(0.36, 2), "0.36");
        assert_eq!(format_fixed(-0.001, 2), "0.00");
        assert_eq!(format_fixed(1.005, 0), "1");
    }
}
