//! `uniffi-bindgen`, built from the workspace so the generator always matches the uniffi version the
//! FFI library was built with (scripts/bindgen.sh runs it).

fn main() {
    uniffi::uniffi_bindgen_main()
}
