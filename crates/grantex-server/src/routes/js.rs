//! The hosted server is JavaScript: its checks on query strings and bodies follow
//! JavaScript's rules (a repeated query parameter is an array, `!value` is false for
//! `0` and `""`, `parseInt("12abc")` is 12, `JSON.stringify(1.0)` is `1`). These
//! helpers reproduce what the routes rely on.

use serde_json::{Number, Value};

/// One query parameter as the hosted framework parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Param {
    Absent,
    One(String),
    /// Given more than once: an array, which fails every "one of" check.
    Many(Vec<String>),
}

/// The parameter `name` of a query string.
pub(super) fn param(query: Option<&str>, name: &str) -> Param {
    let mut values: Vec<String> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .collect();
    match values.len() {
        0 => Param::Absent,
        1 => Param::One(values.pop().unwrap_or_default()),
        _ => Param::Many(values),
    }
}

/// JavaScript's truthiness of a JSON value (`None`: the property is absent).
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// `typeof value === 'object'` for a truthy value: an object or an array.
pub(super) fn is_object_like(value: &Value) -> bool {
    matches!(value, Value::Object(_) | Value::Array(_))
}

/// `parseInt(s, 10)`: leading whitespace, an optional sign, then the longest run of
/// decimal digits; `None` (NaN) without digits. Saturates far beyond any limit.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: &str = &digits[..digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len())];
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// The `limit` of the alert list: `Math.min(Math.max(parseInt(limit ?? '100', 10) ||
/// 100, 1), 1000)`. A repeated parameter is an array, which `parseInt` reads as its
/// values joined by commas (so, the first one).
pub(super) fn list_limit(limit: &Param) -> usize {
    let parsed = match limit {
        Param::Absent => None,
        Param::One(s) => parse_int(s),
        Param::Many(values) => parse_int(&values.join(",")),
    };
    // `|| 100`: NaN and 0 (and -0) fall back to the default.
    let n = parsed.filter(|&n| n != 0).unwrap_or(100);
    n.clamp(1, 1000) as usize
}

/// The value as `JSON.stringify` would write it back after `JSON.parse`: numbers
/// with an integral value lose their fraction (`1.0` → `1`), the rest as given.
pub(super) fn normalized(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::Number(normalized_number(n)),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalized(v))).collect())
        }
        other => other,
    }
}

fn normalized_number(n: Number) -> Number {
    if n.is_f64() {
        if let Some(f) = n.as_f64() {
            // Integral and exactly representable: JavaScript prints it without a
            // fraction (up to 1e21, where it switches to exponent notation).
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                return Number::from(f as i64);
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params() {
        assert_eq!(param(None, "status"), Param::Absent);
        assert_eq!(
            param(Some("status=open"), "status"),
            Param::One("open".into())
        );
        assert_eq!(param(Some("status="), "status"), Param::One(String::new()));
        assert_eq!(
            param(Some("status=a&x=1&status=b"), "status"),
            Param::Many(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            param(Some("agentId=a+b%21"), "agentId"),
            Param::One("a b!".into())
        );
    }

    #[test]
    fn parse_int_like_javascript() {
        assert_eq!(parse_int("12"), Some(12));
        assert_eq!(parse_int("  7"), Some(7));
        assert_eq!(parse_int("12abc"), Some(12));
        assert_eq!(parse_int("3.9"), Some(3));
        assert_eq!(parse_int("1e3"), Some(1));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn limits() {
        let one = |s: &str| list_limit(&Param::One(s.to_owned()));
        assert_eq!(list_limit(&Param::Absent), 100);
        assert_eq!(one("2"), 2);
        assert_eq!(one("0"), 100);
        assert_eq!(one("-0"), 100);
        assert_eq!(one("-5"), 1);
        assert_eq!(one("abc"), 100);
        assert_eq!(one("5000"), 1000);
        assert_eq!(one("1000"), 1000);
        assert_eq!(list_limit(&Param::Many(vec!["3".into(), "9".into()])), 3);
    }

    #[test]
    fn truthiness() {
        assert!(!truthy(None));
        for falsy in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(Some(&falsy)), "{falsy}");
        }
        for t in [json!(true), json!(1), json!("x"), json!([]), json!({})] {
            assert!(truthy(Some(&t)), "{t}");
        }
    }

    #[test]
    fn numbers_as_javascript_writes_them() {
        let v = normalized(json!({"a": 1.0, "b": [2.5, -3.0], "c": "1.0", "d": 7}));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":1,"b":[2.5,-3],"c":"1.0","d":7}"#
        );
    }
}
