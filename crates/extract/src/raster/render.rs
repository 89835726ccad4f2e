//! Vector pages without any image, rendered for OCR.

use super::*;

/// Resolution vector pages are rendered at for OCR.
#[cfg(feature = "render")]
pub const RENDER_DPI: f32 = 300.0;
#[cfg(feature = "render")]
/// Largest rendering (an A0 sheet at 300 dpi is 139 million pixels): bigger pages are rendered
/// at a lower resolution.
pub(super) const RENDER_MAX_PIXELS: f32 = 150_000_000.0;
#[cfg(feature = "render")]
/// Rows rendered at once: the full page is only ever held in gray, one byte a pixel.
pub(super) const STRIP: u16 = 512;

#[cfg(feature = "render")]
/// Page `n` (1-based) rendered upright in gray at about `dpi`, by hayro (a PDF renderer in Rust),
/// one strip of rows at a time. None when the page cannot be rendered.
pub fn render_page(bytes: &[u8], n: u32, dpi: f32) -> Option<Gray> {
    use hayro::hayro_interpret::util::TransformExt;
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::kurbo::Affine;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};

    let pdf = Pdf::new(std::sync::Arc::new(bytes.to_vec())).ok()?;
    let page = pdf.pages().get(usize::try_from(n).ok()?.checked_sub(1)?)?;
    let (wpt, hpt) = page.render_dimensions();
    if !(wpt > 1.0 && hpt > 1.0) {
        return None;
    }
    let mut scale = dpi / 72.0;
    let pixels = wpt * hpt * scale * scale;
    if pixels > RENDER_MAX_PIXELS {
        scale *= (RENDER_MAX_PIXELS / pixels).sqrt();
    }
    let (w, h) = ((wpt * scale) as usize, (hpt * scale) as usize);
    let width = u16::try_from(w).ok()?;
    u16::try_from(h).ok()?;
    let cache = hayro::RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let settings = hayro::RenderSettings::default();
    let base = Affine::scale(scale as f64) * page.initial_transform(true).to_kurbo();
    let mut data = Vec::with_capacity(w * h);
    let mut ctx = RenderContext::new(width, STRIP);
    let mut pixmap = Pixmap::new(width, STRIP);
    let mut resources = Resources::default();
    let mut y0 = 0usize;
    while y0 < h {
        let rows = (h - y0).min(STRIP as usize);
        ctx.reset_and_resize(width, rows as u16);
        pixmap.resize(width, rows as u16);
        let transform = Affine::translate((0.0, -(y0 as f64))) * base;
        // A renderer's bug on a hostile file must not take the reader down with it.
        let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hayro::render_into(page, &cache, &interpreter, &settings, &mut ctx, transform);
            ctx.flush();
            ctx.render_with(
                &mut pixmap,
                &mut resources,
                RasterizerSettings {
                    target_init: TargetInit::Clear(WHITE),
                    ..Default::default()
                },
            );
        }));
        if drawn.is_err() {
            return None;
        }
        data.extend(
            pixmap
                .data_as_u8_slice()
                .chunks_exact(4)
                .take(w * rows)
                .map(|p| luma(&Space::Rgb, p)),
        );
        y0 += rows;
    }
    Some(Gray {
        width: w,
        height: h,
        data,
        dpi: scale * 72.0,
    })
}
