//! A Smile ID job zip built from an opened SmartId capture, so a bank on Smile ID can forward it
//! (seed `001_…txt`: "a Zip file that contains … images … [and an] info.json file"; "Only .jpg file
//! type is supported"; seed `003_…txt`: a colour selfie, and "8 colour images of user" as liveness
//! images).
//!
//! Layout (flat, like Smile ID's own server libraries): `info.json`, `selfie.jpg` (the capture's
//! template frame), `liveness_1.jpg` … `liveness_8.jpg` (the challenges' neutral, action and return
//! frames, in capture order). The info.json fields the seeds leave out (their examples were lost)
//! follow Smile ID's public server libraries (smile-identity-core-python `image_upload.py`, -js
//! `web-api.js`): `package_information`, `misc_information` with `partner_params`, `id_info`,
//! `images` with `image_type_id` 0 (selfie file) and 4 (liveness file). docs/smile-id.md says which
//! parts come from the seed and which from those libraries.

use std::io::Write as _;

use serde_json::{Value, json};
use smartid_core::seal::{CaptureOpened, FrameRole};

/// Smile ID job types (seed 002: registration is 4; seed 004: Biometric KYC is 1; authentication is 2
/// in Smile ID's libraries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmileJobType {
    BiometricKyc = 1,
    SmartSelfieAuthentication = 2,
    SmartSelfieRegistration = 4,
}

/// The ID document a Biometric KYC job compares against (seed 004's `idInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdInfo {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub id_type: String,
    pub id_number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// What the bank supplies for the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmileJob {
    pub partner_id: String,
    pub user_id: String,
    pub job_id: String,
    pub job_type: SmileJobType,
    pub callback_url: Option<String>,
    /// Required for Biometric KYC (sent with `"entered": true`, seed 001).
    pub id_info: Option<IdInfo>,
    /// The request signature and its timestamp, computed by the bank with its Smile ID API key (the
    /// key never comes here).
    pub signature: Option<(String, String)>,
}

/// The seed's number of liveness images.
pub const LIVENESS_IMAGES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmileError {
    #[error("the capture has no template frame (evidence frames were off)")]
    NoSelfie,
    #[error("Smile ID wants 8 liveness images; this capture has {0} (ask for 3 challenges)")]
    TooFewLivenessImages(usize),
    #[error("a Biometric KYC job needs id_info (country, id_type, id_number)")]
    IdInfoRequired,
    #[error("a {0} is empty or has control characters")]
    BadField(&'static str),
    #[error("the zip could not be written")]
    Zip,
}

fn check(value: &str, name: &'static str) -> Result<(), SmileError> {
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(SmileError::BadField(name));
    }
    Ok(())
}

/// A file of the zip: its name and JPEG bytes (a face: zeroized on drop).
pub type JobImage = (String, zeroize::Zeroizing<Vec<u8>>);

/// The job's `info.json` and its images, selfie first.
pub fn job_files(
    opened: &CaptureOpened,
    job: &SmileJob,
) -> Result<(Value, Vec<JobImage>), SmileError> {
    for (v, n) in [
        (&job.partner_id, "partner_id"),
        (&job.user_id, "user_id"),
        (&job.job_id, "job_id"),
    ] {
        check(v, n)?;
    }
    let frames = &opened.payload.evidence;
    let selfie = frames
        .iter()
        .find(|f| f.role == FrameRole::Template)
        .ok_or(SmileError::NoSelfie)?;
    // In capture order: by challenge, then neutral → action → return.
    let mut liveness: Vec<_> = frames
        .iter()
        .filter(|f| f.role != FrameRole::Template)
        .collect();
    liveness.sort_by_key(|f| (f.challenge, f.frame, f.t_ms));
    liveness.truncate(LIVENESS_IMAGES);
    if liveness.len() < LIVENESS_IMAGES {
        return Err(SmileError::TooFewLivenessImages(liveness.len()));
    }
    let mut files = vec![("selfie.jpg".to_string(), selfie.jpeg.clone())];
    let mut images = vec![json!({ "image_type_id": 0, "image": "", "file_name": "selfie.jpg" })];
    for (i, f) in liveness.iter().enumerate() {
        let name = format!("liveness_{}.jpg", i + 1);
        images.push(json!({ "image_type_id": 4, "image": "", "file_name": name }));
        files.push((name, f.jpeg.clone()));
    }
    let id_info = match (&job.id_info, job.job_type) {
        (Some(id), _) => {
            for (v, n) in [
                (&id.country, "country"),
                (&id.id_type, "id_type"),
                (&id.id_number, "id_number"),
            ] {
                check(v, n)?;
            }
            json!({
                "country": id.country, "id_type": id.id_type, "id_number": id.id_number,
                "first_name": id.first_name, "last_name": id.last_name, "entered": true,
            })
        }
        (None, SmileJobType::BiometricKyc) => return Err(SmileError::IdInfoRequired),
        (None, _) => json!({ "entered": false }),
    };
    let mut misc = json!({
        "retry": "false",
        "partner_params": {
            "user_id": job.user_id,
            "job_id": job.job_id,
            "job_type": job.job_type as u8,
            // Where the capture came from, for the bank's reconciliation (extra keys are allowed).
            "smartid_session_id": opened.session_id.to_hex(),
        },
        "file_name": "selfie.zip",
        "smile_client_id": job.partner_id,
        "callback_url": job.callback_url.clone().unwrap_or_default(),
    });
    if let Some((signature, timestamp)) = &job.signature {
        misc["signature"] = json!(signature);
        misc["timestamp"] = json!(timestamp);
    }
    let info = json!({
        "package_information": {
            "apiVersion": { "buildNumber": 0, "majorVersion": 2, "minorVersion": 0 },
            "language": "rust",
        },
        "misc_information": misc,
        "id_info": id_info,
        "images": images,
    });
    Ok((info, files))
}

/// The zip to PUT to the upload URL Smile ID returns (`Content-Type: application/zip`).
pub fn smartselfie_zip(
    opened: &CaptureOpened,
    job: &SmileJob,
) -> Result<zeroize::Zeroizing<Vec<u8>>, SmileError> {
    let (info, files) = job_files(opened, job)?;
    // Sized up front so the buffer holding the faces never reallocates (and leaves no copy behind).
    let size: usize = files.iter().map(|(_, b)| b.len() + 256).sum::<usize>() + 64 * 1024;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(size)));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let info = serde_json::to_vec_pretty(&info).map_err(|_| SmileError::Zip)?;
    zip.start_file("info.json", stored)
        .and_then(|()| zip.write_all(&info).map_err(Into::into))
        .map_err(|_| SmileError::Zip)?;
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), stored)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|_| SmileError::Zip)?;
    }
    Ok(zeroize::Zeroizing::new(
        zip.finish().map_err(|_| SmileError::Zip)?.into_inner(),
    ))
}
