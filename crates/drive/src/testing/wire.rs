//! Google's error bodies and `fields` selection, as the Drive API answers.

use super::*;

pub(super) fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "code": status.as_u16(),
        "message": message,
        "errors": [{"message": message, "domain": if status == StatusCode::TOO_MANY_REQUESTS || reason.contains("RateLimit") { "usageLimits" } else { "global" }, "reason": reason}],
    }});
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// `fields=nextPageToken,files(id,name)`: the top-level names and, per parenthesised part,
/// the names inside it.
pub(super) fn parse_fields(fields: &str) -> HashMap<String, Option<HashSet<String>>> {
    let mut out = HashMap::new();
    let mut depth = 0;
    let mut start = 0;
    let bytes = fields.as_bytes();
    let mut parts = vec![];
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&fields[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&fields[start..]);
    for p in parts {
        let p = p.trim();
        match p.split_once('(') {
            Some((name, inner)) => {
                let inner = inner.trim_end_matches(')');
                out.insert(
                    name.trim().to_string(),
                    Some(inner.split(',').map(|s| s.trim().to_string()).collect()),
                );
            }
            None if !p.is_empty() => {
                out.insert(p.to_string(), None);
            }
            None => {}
        }
    }
    out
}

pub(super) fn select(v: &Value, keep: Option<&HashSet<String>>) -> Value {
    match (v, keep) {
        (Value::Object(m), Some(keep)) if !keep.contains("*") => Value::Object(
            m.iter()
                .filter(|(k, _)| keep.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => v.clone(),
    }
}

pub(super) type Q = Query<HashMap<String, String>>;
