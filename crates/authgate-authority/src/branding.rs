//! Operator branding: the accent colour of the person-facing pages, checked
//! for legible contrast (WCAG 2.x AA, 4.5:1) where the pages use it.

use crate::config::{Config, ConfigError};

/// The light theme's card (links on it) and the button text on the accent.
const LIGHT_BACKGROUND: (u8, u8, u8) = (0xff, 0xff, 0xff);
/// The dark theme's card (see `assets/authgate.css`): links on it, and the
/// dark button text on the accent.
const DARK_BACKGROUND: (u8, u8, u8) = (0x18, 0x1c, 0x22);
/// WCAG AA for normal text.
const MIN_CONTRAST: f64 = 4.5;

/// `#rgb` or `#rrggbb`, case-insensitive.
pub fn parse_hex(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.strip_prefix('#')?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize, n: usize| u8::from_str_radix(h.get(i..i + n)?, 16).ok();
    match h.len() {
        3 => Some((digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
        6 => Some((digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        _ => None,
    }
}

fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// The WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

fn check(
    key: &str,
    value: &str,
    against: (u8, u8, u8),
    theme: &str,
) -> Result<String, ConfigError> {
    let rgb = parse_hex(value).ok_or_else(|| {
        ConfigError::new(key, format!("{value:?} is not a colour like \"#1f5fbf\""))
    })?;
    let ratio = contrast(rgb, against);
    if ratio < MIN_CONTRAST {
        return Err(ConfigError::new(
            key,
            format!(
                "{value} has contrast {ratio:.2}:1 against the {theme} theme's background; WCAG AA needs {MIN_CONTRAST}:1"
            ),
        ));
    }
    let (r, g, b) = rgb;
    Ok(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// The validated accent colours, normalised to `#rrggbb`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Colors {
    pub light: Option<String>,
    pub dark: Option<String>,
}

/// `primary_color` must be legible on white (and under white button text);
/// `primary_color_dark` on the dark theme's background.
pub fn validate(raw: &Config) -> Result<Colors, ConfigError> {
    Ok(Colors {
        light: raw
            .primary_color
            .as_deref()
            .map(|v| check("primary_color", v, LIGHT_BACKGROUND, "light"))
            .transpose()?,
        dark: raw
            .primary_color_dark
            .as_deref()
            .map(|v| check("primary_color_dark", v, DARK_BACKGROUND, "dark"))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(light: Option<&str>, dark: Option<&str>) -> Config {
        Config {
            primary_color: light.map(str::to_owned),
            primary_color_dark: dark.map(str::to_owned),
            ..Config::default()
        }
    }

    #[test]
    fn colours_parse_and_normalise() {
        assert_eq!(parse_hex("#FFF"), Some((255, 255, 255)));
        assert_eq!(parse_hex("#1f5fbf"), Some((0x1f, 0x5f, 0xbf)));
        for bad in [
            "1f5fbf",
            "#1f5fb",
            "#gggggg",
            "#",
            "",
            "#1f5fbf00",
            "red",
            "#é12",
        ] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
        let c = validate(&cfg(Some("#1F5FBF"), Some("#8AB4F8"))).ok();
        assert_eq!(
            c,
            Some(Colors {
                light: Some("#1f5fbf".into()),
                dark: Some("#8ab4f8".into())
            })
        );
        assert_eq!(validate(&cfg(None, None)).ok(), Some(Colors::default()));
    }

    #[test]
    fn low_contrast_is_a_config_error_naming_the_key() {
        let e = validate(&cfg(Some("#ffeb3b"), None))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("primary_color") && e.contains("contrast")),
            "{e:?}"
        );
        let e = validate(&cfg(None, Some("#1f5fbf")))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("primary_color_dark")),
            "{e:?}"
        );
        let e = validate(&cfg(Some("blue"), None))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("primary_color")),
            "{e:?}"
        );
        // Black on white is 21:1.
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 0.01);
    }
}
