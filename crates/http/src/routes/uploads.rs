//! Reading one file out of a `multipart/form-data` body, under a size cap.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use gatehouse_domain::Avatar;

use crate::ApiError;

/// The bytes of multipart field `name`. Reading stops as soon as the field passes the avatar
/// cap (413), so a huge upload costs the server no more than the cap.
pub(crate) async fn read_file_field(
    req: &HttpRequest,
    payload: web::Payload,
    name: &str,
) -> Result<Vec<u8>, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be multipart/form-data.",
        ));
    }
    let malformed = || ApiError::validation(name, "the multipart body is malformed");
    let mut multipart = Multipart::new(req.headers(), payload);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| malformed())?;
        let wanted = field.name() == Some(name);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| malformed())?;
            if bytes.len() + chunk.len() > Avatar::MAX_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The file is larger than 2 MiB.",
                ));
            }
            if wanted {
                bytes.extend_from_slice(&chunk);
            }
        }
        if wanted {
            return Ok(bytes);
        }
    }
    Err(ApiError::validation(name, "this field is required"))
}
