//! One exported function, `tract_size_run`: load a model from bytes, optimise it, run it on zeros,
//! return how many outputs it gave (negative on error). Built once per front-end (the features), so
//! the stripped library's size is what that front-end keeps alive under fat LTO.
use std::io::Cursor;

#[cfg(not(feature = "onnx"))]
use tract_nnef::prelude::*;
#[cfg(feature = "onnx")]
use tract_onnx::prelude::*;

fn load(bytes: &[u8]) -> TractResult<TypedModel> {
    #[cfg(feature = "onnx")]
    return tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(bytes))?
        .into_typed();
    #[cfg(all(feature = "nnef", not(feature = "ours"), not(feature = "onnx")))]
    return tract_nnef::nnef().model_for_read(&mut Cursor::new(bytes));
    #[cfg(all(feature = "ours", not(feature = "onnx")))]
    return ours::nnef().model_for_read(&mut Cursor::new(bytes));
}

fn run(bytes: &[u8]) -> TractResult<usize> {
    let plan = load(bytes)?
        .into_decluttered()?
        .into_optimized()?
        .into_runnable()?;
    let fact = plan.model().input_fact(0)?.clone();
    // A symbolic shape gives an empty one, and the run fails: no model of ours has one.
    let shape = fact
        .shape
        .as_concrete()
        .map(<[usize]>::to_vec)
        .unwrap_or_default();
    Ok(plan.run(tvec!(Tensor::zero::<f32>(&shape)?.into()))?.len())
}

/// # Safety
/// `ptr` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tract_size_run(ptr: *const u8, len: usize) -> i32 {
    // SAFETY: the caller's contract above.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    match std::panic::catch_unwind(|| run(bytes)) {
        Ok(Ok(n)) => i32::try_from(n).unwrap_or(i32::MAX),
        Ok(Err(_)) => -1,
        Err(_) => -2,
    }
}

/// An NNEF reader that knows only the operators of the five shipped models once decluttered: the
/// NNEF primitives below, the stdlib's compound fragments (text), and `tract_core_cast`.
#[cfg(all(feature = "ours", not(feature = "onnx")))]
mod ours {
    use tract_nnef::internal::*;
    use tract_nnef::ops::nnef::deser;
    use tract_nnef::resource::{DatLoader, GraphNnefLoader, GraphQuantLoader};
    use tract_nnef::tract_core::ops;

    pub fn nnef() -> Nnef {
        Nnef {
            stdlib: tract_nnef::framework::stdlib(),
            registries: vec![primitives(), core()],
            resource_loaders: vec![
                GraphNnefLoader.into_boxed(),
                DatLoader.into_boxed(),
                GraphQuantLoader.into_boxed(),
            ],
            allow_extended_identifier_syntax: false,
            extern_all_constants: false,
        }
    }

    fn primitives() -> Registry {
        let mut registry = Registry::new("tract_nnef");
        let mut stdlib = tract_nnef::framework::stdlib();
        let mut primitive = |registry: &mut Registry, id: &str, func: ToTract| {
            if let Some(pos) = stdlib.iter().position(|f| f.decl.id.0 == id) {
                let decl = stdlib.remove(pos).decl;
                registry.register_primitive(id, &decl.parameters, &decl.results, func);
            }
        };
        primitive(&mut registry, "external", deser::external);
        primitive(&mut registry, "variable", deser::variable);
        primitive(&mut registry, "reshape", deser::reshape);
        primitive(&mut registry, "transpose", deser::transpose);
        primitive(&mut registry, "concat", deser::concat);
        primitive(&mut registry, "squeeze", deser::squeeze);
        primitive(&mut registry, "unsqueeze", deser::unsqueeze);
        primitive(&mut registry, "pad", deser::pad);
        primitive(&mut registry, "select", deser::select);
        primitive(&mut registry, "matmul", deser::matmul);
        primitive(&mut registry, "conv", deser::conv);
        primitive(&mut registry, "sum_reduce", deser::reduce);
        primitive(
            &mut registry,
            "max_pool_with_index",
            deser::max_pool_with_index,
        );
        primitive(&mut registry, "box", deser::sum_pool);
        registry.register_binary("add", &ops::math::Add {});
        registry.register_binary("mul", &ops::math::Mul {});
        registry.register_binary("max", &ops::math::Max {});
        registry.register_binary("gt", &ops::logic::CompGT);
        registry.register_unit_element_wise("sigmoid", &ops::nn::Sigmoid {});
        for fragment in stdlib {
            if fragment.body.is_some() {
                registry.register_fragment(fragment);
            }
        }
        registry
    }

    fn core() -> Registry {
        let mut registry = Registry::new("tract_core");
        registry.register_primitive(
            "tract_core_cast",
            &[
                TypeName::Scalar.tensor().named("input"),
                TypeName::String.named("to"),
            ],
            &[("output", TypeName::Scalar.tensor())],
            cast,
        );
        registry
    }

    fn cast(builder: &mut ModelBuilder, invocation: &ResolvedInvocation) -> TractResult<Value> {
        let input = invocation.named_arg_as(builder, "input")?;
        let to: String = invocation.named_arg_as(builder, "to")?;
        builder.wire(ops::cast::Cast { to: to.parse()? }, &[input])
    }
}
