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

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(m1: &Matrix, m2: &Matrix) -> Matrix {
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
}

pub struct Interp<'c, 'd> {
    ctx: &'c Ctx<'d>,
    fonts: HashMap<ObjectId, Rc<Font>>,
    glyphs: Vec<Glyph>,
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
            ops: 0,
            forms: Vec::new(),
        }
    }

    /// Runs one page's content and returns its glyphs.
    pub fn page(
        &mut self,
        content: &[u8],
        resources: Option<&Dictionary>,
    ) -> Result<PageResult, ExtractError> {
        self.glyphs.clear();
        self.ops = 0;
        self.run(content, resources, IDENTITY)?;
        Ok(PageResult {
            glyphs: std::mem::take(&mut self.glyphs),
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
            _ => return Ok(()),
        }
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
            Some(Object::Array(a)) if a.len() == 6 => {
                let v: Vec<f32> = a
                    .iter()
                    .map(|o| match o {
                        Object::Integer(i) => *i as f32,
                        Object::Real(r) => *r,
                        _ => 0.0,
                    })
                    .collect();
                [v[0], v[1], v[2], v[3], v[4], v[5]]
            }
            _ => IDENTITY,
        };
        let own_res = match dict_get(ctx, &stream.dict, b"Resources")? {
            Some(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let data = ctx.stream_data(stream)?;
        self.forms.push(id.unwrap_or((0, 0)));
        let r = self.run(&data, own_res.or(resources), mul(&matrix, ctm));
        self.forms.pop();
        r
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
