//! `exp`, `tanh` and the logistic sigmoid without branches or library calls, so that loops over
//! them vectorise: the recurrent cells spend most of their time here. Accurate to a few units in
//! the last place of f32 (Cephes' polynomials), close enough that training matches PyTorch's.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds an f32 of magnitude below 2²² to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// eˣ, saturating outside what an f32 holds.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2ⁿ from bits alone (no float-to-integer conversion, which vectorises badly): n + 127 sits
    // in the low mantissa bits of `n + 127 + ROUND`, and shifting it up makes it the exponent.
    e * f32::from_bits((n + (127.0 + ROUND)).to_bits() << 23)
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    // Near zero, a polynomial keeps the relative precision `1 - 2/(e^2a + 1)` loses.
    let z = x * x;
    let p = -5.704_988_7e-3;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328e-1;
    let small = x + x * z * p;
    let large = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 { small } else { large }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_library_functions() {
        let mut worst = [0f64; 3];
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4 * 5.0;
            // Below e^-87 an f32 holds only denormals, which the clamp gives up.
            let e = x.clamp(-87.0, 88.0);
            let pairs = [
                (exp(e) as f64, (e as f64).exp()),
                (tanh(x) as f64, (x as f64).tanh()),
                (sigmoid(x) as f64, 1.0 / (1.0 + (-(x as f64)).exp())),
            ];
            for (w, (ours, truth)) in worst.iter_mut().zip(pairs) {
                *w = w.max((ours - truth).abs() / truth.abs().max(1e-30));
            }
        }
        assert!(worst.iter().all(|&w| w < 1e-6), "relative errors {worst:?}");
        assert_eq!(exp(-1000.0), exp(-87.3));
        assert!(exp(1000.0).is_finite());
        assert_eq!((tanh(30.0), tanh(-30.0), tanh(0.0)), (1.0, -1.0, 0.0));
        assert_eq!((sigmoid(-200.0) < 1e-37, sigmoid(200.0)), (true, 1.0));
    }
}
