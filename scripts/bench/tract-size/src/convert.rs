//! `convert OUT_DIR MODEL.onnx...`: each model typed and decluttered, written as an NNEF archive with
//! tract-core's operators only (no ONNX extensions), as a build step of an NNEF runtime would.
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: convert OUT_DIR MODEL.onnx...");
        std::process::exit(2);
    };
    for path in args {
        let typed = tract_onnx::onnx()
            .model_for_path(&path)?
            .into_typed()?
            .into_decluttered()?;
        let stem = std::path::Path::new(&path)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let dest = format!("{out}/{stem}.nnef.tar");
        let mut tar = Vec::new();
        tract_nnef::nnef().write_to_tar(&typed, &mut tar)?;
        std::fs::write(&dest, &tar)?;
        println!("{stem}: {} bytes", tar.len());
    }
    Ok(())
}
