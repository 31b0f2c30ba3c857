//! tract's ONNX front-end and optimiser as the SDK uses them. The operators where tract's own walk was
//! the slowest part of our models are parsed into the SDK's (`prelu`, `pool`), which compute the
//! same values in the same order; the optimiser skips the one pass that cost most of a load and
//! changed nothing our models compute. Only the operators the shipped models use are registered
//! (`operators`, each parsed as tract-onnx parses it). Every model's outputs are bit-identical to
//! tract's own front-end and optimiser (tested below on all five shipped models). Everything else is
//! tract's.

use tract_onnx::Onnx;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::optim::Optimizer;

use super::{fp16_kernels, operators, pool, prelu};

/// The declutter pass the SDK leaves out, by the name tract's `Debug` gives it.
const SKIPPED_PASS: &str = "ChangeAxes";

/// tract's ONNX front-end with only the operators our models use ([`operators`]), PRelu and 2×2 max
/// pools parsed by the SDK.
pub fn onnx() -> Onnx {
    let mut onnx = Onnx::default();
    operators::register(&mut onnx);
    prelu::register(&mut onnx);
    pool::register(&mut onnx);
    onnx
}

/// A parsed model typed, decluttered and turned into tract's runnable operators: tract's
/// `into_optimized` without its `ChangeAxes` declutter pass.
///
/// That pass tries to drop every unit axis and move every transpose through the whole graph, one
/// patch and one graph walk at a time: 60–70 % of decluttering the detector, mesh, Iris and
/// anti-spoof models. On them it only moves a few reshapes (a handful of nodes either way), and the
/// plans run in the same time and answer to the bit (tested below; docs/performance.md, "tract's
/// optimiser without `ChangeAxes`"). Every pass rewrites the graph into an equivalent one, so for any
/// other model leaving it out changes the plan, not what it computes.
///
/// `fp16_conv_kernels_from` is the model's manifest setting. Before codegen packs the kernels, the
/// ones the int8 unfold wrote in fp16 are bound to their convolutions, and the decluttered model's
/// other convolution kernels of at least that many weights are halved ([`fp16_kernels`]).
pub fn optimize(
    model: InferenceModel,
    fp16_conv_kernels_from: Option<usize>,
) -> TractResult<TypedModel> {
    let mut typed = model.into_typed()?;
    declutter(&mut typed)?;
    fp16_kernels::bind_fp16_kernels(&mut typed)?;
    if let Some(min_weights) = fp16_conv_kernels_from {
        fp16_kernels::hold_conv_kernels_in_fp16(&mut typed, min_weights)?;
    }
    typed.optimize()?;
    Ok(typed)
}

/// tract's `declutter` without `ChangeAxes` (the first half of [`optimize`]).
pub fn declutter(model: &mut TypedModel) -> TractResult<()> {
    declutter_passes().optimize(model)
}

/// tract's declutter passes, in tract's order, without [`SKIPPED_PASS`].
fn declutter_passes() -> Optimizer {
    let mut declutter = Optimizer::declutter();
    declutter
        .passes
        .retain(|pass| format!("{pass:?}") != SKIPPED_PASS);
    declutter
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Cursor;

    use tract_onnx::prelude::*;

    use tract_onnx::tract_core::optim::Optimizer;

    use super::{SKIPPED_PASS, declutter_passes, onnx as sdk_onnx};
    use crate::vision::onnx_graphs::{bits, plan, sdk_plan};
    use crate::vision::pool::MaxPool2x2;
    use crate::vision::prelu::ChannelPrelu;

    fn proto(bytes: &[u8]) -> tract_onnx::pb::ModelProto {
        tract_onnx::onnx()
            .proto_model_for_read(&mut Cursor::new(bytes))
            .unwrap()
    }

    /// tract's own: its front-end and its whole optimiser.
    fn tracts(bytes: &[u8], shape: &[usize]) -> Arc<TypedRunnableModel> {
        plan(&tract_onnx::onnx(), &proto(bytes), shape)
    }

    /// The SDK's: its front-end and its optimiser.
    fn sdks(bytes: &[u8], shape: &[usize]) -> Arc<TypedRunnableModel> {
        sdk_plan(&sdk_onnx(), &proto(bytes), shape)
    }

    /// Names tract's passes by their `Debug`: a rename there must not quietly bring the pass back.
    #[test]
    fn the_sdk_declutters_with_every_tract_pass_but_change_axes() {
        let name =
            |o: &Optimizer| -> Vec<String> { o.passes.iter().map(|p| format!("{p:?}")).collect() };
        let mut tracts = name(&Optimizer::declutter());
        assert_eq!(
            tracts.iter().filter(|p| p.as_str() == SKIPPED_PASS).count(),
            1,
            "{tracts:?}"
        );
        tracts.retain(|p| p != SKIPPED_PASS);
        assert_eq!(name(&declutter_passes()), tracts);
    }

    fn count<O: Op>(plan: &TypedRunnableModel) -> usize {
        plan.model()
            .nodes()
            .iter()
            .filter(|n| n.op_is::<O>())
            .count()
    }

    /// Every shipped model: how many of its nodes the SDK runs, and all its outputs bit-identical to
    /// tract's own front-end and optimiser on an image-like input and on one with negatives, zeros and
    /// large values.
    #[test]
    fn the_shipped_models_answer_to_the_bit_and_run_the_sdk_operators() {
        // (file, input, PRelu, 2×2 max pools; tract merges the mesh's two pools of one tensor into one)
        let models = [
            (
                "mediapipe/face_detection_short_range.onnx",
                [1, 3, 128, 128],
                0,
                3,
            ),
            ("mediapipe/face_landmark.onnx", [1, 3, 192, 192], 23, 5),
            ("mediapipe/iris_landmark.onnx", [1, 3, 64, 64], 53, 6),
            ("faceplugin/fr_liveness.onnx", [1, 3, 128, 128], 33, 0),
            (
                "dlib/dlib_face_recognition_resnet_model_v1.int8.onnx",
                [1, 3, 150, 150],
                0,
                0,
            ),
        ];
        let mut counts = Vec::new();
        for (file, shape, prelus, pools) in models {
            let path = format!("{}/../models/{file}", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(path).unwrap();
            let ours = sdks(&bytes, &shape);
            let theirs = tracts(&bytes, &shape);
            // tract expands PRelu into a comparison, a product and a select (`Iff`); none is left.
            let has_select = |plan: &TypedRunnableModel| {
                plan.model().nodes().iter().any(|n| n.op().name() == "Iff")
            };
            assert_eq!(has_select(&theirs), prelus > 0, "{file}: tract's own");
            assert!(!has_select(&ours), "{file}: a select left");
            counts.push((
                file,
                (count::<ChannelPrelu>(&ours), count::<MaxPool2x2>(&ours)),
                (prelus, pools),
            ));
            for input in [0, 1] {
                let x: Tensor = tract_ndarray::Array4::from_shape_fn(
                    (shape[0], shape[1], shape[2], shape[3]),
                    |(_, c, y, x)| {
                        let v = ((c * 61 + y * 7 + x * 3) % 256) as f32 / 255.0;
                        if input == 0 {
                            v
                        } else {
                            // Negatives, exact zeros of both signs and values far outside [0, 1].
                            match (c + y * 5 + x) % 7 {
                                0 => 0.0,
                                1 => -0.0,
                                2 => -40.0 * v,
                                3 => 300.0 * v,
                                _ => 2.0 * v - 1.0,
                            }
                        }
                    },
                )
                .into();
                let a = ours.run(tvec!(x.clone().into())).unwrap();
                let b = theirs.run(tvec!(x.into())).unwrap();
                assert_eq!(a.len(), b.len());
                for (a, b) in a.iter().zip(b.iter()) {
                    let values = |t: &TValue| -> Vec<f32> {
                        t.to_plain_array_view::<f32>()
                            .unwrap()
                            .iter()
                            .copied()
                            .collect()
                    };
                    assert_eq!(bits(&values(a)), bits(&values(b)), "{file}, input {input}");
                }
            }
        }
        // PRelu and max pools run by the SDK, per model.
        let ours: Vec<_> = counts
            .iter()
            .map(|(file, ours, _)| (*file, *ours))
            .collect();
        let expected: Vec<_> = counts.iter().map(|(file, _, exp)| (*file, *exp)).collect();
        assert_eq!(ours, expected);
    }
}
