//! The plaintext face template: a small versioned binary, zeroized on drop.
//!
//! `"SIDT" | version u8 (=1) | model id length u8 | model id (UTF-8) | dim u16 LE | dim × f32 LE`

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{OpenError, SealError};

pub const TEMPLATE_MAGIC: &[u8; 4] = b"SIDT";
pub const TEMPLATE_VERSION: u8 = 1;
pub const MAX_DIM: usize = 4096;

#[derive(Clone, PartialEq, Zeroize, ZeroizeOnDrop)]
pub struct Template {
    model_id: String,
    values: Vec<f32>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Template(model={}, dim={})",
            self.model_id,
            self.values.len()
        )
    }
}

impl Template {
    pub fn new(model_id: &str, values: Vec<f32>) -> Result<Self, SealError> {
        if model_id.is_empty() || model_id.len() > 255 {
            return Err(SealError::Template("model id must be 1..=255 bytes"));
        }
        if values.is_empty() || values.len() > MAX_DIM || values.iter().any(|v| !v.is_finite()) {
            return Err(SealError::Template(
                "values must be 1..=4096 finite numbers",
            ));
        }
        Ok(Self {
            model_id: model_id.to_string(),
            values,
        })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Cosine similarity with another template of the same model (server-side matching).
    pub fn cosine(&self, other: &Template) -> Option<f32> {
        if self.model_id != other.model_id || self.values.len() != other.values.len() {
            return None;
        }
        let dot: f32 = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| a * b)
            .sum();
        let na: f32 = self.values.iter().map(|a| a * a).sum::<f32>().sqrt();
        let nb: f32 = other.values.iter().map(|b| b * b).sum::<f32>().sqrt();
        (na > 0.0 && nb > 0.0).then(|| dot / (na * nb))
    }

    /// The binary form. The caller zeroizes it after sealing (`Zeroizing`).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = Vec::with_capacity(8 + self.model_id.len() + 4 * self.values.len());
        out.extend_from_slice(TEMPLATE_MAGIC);
        out.push(TEMPLATE_VERSION);
        out.push(self.model_id.len() as u8);
        out.extend_from_slice(self.model_id.as_bytes());
        out.extend_from_slice(&(self.values.len() as u16).to_le_bytes());
        for v in &self.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        zeroize::Zeroizing::new(out)
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, OpenError> {
        let bad = OpenError::TemplateFormat;
        if b.len() < 6 || &b[..4] != TEMPLATE_MAGIC {
            return Err(bad);
        }
        if b[4] != TEMPLATE_VERSION {
            return Err(OpenError::UnknownVersion(b[4]));
        }
        let id_len = b[5] as usize;
        let rest = &b[6..];
        if id_len == 0 || rest.len() < id_len + 2 {
            return Err(bad);
        }
        let model_id = std::str::from_utf8(&rest[..id_len])
            .map_err(|_| bad.clone())?
            .to_string();
        let dim = u16::from_le_bytes([rest[id_len], rest[id_len + 1]]) as usize;
        let vals = &rest[id_len + 2..];
        if dim == 0 || dim > MAX_DIM || vals.len() != dim * 4 {
            return Err(bad);
        }
        let values: Vec<f32> = vals
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(bad);
        }
        Ok(Self { model_id, values })
    }
}
