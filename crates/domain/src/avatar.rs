//! Profile pictures, judged by their bytes.

use crate::DomainError;

/// An image format accepted as an avatar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
}

impl AvatarFormat {
    /// The media type served back.
    pub fn content_type(&self) -> &'static str {
        match self {
            AvatarFormat::Png => "image/png",
            AvatarFormat::Jpeg => "image/jpeg",
            AvatarFormat::Webp => "image/webp",
        }
    }

    /// The file extension stored.
    pub fn extension(&self) -> &'static str {
        match self {
            AvatarFormat::Png => "png",
            AvatarFormat::Jpeg => "jpg",
            AvatarFormat::Webp => "webp",
        }
    }
}

/// Why some bytes are not an acceptable avatar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    /// Larger than the configured cap.
    #[error("the image is too large")]
    TooLarge,
    /// Not PNG, JPEG or WebP, whatever its name or declared type says.
    #[error("only PNG, JPEG and WebP images are accepted")]
    UnsupportedType,
    /// The header is readable but the dimensions are not sane.
    #[error("{0}")]
    Invalid(DomainError),
}

/// An avatar image whose format was decided from its content (magic bytes), never from a file
/// name or a client's `Content-Type`, and whose dimensions are within bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    format: AvatarFormat,
    width: usize,
    height: usize,
    bytes: Vec<u8>,
}

impl Avatar {
    /// The default cap on an avatar upload (`GATEHOUSE_AVATAR_MAX_BYTES`): 2 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 2 * 1024 * 1024;
    /// Largest accepted width or height, in pixels.
    pub const MAX_SIDE: usize = 4096;

    /// Inspects uploaded bytes, refusing more than `max_bytes` of them.
    pub fn inspect(bytes: Vec<u8>, max_bytes: usize) -> Result<Self, AvatarError> {
        if bytes.len() > max_bytes {
            return Err(AvatarError::TooLarge);
        }
        let format = match imagesize::image_type(&bytes) {
            Ok(imagesize::ImageType::Png) => AvatarFormat::Png,
            Ok(imagesize::ImageType::Jpeg) => AvatarFormat::Jpeg,
            Ok(imagesize::ImageType::Webp) => AvatarFormat::Webp,
            _ => return Err(AvatarError::UnsupportedType),
        };
        let size = imagesize::blob_size(&bytes).map_err(|_| {
            AvatarError::Invalid(DomainError::new("file", "the image header is corrupt"))
        })?;
        let sides = 1..=Self::MAX_SIDE;
        if !sides.contains(&size.width) || !sides.contains(&size.height) {
            return Err(AvatarError::Invalid(DomainError::new(
                "file",
                format!(
                    "the image must be 1 to {} pixels on each side",
                    Self::MAX_SIDE
                ),
            )));
        }
        Ok(Self {
            format,
            width: size.width,
            height: size.height,
            bytes,
        })
    }

    /// The detected format.
    pub fn format(&self) -> AvatarFormat {
        self.format
    }

    /// Width and height in pixels.
    pub fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The file content.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG signature and IHDR chunk declaring `width` x `height`.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn a_png_is_recognised_by_its_bytes() {
        let avatar = Avatar::inspect(png_header(64, 32), Avatar::DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(avatar.format(), AvatarFormat::Png);
        assert_eq!(avatar.dimensions(), (64, 32));
    }

    #[test]
    fn other_formats_and_text_are_refused_whatever_they_claim() {
        assert_eq!(
            Avatar::inspect(
                b"GIF89a\x01\0\x01\0\0\0\0".to_vec(),
                Avatar::DEFAULT_MAX_BYTES
            ),
            Err(AvatarError::UnsupportedType)
        );
        assert_eq!(
            Avatar::inspect(
                b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
                Avatar::DEFAULT_MAX_BYTES
            ),
            Err(AvatarError::UnsupportedType)
        );
        assert_eq!(
            Avatar::inspect(Vec::new(), Avatar::DEFAULT_MAX_BYTES),
            Err(AvatarError::UnsupportedType)
        );
    }

    #[test]
    fn absurd_dimensions_and_oversized_files_are_refused() {
        assert!(matches!(
            Avatar::inspect(png_header(100_000, 10), Avatar::DEFAULT_MAX_BYTES),
            Err(AvatarError::Invalid(_))
        ));
        assert!(matches!(
            Avatar::inspect(png_header(0, 10), Avatar::DEFAULT_MAX_BYTES),
            Err(AvatarError::Invalid(_))
        ));
        let mut huge = png_header(10, 10);
        huge.resize(Avatar::DEFAULT_MAX_BYTES + 1, 0);
        assert_eq!(
            Avatar::inspect(huge, Avatar::DEFAULT_MAX_BYTES),
            Err(AvatarError::TooLarge)
        );
    }
}
