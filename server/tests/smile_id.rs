//! The Smile ID job zip built from an opened capture, read back: the layout and `info.json` the seeds
//! describe (001: info.json and .jpg images; 003: a colour selfie and 8 liveness images; 002/004: job
//! types 4 and 1, `entered` for Biometric KYC).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;

use serde_json::Value;
use smartid_core::matching::Metric;
use smartid_core::seal::{
    CaptureOpened, EvidenceFrame, FrameRole, KeyPair, OpenPolicy, Payload, ServerKeyring,
    SessionId, Template, open_capture, seal_capture,
};
use smartid_server::smile_id::{IdInfo, SmileError, SmileJob, SmileJobType, smartselfie_zip};

const NOW: u64 = 1_790_000_000;

fn jpeg(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 32, image::Rgb([shade, 100, 50]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out)
        .encode_image(&img)
        .unwrap();
    out
}

/// An opened capture whose payload carries the template frame and `challenges` × 3 frames.
fn opened(challenges: usize) -> CaptureOpened {
    let model = "dlib/dlib_face_recognition_resnet_model_v1@int8";
    let t = Template::new(model, Metric::Euclidean, vec![0.1; 128]).unwrap();
    let mut p = Payload::example(SessionId::from_bytes([3; 16]), NOW, model);
    let kind = p.liveness.challenges[0].clone();
    p.liveness.challenges = (0..challenges as u64)
        .map(|c| {
            let mut k = kind.clone();
            k.action_frame = 10 + 3 * c;
            k.passed_frame = 11 + 3 * c;
            k.started_ms = 100 + 500 * c;
            k.passed_ms = 400 + 500 * c;
            k
        })
        .collect();
    p.liveness.challenges_asked = vec![kind.kind; challenges];
    p.evidence.push(EvidenceFrame {
        role: FrameRole::Template,
        challenge: None,
        frame: 50,
        t_ms: 1900,
        jpeg: zeroize::Zeroizing::new(jpeg(0)),
    });
    for c in 0..challenges {
        for (i, role) in [FrameRole::Neutral, FrameRole::Action, FrameRole::Return]
            .into_iter()
            .enumerate()
        {
            p.evidence.push(EvidenceFrame {
                role,
                challenge: Some(c as u32),
                frame: 40 + i as u64,
                t_ms: 1400 + i as u64,
                jpeg: zeroize::Zeroizing::new(jpeg((1 + c * 3 + i) as u8)),
            });
        }
    }
    let k = KeyPair::generate("k").unwrap();
    let sealed = seal_capture(&k.public(), &t, &p).unwrap();
    open_capture(
        &ServerKeyring::new().with(k),
        &sealed.template,
        &sealed.payload,
        NOW,
        &OpenPolicy::default(),
    )
    .unwrap()
}

fn job(job_type: SmileJobType, id_info: Option<IdInfo>) -> SmileJob {
    SmileJob {
        partner_id: "212".into(),
        user_id: "customer-0001".into(),
        job_id: "job-0001".into(),
        job_type,
        callback_url: Some("https://bank.example/smile-callback".into()),
        id_info,
        signature: Some(("c2lnbmF0dXJl".into(), "2026-11-23T10:00:00Z".into())),
    }
}

fn read_back(zip: &[u8]) -> (Vec<String>, Value, Vec<Vec<u8>>) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut names = Vec::new();
    let mut info = Value::Null;
    let mut images = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        let name = f.name().unwrap().to_string();
        names.push(name.clone());
        if name == "info.json" {
            info = serde_json::from_slice(&bytes).unwrap();
        } else {
            images.push(bytes);
        }
    }
    (names, info, images)
}

#[test]
fn a_smartselfie_registration_zip_matches_the_seed() {
    let o = opened(3);
    let zip = smartselfie_zip(&o, &job(SmileJobType::SmartSelfieRegistration, None)).unwrap();
    let (names, info, images) = read_back(&zip);
    // Flat: info.json, the selfie, 8 liveness images, .jpg only (seed 001, 003).
    let mut expected = vec!["info.json".to_string(), "selfie.jpg".to_string()];
    expected.extend((1..=8).map(|i| format!("liveness_{i}.jpg")));
    assert_eq!(names, expected);
    assert!(
        images.iter().all(|b| b.starts_with(&[0xFF, 0xD8])),
        "JPEG files"
    );
    // The selfie is the template frame; the liveness images are the challenge frames in order.
    assert_eq!(images[0], *o.payload.evidence[0].jpeg);
    assert_eq!(images[1], *o.payload.evidence[1].jpeg);
    assert_eq!(images[8], *o.payload.evidence[8].jpeg);
    // info.json: every image listed with its type (0 selfie file, 4 liveness file) and file name.
    let listed: Vec<(u64, String)> = info["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["image_type_id"].as_u64().unwrap(),
                i["file_name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(listed[0], (0, "selfie.jpg".into()));
    assert_eq!(listed.len(), 9);
    assert!(listed[1..].iter().all(|(t, _)| *t == 4));
    assert_eq!(
        listed.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
        names[1..]
    );
    let misc = &info["misc_information"];
    assert_eq!(
        misc["partner_params"]["job_type"], 4,
        "registration (seed 002)"
    );
    assert_eq!(misc["partner_params"]["user_id"], "customer-0001");
    assert_eq!(misc["partner_params"]["job_id"], "job-0001");
    assert_eq!(misc["smile_client_id"], "212");
    assert_eq!(misc["retry"], "false");
    assert_eq!(misc["signature"], "c2lnbmF0dXJl");
    assert_eq!(info["id_info"]["entered"], false);
    assert_eq!(info["package_information"]["apiVersion"]["majorVersion"], 2);
}

#[test]
fn biometric_kyc_needs_the_id_and_says_entered() {
    let o = opened(3);
    assert_eq!(
        smartselfie_zip(&o, &job(SmileJobType::BiometricKyc, None)).unwrap_err(),
        SmileError::IdInfoRequired
    );
    let id = IdInfo {
        country: "NG".into(),
        id_type: "BVN".into(),
        id_number: "00000000000".into(),
        first_name: None,
        last_name: None,
    };
    let zip = smartselfie_zip(&o, &job(SmileJobType::BiometricKyc, Some(id))).unwrap();
    let (_, info, _) = read_back(&zip);
    assert_eq!(info["misc_information"]["partner_params"]["job_type"], 1);
    assert_eq!(
        info["id_info"]["entered"], true,
        "seed 001: entered:true is required"
    );
    assert_eq!(info["id_info"]["country"], "NG");
}

#[test]
fn too_few_frames_or_fields_are_refused() {
    // Two challenges give 6 liveness frames: Smile ID wants 8.
    assert_eq!(
        smartselfie_zip(
            &opened(2),
            &job(SmileJobType::SmartSelfieAuthentication, None)
        )
        .unwrap_err(),
        SmileError::TooFewLivenessImages(6)
    );
    let mut bad = job(SmileJobType::SmartSelfieRegistration, None);
    bad.user_id = " ".into();
    assert_eq!(
        smartselfie_zip(&opened(3), &bad).unwrap_err(),
        SmileError::BadField("user_id")
    );
}
