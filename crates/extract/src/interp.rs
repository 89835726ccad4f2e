//! The content-stream interpreter: graphics and text state, text-showing operators, form
//! XObjects. It emits positioned glyphs in page space; everything else is skipped cheaply.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Object, ObjectId};

use crate::doc::Ctx;
use crate::font::{Decoded, Font};
use crate::lexer::{Lexer, Operand, Token};
use crate::ExtractError;

/// A glyph in page space.
#[derive(Debug, Clone, Copy)]
pub struct Glyph {
    pub ch: char,
    /// Origin on the baseline.
    pub x: f32,
    pub y: f32,
    /// Unit vector of the writing direction.
    pub dx: f32,
    pub dy: f32,
    /// Advance along the writing direction, character spacing included.
    pub adv: f32,
    /// Font size in page space.
    pub size: f32,
}

pub(crate) type Matrix = [f32; 6];

/// Where a form is drawn: under a content stream's CTM, or fitted into an annotation's rectangle.
enum Placement {
    Ctm(Matrix),
    Rect([f32; 4]),
}

/// The first N numbers of an array, when it has them.
fn numbers<const N: usize>(a: &[Object]) -> Option<[f32; N]> {
    let mut out = [0.0; N];
    for (slot, o) in out.iter_mut().zip(a) {
        *slot = match o {
            Object::Integer(i) => *i as f32,
            Object::Real(r) => *r,
            _ => return None,
        };
    }
    (a.len() >= N).then_some(out)
}
pub(crate) const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

pub(crate) fn mul(m1: &Matrix, m2: &Matrix) -> Matrix {
    [
        m1[0] * m2[0] + m1[1] * m2[2],
        m1[0] * m2[1] + m1[1] * m2[3],
        m1[2] * m2[0] + m1[3] * m2[2],
        m1[2] * m2[1] + m1[3] * m2[3],
        m1[4] * m2[0] + m1[5] * m2[2] + m2[4],
        m1[4] * m2[1] + m1[5] * m2[3] + m2[5],
    ]
}

#[derive(Clone)]
struct GState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f32,
    char_space: f32,
    word_space: f32,
    hscale: f32,
    leading: f32,
    rise: f32,
}

impl GState {
    fn new(ctm: Matrix) -> Self {
        GState {
            ctm,
            font: None,
            size: 0.0,
            char_space: 0.0,
            word_space: 0.0,
            hscale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

pub struct PageResult {
    pub glyphs: Vec<Glyph>,
    /// Images the page's own content draws, in order.
    pub images: Vec<ImageUse>,
}

/// An image drawn by a page: its name in the page's resources and the matrix in force at its
/// `Do` (which places the picture's unit square on the page).
pub struct ImageUse {
    pub name: Vec<u8>,
    pub ctm: Matrix,
}

pub struct Interp<'c, 'd> {
    ctx: &'c Ctx<'d>,
    fonts: HashMap<ObjectId, Rc<Font>>,
    glyphs: Vec<Glyph>,
    images: Vec<ImageUse>,
    ops: usize,
    forms: Vec<ObjectId>,
}

fn dict_get<'a>(
    ctx: &'a Ctx,
    d: &'a Dictionary,
    key: &[u8],
) -> Result<Option<&'a Object>, ExtractError> {
    match d.get(key) {
        Ok(o) => Ok(Some(ctx.resolve(o)?)),
        Err(_) => Ok(None),
    }
}

impl<'c, 'd> Interp<'c, 'd> {
    pub fn new(ctx: &'c Ctx<'d>) -> Self {
        Interp {
            ctx,
            fonts: HashMap::new(),
            glyphs: Vec::new(),
            images: Vec::new(),
            ops: 0,
            forms: Vec::new(),
        }
    }

    /// Runs one page's content, then its annotations' appearances.
    pub fn page(
        &mut self,
        page: &Dictionary,
        content: &[u8],
        resources: Option<&Dictionary>,
    ) -> Result<PageResult, ExtractError> {
        self.glyphs.clear();
        self.images.clear();
        self.ops = 0;
        self.run(content, resources, IDENTITY)?;
        self.annotations(page)?;
        Ok(PageResult {
            glyphs: std::mem::take(&mut self.glyphs),
            images: std::mem::take(&mut self.images),
        })
    }

    fn font(
        &mut self,
        resources: Option<&Dictionary>,
        name: &[u8],
    ) -> Result<Option<Rc<Font>>, ExtractError> {
        let ctx = self.ctx;
        let Some(res) = resources else {
            return Ok(None);
        };
        let Some(Object::Dictionary(fonts)) = dict_get(ctx, res, b"Font")? else {
            return Ok(None);
        };
        let Ok(entry) = fonts.get(name) else {
            return Ok(None);
        };
        let id = match entry {
            Object::Reference(id) => Some(*id),
            _ => None,
        };
        if let Some(f) = id.and_then(|id| self.fonts.get(&id)) {
            return Ok(Some(f.clone()));
        }
        let font = match ctx.resolve(entry)? {
            Object::Dictionary(d) => Rc::new(Font::load(ctx, d)?),
            _ => Rc::new(Font::empty()),
        };
        if let Some(id) = id {
            self.fonts.insert(id, font.clone());
        }
        Ok(Some(font))
    }

    fn run(
        &mut self,
        content: &[u8],
        resources: Option<&Dictionary>,
        base: Matrix,
    ) -> Result<(), ExtractError> {
        let ctx = self.ctx;
        let limits = ctx.limits;
        let mut gs = GState::new(base);
        let mut stack: Vec<GState> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut args: Vec<Operand> = Vec::with_capacity(8);
        for tok in Lexer::new(content) {
            let op = match tok {
                Token::Operand(o) => {
                    // Operators take at most six operands; more is junk we need not keep.
                    if args.len() < 16 {
                        args.push(o);
                    }
                    continue;
                }
                Token::InlineImage => {
                    args.clear();
                    continue;
                }
                Token::Op(op) => op,
            };
            self.ops += 1;
            if self.ops > limits.max_ops_per_page {
                return Err(ExtractError::LimitExceeded(format!(
                    "more than {} operators on one page",
                    limits.max_ops_per_page
                )));
            }
            if self.ops.is_multiple_of(65_536) {
                ctx.check_time()?;
            }
            let n = |i: usize| args.get(i).and_then(Operand::num).unwrap_or(0.0);
            match op {
                b"q" if stack.len() < 4096 => stack.push(gs.clone()),
                b"Q" => {
                    if let Some(g) = stack.pop() {
                        gs = g;
                    }
                }
                b"cm" if args.len() >= 6 => {
                    let m = [n(0), n(1), n(2), n(3), n(4), n(5)];
                    gs.ctm = mul(&m, &gs.ctm);
                }
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tf" => {
                    if let Some(Operand::Name(name)) = args.first() {
                        gs.font = Some(
                            self.font(resources, name)?
                                .unwrap_or_else(|| Rc::new(Font::empty())),
                        );
                    }
                    gs.size = n(1);
                }
                b"Tc" => gs.char_space = n(0),
                b"Tw" => gs.word_space = n(0),
                b"Tz" => gs.hscale = n(0) / 100.0,
                b"TL" => gs.leading = n(0),
                b"Ts" => gs.rise = n(0),
                b"Td" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &tlm);
                    tm = tlm;
                }
                b"TD" => {
                    gs.leading = -n(1);
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &tlm);
                    tm = tlm;
                }
                b"Tm" if args.len() >= 6 => {
                    tlm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                    tm = tlm;
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(Operand::Str(s)) = args.first() {
                        self.show(&gs, &mut tm, s)?;
                    }
                }
                b"'" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                    if let Some(Operand::Str(s)) = args.first() {
                        self.show(&gs, &mut tm, s)?;
                    }
                }
                b"\"" => {
                    gs.word_space = n(0);
                    gs.char_space = n(1);
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                    if let Some(Operand::Str(s)) = args.get(2) {
                        self.show(&gs, &mut tm, s)?;
                    }
                }
                b"TJ" => {
                    if let Some(Operand::Array(items)) = args.first() {
                        for item in items {
                            match item {
                                Operand::Str(s) => self.show(&gs, &mut tm, s)?,
                                Operand::Num(k) => {
                                    let tx = -k / 1000.0 * gs.size * gs.hscale;
                                    tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                                }
                                _ => {}
                            }
                        }
                    }
                }
                b"Do" => {
                    if let Some(Operand::Name(name)) = args.first() {
                        self.do_xobject(resources, name, &gs.ctm)?;
                    }
                }
                _ => {}
            }
            args.clear();
        }
        Ok(())
    }

    fn do_xobject(
        &mut self,
        resources: Option<&Dictionary>,
        name: &[u8],
        ctm: &Matrix,
    ) -> Result<(), ExtractError> {
        let ctx = self.ctx;
        let Some(res) = resources else { return Ok(()) };
        let Some(Object::Dictionary(xobjects)) = dict_get(ctx, res, b"XObject")? else {
            return Ok(());
        };
        let Ok(entry) = xobjects.get(name) else {
            return Ok(());
        };
        let id = match entry {
            Object::Reference(id) => Some(*id),
            _ => None,
        };
        let Object::Stream(stream) = ctx.resolve(entry)? else {
            return Ok(());
        };
        match dict_get(ctx, &stream.dict, b"Subtype")? {
            Some(Object::Name(n)) if n == b"Form" => {}
            Some(Object::Name(n)) if n == b"Image" => {
                // Names inside a form are the form's own: only the page's images are told.
                if self.forms.is_empty() {
                    self.images.push(ImageUse {
                        name: name.to_vec(),
                        ctm: *ctm,
                    });
                }
                return Ok(());
            }
            _ => return Ok(()),
        }
        self.run_form(stream, id, resources, Placement::Ctm(*ctm))
    }

    /// Runs a form XObject (a `Do`, or an annotation's appearance) with cycle and depth checks.
    fn run_form(
        &mut self,
        stream: &lopdf::Stream,
        id: Option<ObjectId>,
        resources: Option<&Dictionary>,
        placement: Placement,
    ) -> Result<(), ExtractError> {
        let ctx = self.ctx;
        if let Some(id) = id {
            if self.forms.contains(&id) {
                return Err(ExtractError::Malformed(format!(
                    "form XObject {} {} draws itself",
                    id.0, id.1
                )));
            }
        }
        if self.forms.len() >= ctx.limits.max_xobject_depth {
            return Err(ExtractError::LimitExceeded(format!(
                "form XObjects nested deeper than {}",
                ctx.limits.max_xobject_depth
            )));
        }
        let matrix = match dict_get(ctx, &stream.dict, b"Matrix")? {
            Some(Object::Array(a)) => numbers::<6>(a).unwrap_or(IDENTITY),
            _ => IDENTITY,
        };
        let base = match placement {
            Placement::Ctm(ctm) => mul(&matrix, &ctm),
            Placement::Rect(rect) => {
                // The appearance's box, transformed by its matrix, is fitted to the annotation's
                // rectangle (ISO 32000-1, 12.5.5).
                let bbox = match dict_get(ctx, &stream.dict, b"BBox")? {
                    Some(Object::Array(a)) => numbers::<4>(a).unwrap_or(rect),
                    _ => rect,
                };
                let corners = [
                    (bbox[0], bbox[1]),
                    (bbox[2], bbox[1]),
                    (bbox[0], bbox[3]),
                    (bbox[2], bbox[3]),
                ]
                .map(|(x, y)| {
                    (
                        x * matrix[0] + y * matrix[2] + matrix[4],
                        x * matrix[1] + y * matrix[3] + matrix[5],
                    )
                });
                let (x0, x1) = corners
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.0), b.max(c.0)));
                let (y0, y1) = corners
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.1), b.max(c.1)));
                let (rx0, ry0) = (rect[0].min(rect[2]), rect[1].min(rect[3]));
                let (rw, rh) = ((rect[2] - rect[0]).abs(), (rect[3] - rect[1]).abs());
                let sx = if x1 - x0 > 0.0 { rw / (x1 - x0) } else { 1.0 };
                let sy = if y1 - y0 > 0.0 { rh / (y1 - y0) } else { 1.0 };
                mul(&matrix, &[sx, 0.0, 0.0, sy, rx0 - x0 * sx, ry0 - y0 * sy])
            }
        };
        let own_res = match dict_get(ctx, &stream.dict, b"Resources")? {
            Some(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let data = ctx.stream_data(stream)?;
        self.forms.push(id.unwrap_or((0, 0)));
        let r = self.run(&data, own_res.or(resources), base);
        self.forms.pop();
        r
    }

    /// Runs the normal appearance of every visible annotation of a page (markups, stamps,
    /// filled form fields): text engineers add on top of a drawing.
    pub fn annotations(&mut self, page: &Dictionary) -> Result<(), ExtractError> {
        let ctx = self.ctx;
        let Some(Object::Array(annots)) = dict_get(ctx, page, b"Annots")? else {
            return Ok(());
        };
        for entry in annots.iter().take(10_000) {
            let Object::Dictionary(annot) = ctx.resolve(entry)? else {
                continue;
            };
            let flags = match dict_get(ctx, annot, b"F")? {
                Some(Object::Integer(f)) => *f,
                _ => 0,
            };
            // Hidden (bit 2) and NoView (bit 6) annotations are not on the drawing.
            if flags & (2 | 32) != 0 {
                continue;
            }
            let Some(Object::Array(r)) = dict_get(ctx, annot, b"Rect")? else {
                continue;
            };
            let Some(rect) = numbers::<4>(r) else {
                continue;
            };
            let Some(Object::Dictionary(ap)) = dict_get(ctx, annot, b"AP")? else {
                continue;
            };
            let Ok(normal) = ap.get(b"N") else { continue };
            // A stream, or one stream per appearance state, chosen by /AS.
            let chosen = match ctx.resolve(normal)? {
                Object::Stream(_) => normal,
                Object::Dictionary(states) => {
                    let state = match dict_get(ctx, annot, b"AS")? {
                        Some(Object::Name(n)) => n.clone(),
                        _ => continue,
                    };
                    match states.get(&state) {
                        Ok(o) => o,
                        Err(_) => continue,
                    }
                }
                _ => continue,
            };
            let id = match chosen {
                Object::Reference(id) => Some(*id),
                _ => None,
            };
            if let Object::Stream(stream) = ctx.resolve(chosen)? {
                self.run_form(stream, id, None, Placement::Rect(rect))?;
            }
        }
        Ok(())
    }

    fn show(&mut self, gs: &GState, tm: &mut Matrix, bytes: &[u8]) -> Result<(), ExtractError> {
        let Some(font) = gs.font.clone() else {
            return Ok(());
        };
        let limit = self.ctx.limits.max_glyphs_per_page;
        let mut err = None;
        font.decode(bytes, |d: Decoded| {
            let m = mul(tm, &gs.ctm);
            let adv_text = (d.width * gs.size + gs.char_space) * gs.hscale;
            let tx = adv_text
                + if d.is_space_code {
                    gs.word_space * gs.hscale
                } else {
                    0.0
                };
            if let Some(text) = &d.text {
                let xlen = (m[0] * m[0] + m[1] * m[1]).sqrt();
                let ylen = (m[2] * m[2] + m[3] * m[3]).sqrt();
                if xlen > 0.0 && xlen.is_finite() {
                    let (dx, dy) = (m[0] / xlen, m[1] / xlen);
                    let ox = gs.rise * m[2] + m[4];
                    let oy = gs.rise * m[3] + m[5];
                    let count = text.chars().count().max(1) as f32;
                    let adv = adv_text * xlen / count;
                    for (i, ch) in text.chars().enumerate() {
                        if self.glyphs.len() >= limit {
                            err = Some(ExtractError::LimitExceeded(format!(
                                "more than {limit} glyphs on one page"
                            )));
                            break;
                        }
                        let off = adv * i as f32;
                        self.glyphs.push(Glyph {
                            ch,
                            x: ox + dx * off,
                            y: oy + dy * off,
                            dx,
                            dy,
                            adv,
                            size: (gs.size * ylen).abs(),
                        });
                    }
                }
            }
            tm[4] += tx * tm[0];
            tm[5] += tx * tm[1];
        });
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
