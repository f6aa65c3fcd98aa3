//! Bodies of calendar answers (ICS feeds, CalDAV multistatus), read with a
//! cap: a server that sends without end fails its read instead of filling
//! the adapter's memory.

/// The most one answer may hold. A busy practice's calendar over a year is a
/// few hundred KiB; ten MiB leaves room and still bounds memory.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("reading the answer failed ({0})")]
    Broken(reqwest::Error),
}

/// The body as text (invalid UTF-8 replaced), read chunk by chunk until the
/// end or until it passes `limit` bytes.
pub async fn body_text(mut response: reqwest::Response, limit: usize) -> Result<String, BodyError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| BodyError::Broken(error.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
