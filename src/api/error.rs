//! Error answers in Wazuh's problem+json shape: `{title, detail, remediation?, error}` with the
//! HTTP status and Wazuh's numeric code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Wazuh's content type for errors.
pub const PROBLEM_JSON: &str = "application/problem+json; charset=utf-8";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short title.
    pub title: &'static str,
    /// What went wrong.
    pub detail: String,
    /// Wazuh's numeric code, when it has one.
    pub code: Option<u32>,
    /// What to do about it.
    pub remediation: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>, code: Option<u32>) -> Self {
        Self { status, title, detail: detail.into(), code, remediation: None }
    }

    /// 400 with a validation message.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", detail, None)
    }

    /// 400 with a Wazuh code.
    pub fn wazuh(code: u32, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", detail, Some(code))
    }

    /// 401: no token, a bad one, or bad credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail, None)
    }

    /// 403 code 4000: the user's policies do not allow it.
    pub fn permission_denied(detail: impl Into<String>) -> Self {
        Self {
            remediation: Some(
                "Please, make sure you have permissions to execute the current request. For more information on how \
                 to set up permissions, please visit https://documentation.wazuh.com/4.14/user-manual/api/rbac/\
                 configuration.html",
            ),
            ..Self::new(StatusCode::FORBIDDEN, "Permission Denied", detail, Some(4000))
        }
    }

    /// 403 code 6000: too many failed logins from this address.
    pub fn blocked() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Permission Denied",
            "Limit of login attempts reached. The current IP has been blocked due to a high number of login attempts",
            Some(6000),
        )
    }

    /// 429 code 6001: over the per-client request rate.
    pub fn too_many_requests() -> Self {
        Self {
            remediation: Some("This limit can be changed with <max_request_per_minute> in the <api> section"),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Maximum number of requests per minute reached",
                Some(6001),
            )
        }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", detail, None)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", "Method Not Allowed", None)
    }

    /// 406 code 6002: the body is not what the content type says.
    pub fn wrong_content_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "Not Acceptable", detail, Some(6002))
    }

    /// 413: over `max_upload_size`.
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content size exceeded.",
            format!("Maximum content size limit ({limit}) exceeded"),
            None,
        )
    }

    /// 500 code 3021: the request ran past `request_timeout` without `wait_for_complete`.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "Timeout executing API request",
            Some(3021),
        )
    }

    /// 500 code 1000 with the cause (logged, never a secret).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(stage = "api", "internal error: {detail}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Wazuh Internal Error", detail.to_string(), Some(1000))
    }

    /// Sets the remediation.
    pub fn with_remediation(mut self, remediation: &'static str) -> Self {
        self.remediation = Some(remediation);
        self
    }

    /// Sets Wazuh's code.
    pub fn with_code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "title": self.title, "detail": self.detail });
        if let Some(r) = self.remediation {
            body["remediation"] = r.into();
        }
        if let Some(code) = self.code {
            body["error"] = code.into();
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<super::rbac::SecurityError> for ApiError {
    fn from(e: super::rbac::SecurityError) -> Self {
        Self::internal(e)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
