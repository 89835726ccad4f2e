//! Pictures as one-page PDFs, for a reader that takes PDFs larger than pictures.

use super::*;

/// A picture file as a one-page PDF showing it, for a reader that takes PDFs of any size but
/// pictures only up to one (Textract: 10 MB for a PNG or JPEG, 500 MB for a PDF). A gray or RGB
/// JPEG of at most `max_side` pixels a side goes in as it is; any other picture as 8-bit gray,
/// made smaller if need be to `max_side`. The page is the picture at 300 dpi, made smaller if
/// need be so that no side is over `max_inches`.
pub fn picture_as_pdf(
    bytes: &[u8],
    max_inches: f32,
    max_side: usize,
) -> Result<Vec<u8>, ExtractError> {
    use lopdf::dictionary;
    let jpeg = match raster_kind(bytes) {
        Some(RasterKind::Jpeg) => {
            let mut dec = JpegDecoder::new(ZCursor::new(bytes));
            dec.decode_headers().map_err(bad)?;
            let info = dec.info().ok_or_else(|| bad("no size"))?;
            let (w, h) = (info.width as i64, info.height as i64);
            match info.components {
                _ if w.max(h) as usize > max_side => None,
                1 => Some((w, h, "DeviceGray")),
                3 => Some((w, h, "DeviceRGB")),
                _ => None,
            }
        }
        Some(_) => None,
        None => return Err(ExtractError::NotPdf("not a picture".into())),
    };
    match jpeg {
        Some((w, h, space)) => {
            let image = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                    "ColorSpace" => space, "BitsPerComponent" => 8, "Filter" => "DCTDecode",
                },
                bytes.to_vec(),
            );
            one_picture_pdf(image, (w, h), 300.0, max_inches)
        }
        None => {
            let g = raster_page(bytes, 1)?.ok_or_else(|| bad("no picture"))?;
            gray_as_pdf(g, max_inches, max_side)
        }
    }
}

/// A gray picture as a one-page PDF showing it at its resolution (300 dpi when not known), made
/// smaller if need be so that no side is over `max_inches`, and its picture so that no side is
/// over `max_side` pixels.
pub fn gray_as_pdf(g: Gray, max_inches: f32, max_side: usize) -> Result<Vec<u8>, ExtractError> {
    use lopdf::dictionary;
    // Made smaller, the picture keeps its size on the page: its resolution goes down.
    let dpi = if g.dpi > 0.0 { g.dpi } else { 300.0 };
    let g = Gray { dpi, ..g }.fit_within(max_side);
    let mut z = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::fast());
    std::io::Write::write_all(&mut z, &g.data).map_err(bad)?;
    let data = z.finish().map_err(bad)?;
    let (w, h) = (g.width as i64, g.height as i64);
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
        },
        data,
    );
    one_picture_pdf(image, (w, h), g.dpi, max_inches)
}

/// A one-page PDF showing `image` (`size` pixels) at `dpi`, or smaller so that no side is
/// over `max_inches`.
pub(super) fn one_picture_pdf(
    image: Stream,
    (w, h): (i64, i64),
    dpi: f32,
    max_inches: f32,
) -> Result<Vec<u8>, ExtractError> {
    let longest = w.max(h).max(1) as f32;
    let inches_per_px = (1.0 / dpi).min(max_inches / longest);
    let (pw, ph) = (
        w as f32 * inches_per_px * 72.0,
        h as f32 * inches_per_px * 72.0,
    );
    let content = format!("q {pw:.3} 0 0 {ph:.3} 0 0 cm /Im0 Do Q").into_bytes();
    picture_page_pdf(image, content, (pw, ph), 0)
}

/// A one-page PDF of `size` points, turned by `rotate`, whose `content` draws `image` as `/Im0`.
pub(super) fn picture_page_pdf(
    image: Stream,
    content: Vec<u8>,
    (pw, ph): (f32, f32),
    rotate: i64,
) -> Result<Vec<u8>, ExtractError> {
    use lopdf::{dictionary, Document};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let image = doc.add_object(image);
    let content = doc.add_object(Stream::new(dictionary! {}, content));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(pw), Object::Real(ph)],
        "Rotate" => rotate,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
        "Contents" => content,
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = vec![];
    doc.save_to(&mut out).map_err(bad)?;
    Ok(out)
}
