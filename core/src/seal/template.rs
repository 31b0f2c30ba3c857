//! The plaintext face template: a small versioned binary, zeroized on drop.
//!
//! `"SIDT" | version u8 (=2) | metric u8 | model id length u8 | model id (UTF-8) | dim u16 LE |
//! dim × f32 LE`. A template says which model made it, its dimension and how it compares, so two
//! templates from different models can never produce a score.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::matching::{CompareError, Metric};

use super::{OpenError, SealError};

pub const TEMPLATE_MAGIC: &[u8; 4] = b"SIDT";
/// Version 2 added the metric byte (version 1 was always cosine on normalised vectors).
pub const TEMPLATE_VERSION: u8 = 2;
pub const MAX_DIM: usize = 4096;

#[derive(Clone, PartialEq, Zeroize, ZeroizeOnDrop)]
pub struct Template {
    model_id: String,
    #[zeroize(skip)]
    metric: Metric,
    values: Vec<f32>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Template(model={}, metric={}, dim={})",
            self.model_id,
            self.metric.name(),
            self.values.len()
        )
    }
}

impl Template {
    pub fn new(model_id: &str, metric: Metric, values: Vec<f32>) -> Result<Self, SealError> {
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
            metric,
            values,
        })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// The metric's score against another template of the same model (server-side matching). Templates
    /// of different models, dimensions or metrics are an error: their score would mean nothing.
    pub fn compare(&self, other: &Template) -> Result<f32, CompareError> {
        if self.model_id != other.model_id {
            return Err(CompareError::DifferentModels);
        }
        if self.values.len() != other.values.len() {
            return Err(CompareError::DifferentDimensions);
        }
        if self.metric != other.metric {
            return Err(CompareError::DifferentMetrics);
        }
        Ok(self.metric.score(&self.values, &other.values))
    }

    /// The binary form. The caller zeroizes it after sealing (`Zeroizing`).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = Vec::with_capacity(8 + self.model_id.len() + 4 * self.values.len());
        out.extend_from_slice(TEMPLATE_MAGIC);
        out.push(TEMPLATE_VERSION);
        out.push(self.metric.code());
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
        if b.len() < 7 || &b[..4] != TEMPLATE_MAGIC {
            return Err(bad);
        }
        if b[4] != TEMPLATE_VERSION {
            return Err(OpenError::UnknownVersion(b[4]));
        }
        let metric = Metric::from_code(b[5]).ok_or(OpenError::TemplateFormat)?;
        let id_len = b[6] as usize;
        let rest = &b[7..];
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
        Ok(Self {
            model_id,
            metric,
            values,
        })
    }
}
