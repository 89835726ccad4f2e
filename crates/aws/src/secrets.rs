//! Secrets Manager: a JSON secret read once per cold start (API tokens, Drive credentials).

use aws_sdk_secretsmanager::Client;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} cannot be read: {1}")]
    Unreadable(String, String),
    #[error("secret {0} is not JSON: {1}")]
    NotJson(String, String),
}

/// The secret's JSON value.
pub async fn read_json(client: &Client, id: &str) -> Result<serde_json::Value, SecretError> {
    let r = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Unreadable(id.to_string(), crate::describe(&e)))?;
    let text = r.secret_string().unwrap_or("{}");
    serde_json::from_str(text).map_err(|e| SecretError::NotJson(id.to_string(), e.to_string()))
}

/// The principal of an API token, from a secret shaped `{"tokens": {"TOKEN": "principal"}}`.
pub fn principal_of(secret: &serde_json::Value, token: &str) -> Option<String> {
    let tokens = secret.get("tokens")?.as_object()?;
    let mut found = None;
    // Compared in constant time each, every one of them.
    for (t, p) in tokens {
        let same = t.len() == token.len()
            && t.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            found = p.as_str().map(str::to_string);
        }
    }
    found
}
