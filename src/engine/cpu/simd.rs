//! Element-wise kernels compiled once per instruction set and chosen when called.
//!
//! The crate builds for the baseline x86-64 (SSE2), so that it runs on every machine; the loops
//! of the activations, cells and normalisations vectorise four floats wide there. `best_isa!`
//! compiles a function's body again for AVX2 + FMA and for AVX-512 and runs the widest the CPU
//! has (std caches the detection). Everything the body calls must be `#[inline(always)]` (as
//! `fast_math` is) to be compiled into each copy. Other targets (e.g. aarch64, where NEON is
//! the baseline) use the body as built.

/// Defines `fn $name(args) -> ret { body }` so that the body runs in its AVX-512 or AVX2 build
/// where the CPU has one.
macro_rules! best_isa {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            // The copies mirror the signature, whose lints are the outer function's to carry.
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the CPU has these AVX-512 subsets (which imply AVX2 and FMA).
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use best_isa;
