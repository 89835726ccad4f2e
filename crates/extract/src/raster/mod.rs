//! The picture of a scanned page, for OCR: the page's largest image, decoded to 8-bit gray and
//! placed as the page shows it: turned or mirrored by the matrix it is drawn with, then turned by
//! the page's `/Rotate`. Scans are one image per page: a scanner's JPEG, a fax
//! coded sheet, or raw samples under Flate or LZW (with or without predictors; 1 to 16 bits;
//! gray, RGB, CMYK, ICC-based or indexed colour).

use lopdf::{Dictionary, Object, Stream};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::interp::{Interp, Matrix, IDENTITY};
use crate::{doc, load, page_list, ExtractError, Limits};

mod ccitt;
mod files;
mod gray;
mod image;
mod jpeg;
mod page;
mod pdf_out;
#[cfg(feature = "render")]
mod render;
mod samples;
#[cfg(test)]
mod tests;

pub use files::{raster_kind, raster_page_sizes, raster_pages, RasterKind};
pub use gray::{pgm_header, Gray};
pub use page::{page_images, page_inches};
pub use pdf_out::{gray_as_pdf, picture_as_pdf};
#[cfg(feature = "render")]
pub use render::{render_page, RENDER_DPI};

use ccitt::*;
use files::*;
use image::*;
use jpeg::*;
#[cfg(test)]
use pdf_out::*;
use samples::*;
