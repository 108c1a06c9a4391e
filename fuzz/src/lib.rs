//! Helpers shared by the fuzz targets: how one input becomes a resolved
//! stack, and a byte source that keeps choosing after the input runs out.

use driftsync::template::Template;
use driftsync::template::resolve::{DesiredStack, Inputs, resolve};
use driftsync::template::schema::SchemaFacts;
use driftsync::template::validate::check_template;

/// Parses, validates and resolves a template as `driftsync plan` does, with
/// a value for every parameter that has no default.
pub fn desired(text: &str) -> Option<DesiredStack> {
    let t = Template::parse(text).ok()?;
    let _ = check_template(&t, SchemaFacts::embedded());
    let mut inputs = Inputs::default();
    for (name, p) in &t.parameters {
        if p.default.is_none() {
            inputs.parameters.insert(name.clone(), "a".into());
        }
    }
    resolve(&t, &inputs).ok()
}

/// Splits an input at its first NUL: two documents, or one and choices.
pub fn split_at_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// Choices read from the fuzzer's bytes, then from a generator seeded by
/// the document, so a seed with no choice bytes still tries varied edits.
pub struct Choices<'a> {
    bytes: &'a [u8],
    state: u64,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8], seed: &[u8]) -> Self {
        // FNV-1a of the document.
        let state = seed.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Choices {
            bytes,
            state: state | 1,
        }
    }

    pub fn byte(&mut self) -> u8 {
        if let Some((&b, rest)) = self.bytes.split_first() {
            self.bytes = rest;
            return b;
        }
        // xorshift64
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 24) as u8
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let v = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]);
        v as usize % n
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        u64::from_le_bytes(b)
    }
}
