//! Reading a project file's JSON so that an error says where it is in words: the field's path
//! with the node's name (`graph.nodes[3] (hidden1).layer.units`), not only the line and column
//! (which, inside a layer, serde reports at the layer's closing brace).

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::LoadError;

/// Deserialises `text`, tracking the path to an error and naming the node it falls in.
pub(super) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| invalid(text, error.inner(), Some(error.path())))?;
    // Anything after the project is an error too, at its own place.
    deserializer
        .end()
        .map_err(|error| invalid(text, &error, None))?;
    Ok(value)
}

fn invalid(
    text: &str,
    error: &serde_json::Error,
    path: Option<&serde_path_to_error::Path>,
) -> LoadError {
    let message = error
        .to_string()
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .to_string();
    // Only a file that is valid JSON has names to look up; a syntax error has its line.
    let document = serde_json::from_str::<Value>(text).ok();
    LoadError::Invalid {
        line: error.line(),
        column: error.column(),
        path: path.map_or_else(String::new, |p| {
            describe_path(p, document.as_ref(), &message)
        }),
        message,
    }
}

/// `graph.nodes[3] (hidden1).layer.units`: the path serde tracked, the name of each node it
/// passes through, and the field an internally tagged enum's error leaves out.
fn describe_path(
    path: &serde_path_to_error::Path,
    document: Option<&Value>,
    message: &str,
) -> String {
    use serde_path_to_error::Segment;
    let mut text = String::new();
    let mut at = document;
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                text.push_str(&format!("[{index}]"));
                at = at.and_then(|v| v.get(index));
                if let Some(name) = at.and_then(|v| v.get("name")).and_then(Value::as_str)
                    && text.ends_with(&format!("nodes[{index}]"))
                {
                    text.push_str(&format!(" ({name})"));
                }
            }
            Segment::Map { key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
                at = at.and_then(|v| v.get(key));
            }
            Segment::Enum { variant } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(variant);
            }
            Segment::Unknown => {
                text.push_str(".?");
                at = None;
            }
        }
    }
    if let Some(field) = at.and_then(|v| field_meant(v, message)) {
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str(&field);
    }
    text
}

/// The one field of `object` whose value an error describes ("invalid type: string \"x\"",
/// "unknown variant `relux`"). serde buffers an internally tagged enum (a layer, an optimizer)
/// before reading it, so its errors lose the field's name; the value in the message finds it.
fn field_meant(object: &Value, message: &str) -> Option<String> {
    let object = object.as_object()?;
    let unexpected = if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        rest.split(", expected").next()?.to_string()
    } else {
        let variant = message
            .strip_prefix("unknown variant `")?
            .split('`')
            .next()?;
        format!("string {variant:?}")
    };
    let mut matches = object
        .iter()
        .filter(|(_, value)| describe(value).contains(&unexpected));
    match (matches.next(), matches.next()) {
        (Some((key, _)), None) => Some(key.clone()),
        _ => None,
    }
}

/// How serde's `Unexpected` writes a JSON value, in each spelling it may use.
fn describe(value: &Value) -> Vec<String> {
    match value {
        Value::Null => vec!["null".into(), "unit value".into()],
        Value::Bool(b) => vec![format!("boolean `{b}`")],
        Value::Number(n) => {
            let mut spellings = Vec::new();
            if let Some(i) = n.as_i64() {
                spellings.push(format!("integer `{i}`"));
            } else if let Some(u) = n.as_u64() {
                spellings.push(format!("integer `{u}`"));
            }
            if let Some(f) = n.as_f64() {
                let mut text = f.to_string();
                if f.is_finite() && !text.contains(['.', 'e', 'E']) {
                    text.push_str(".0");
                }
                spellings.push(format!("floating point `{text}`"));
            }
            spellings
        }
        Value::String(s) => vec![format!("string {s:?}")],
        Value::Array(_) => vec!["sequence".into()],
        Value::Object(_) => vec!["map".into()],
    }
}
