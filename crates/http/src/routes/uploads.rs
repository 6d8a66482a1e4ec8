//! Reading one file out of a `multipart/form-data` body, under a cap on the whole body.

use std::cell::Cell;
use std::rc::Rc;

use actix_multipart::Multipart;
use actix_web::error::PayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use gatehouse_application::AppError;

use crate::ApiError;

fn too_large() -> ApiError {
    AppError::PayloadTooLarge.into()
}

/// The bytes of multipart field `name`. Every byte of the body counts against `cap`,
/// whatever field carries it: a declared length past the cap is refused before anything is
/// read, and reading stops (413) the moment the count passes it, so a huge upload costs the
/// server no more than the cap.
pub(crate) async fn read_file_field(
    req: &HttpRequest,
    payload: web::Payload,
    name: &str,
    cap: usize,
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
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap as u64) {
        return Err(too_large());
    }
    let overflowed = Rc::new(Cell::new(false));
    let counted = {
        let (overflowed, mut seen) = (overflowed.clone(), 0usize);
        payload.map(move |chunk| {
            let chunk = chunk?;
            seen = seen.saturating_add(chunk.len());
            if seen > cap {
                overflowed.set(true);
                return Err(PayloadError::Overflow);
            }
            Ok(chunk)
        })
    };
    let failed = |overflowed: &Cell<bool>| {
        if overflowed.get() {
            too_large()
        } else {
            ApiError::validation(name, "the multipart body is malformed")
        }
    };
    let mut multipart = Multipart::new(req.headers(), counted);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| failed(&overflowed))?;
        let wanted = field.name() == Some(name);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| failed(&overflowed))?;
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
