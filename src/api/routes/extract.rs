//! Request bodies as the routes take them, refused with Wazuh's errors: JSON (for routes with
//! no query parameters but the common ones) and text of a declared content type.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;

/// The whole body (the guard has already held it to `max_upload_size`).
async fn bytes(request: Request) -> ApiResult<(HeaderMap, axum::body::Bytes)> {
    let (parts, body) = request.into_parts();
    let bytes =
        axum::body::to_bytes(body, usize::MAX).await.map_err(|_| ApiError::bad_request("cannot read the body"))?;
    Ok((parts.headers, bytes))
}

/// Whether the request says its body is `expected`.
fn content_type_is(headers: &HeaderMap, expected: &str) -> ApiResult<()> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with(expected) {
        Ok(())
    } else {
        Err(ApiError::wrong_content_type("The body type is not the one specified in the content-type"))
    }
}

/// Parses a JSON body, refusing what is not JSON with Wazuh's errors.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> ApiResult<T> {
    content_type_is(headers, "application/json")?;
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")).with_code(1018))
}

/// A JSON body of a route that takes no query parameters of its own.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        Params::accept(request.uri().query(), &[])?;
        let (headers, body) = bytes(request).await?;
        json_body(&headers, &body).map(JsonBody)
    }
}

/// A UTF-8 body sent as `application/octet-stream` (files, `ossec.conf`).
pub struct OctetText(pub String);

/// A UTF-8 body sent as `application/xml` (`agent.conf`).
pub struct XmlText(pub String);

/// The body as text, when the request declares `content_type`.
async fn text(request: Request, content_type: &str) -> ApiResult<String> {
    let (headers, body) = bytes(request).await?;
    content_type_is(&headers, content_type)?;
    if body.is_empty() {
        return Err(ApiError::wazuh(1912, "Body is empty"));
    }
    String::from_utf8(body.to_vec()).map_err(|_| ApiError::wazuh(1911, "Error parsing body request to UTF-8"))
}

impl<S: Send + Sync> FromRequest<S> for OctetText {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        text(request, "application/octet-stream").await.map(OctetText)
    }
}

impl<S: Send + Sync> FromRequest<S> for XmlText {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        text(request, "application/xml").await.map(XmlText)
    }
}
