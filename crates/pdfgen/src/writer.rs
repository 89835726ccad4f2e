//! A small PDF writer: numbered objects, optional Flate compression, a classic xref table, and
//! RC4-128 encryption (standard security handler, revision 3).

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use md5::{Digest, Md5};

enum Obj {
    Plain(Vec<u8>),
    Stream { dict: Vec<u8>, data: Vec<u8> },
}

#[derive(Default)]
pub struct Pdf {
    objs: Vec<Option<Obj>>,
}

pub struct Encryption {
    pub user_password: String,
    pub owner_password: String,
}

const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

pub fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: Vec<u8> = (0..=255).collect();
    let mut j: u8 = 0;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[i as usize]);
            s.swap(i as usize, j as usize);
            b ^ s[(s[i as usize].wrapping_add(s[j as usize])) as usize]
        })
        .collect()
}

fn padded(pw: &str) -> Vec<u8> {
    let mut v: Vec<u8> = pw.bytes().take(32).collect();
    v.extend_from_slice(&PAD[..32 - v.len()]);
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

impl Pdf {
    pub fn new() -> Self {
        Pdf::default()
    }

    /// Reserves an object number.
    pub fn alloc(&mut self) -> u32 {
        self.objs.push(None);
        self.objs.len() as u32
    }

    pub fn set(&mut self, id: u32, body: impl Into<Vec<u8>>) {
        self.objs[id as usize - 1] = Some(Obj::Plain(body.into()));
    }

    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> u32 {
        let id = self.alloc();
        self.set(id, body);
        id
    }

    /// A stream; `dict` holds the entries besides /Length and /Filter.
    pub fn set_stream(&mut self, id: u32, dict: &str, data: &[u8], compress: bool) {
        let (dict, data) = if compress {
            (format!("{dict} /Filter /FlateDecode"), deflate(data))
        } else {
            (dict.to_string(), data.to_vec())
        };
        self.objs[id as usize - 1] = Some(Obj::Stream {
            dict: dict.into_bytes(),
            data,
        });
    }

    pub fn add_stream(&mut self, dict: &str, data: &[u8], compress: bool) -> u32 {
        let id = self.alloc();
        self.set_stream(id, dict, data, compress);
        id
    }

    /// A stream whose data is already encoded (its /Filter is in `dict`).
    pub fn add_raw_stream(&mut self, dict: &str, data: Vec<u8>) -> u32 {
        let id = self.alloc();
        self.objs[id as usize - 1] = Some(Obj::Stream {
            dict: dict.as_bytes().to_vec(),
            data,
        });
        id
    }

    pub fn finish(self, root: u32, encryption: Option<&Encryption>) -> Vec<u8> {
        let id0: Vec<u8> =
            md5_of(&[format!("isoscan-{}-{}", root, self.objs.len()).as_bytes()]).to_vec();
        let mut out: Vec<u8> = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = vec![0usize; self.objs.len() + 2];
        let mut enc_obj = None;
        let mut key = None;
        let mut objs = self.objs;
        if let Some(e) = encryption {
            let (o, u, k) = rc4_keys(e, &id0);
            key = Some(k);
            let body = format!(
                "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <{}> /U <{}> >>",
                hex(&o),
                hex(&u)
            );
            objs.push(Some(Obj::Plain(body.into_bytes())));
            enc_obj = Some(objs.len() as u32);
        }
        for (i, obj) in objs.iter().enumerate() {
            let n = i as u32 + 1;
            offsets[n as usize] = out.len();
            out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
            match obj {
                None => out.extend_from_slice(b"null"),
                Some(Obj::Plain(b)) => out.extend_from_slice(b),
                Some(Obj::Stream { dict, data }) => {
                    let data = match (&key, Some(n) != enc_obj) {
                        (Some(k), true) => rc4(&object_key(k, n), data),
                        _ => data.clone(),
                    };
                    out.extend_from_slice(b"<< ");
                    out.extend_from_slice(dict);
                    out.extend_from_slice(
                        format!(" /Length {} >>\nstream\n", data.len()).as_bytes(),
                    );
                    out.extend_from_slice(&data);
                    out.extend_from_slice(b"\nendstream");
                }
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes(),
        );
        for off in &offsets[1..=objs.len()] {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        let encrypt = enc_obj
            .map(|e| format!(" /Encrypt {e} 0 R"))
            .unwrap_or_default();
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root {root} 0 R{encrypt} /ID [<{}> <{}>] >>\nstartxref\n{xref}\n%%EOF\n",
                objs.len() + 1,
                hex(&id0),
                hex(&id0)
            )
            .as_bytes(),
        );
        out
    }
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// O, U and the file key for RC4-128, revision 3 (ISO 32000-1, algorithms 2, 3 and 5).
fn rc4_keys(e: &Encryption, id0: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    // Algorithm 3: O.
    let mut h = md5_of(&[&padded(&e.owner_password)]);
    for _ in 0..50 {
        h = md5_of(&[&h]);
    }
    let okey = h.to_vec();
    let mut o = rc4(&okey, &padded(&e.user_password));
    for i in 1..=19u8 {
        let k: Vec<u8> = okey.iter().map(|b| b ^ i).collect();
        o = rc4(&k, &o);
    }
    // Algorithm 2: file key.
    let p: i32 = -3904;
    let mut h = md5_of(&[&padded(&e.user_password), &o, &p.to_le_bytes(), id0]);
    for _ in 0..50 {
        h = md5_of(&[&h]);
    }
    let key = h.to_vec();
    // Algorithm 5: U.
    let mut u = rc4(&key, &md5_of(&[&PAD, id0]));
    for i in 1..=19u8 {
        let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
        u = rc4(&k, &u);
    }
    u.extend_from_slice(&[0u8; 16]);
    (o, u, key)
}

fn object_key(key: &[u8], n: u32) -> Vec<u8> {
    let nb = n.to_le_bytes();
    let h = md5_of(&[key, &nb[..3], &[0, 0]]);
    h[..(key.len() + 5).min(16)].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_known_vector() {
        // RFC 6229 style check: "Key" / "Plaintext" -> BBF316E8D940AF0AD3
        assert_eq!(hex(&rc4(b"Key", b"Plaintext")), "BBF316E8D940AF0AD3");
    }
}
