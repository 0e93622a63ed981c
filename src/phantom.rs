//! A deterministic synthetic head (FLAIR, T1 and lesion truth) for examples, tests
//! and benchmarks, so that a fresh clone can show a result without any real data.

use crate::volume::{Affine, Geometry, Volume, index};

/// A generated case: FLAIR and T1 on the same grid and the true lesion mask.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// FLAIR-like image: bright lesions, dark CSF.
    pub flair: Volume,
    /// T1-like image: bright white matter, dark lesions and CSF.
    pub t1: Volume,
    /// 1 where a lesion was drawn.
    pub lesions: Vec<u8>,
    /// 1 inside the white-matter region (lesions included).
    pub white_matter: Vec<u8>,
}

/// Small integer hash to uniform [0, 1): deterministic noise without a RNG crate.
fn hash01(mut x: u64) -> f32 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// FLAIR of the phantom's lesions: about three widths of the white matter's intensity
/// spread above it (300), where real FLAIRs put them; much brighter would show the
/// networks a contrast they never saw.
const PHANTOM_LESION_FLAIR: f32 = 440.0;
/// Peak-to-peak FLAIR noise, as wide as a real white matter's texture and noise.
const PHANTOM_FLAIR_NOISE: f32 = 80.0;

/// Builds a phantom of `dims` voxels with the given voxel-to-world transform.
///
/// Tissue sits in normalised head coordinates, so any grid (and any orientation)
/// gives the same anatomy in world space as long as the affine is centred.
pub fn generate(dims: [usize; 3], affine: Affine, seed: u64) -> Phantom {
    let geometry = Geometry::from_affine(affine);
    let n = dims.iter().product();
    let (mut flair, mut t1) = (vec![0.0f32; n], vec![0.0f32; n]);
    let (mut lesions, mut wm) = (vec![0u8; n], vec![0u8; n]);
    // Lesion centres in head coordinates (units of the head's semi-axes).
    let spots: Vec<([f64; 3], f64)> = (0..8)
        .map(|s| {
            let r = |k: u64| {
                f64::from(hash01(seed.wrapping_mul(31).wrapping_add(s * 7 + k))) * 2.0 - 1.0
            };
            let side = if s % 2 == 0 { 1.0 } else { -1.0 };
            (
                [side * (0.22 + 0.12 * r(1).abs()), 0.35 * r(2), 0.18 * r(3)],
                0.05 + 0.04 * r(4).abs(),
            )
        })
        .collect();
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let w =
                    crate::volume::affine::apply(&geometry.affine, [i as f64, j as f64, k as f64]);
                // Head semi-axes 75 x 95 x 70 mm, centred on the world origin.
                let p = [w[0] / 75.0, w[1] / 95.0, w[2] / 70.0];
                let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
                let v = index(dims, i, j, k);
                let noise = hash01(seed ^ (v as u64).wrapping_mul(0x9e37_79b9)) - 0.5;
                let (mut f, mut t) = (0.0f32, 0.0f32);
                if r < 1.0 {
                    let ventricle =
                        (p[0] / 0.12).powi(2) + (p[1] / 0.35).powi(2) + (p[2] / 0.25).powi(2) < 1.0;
                    let in_wm = r < 0.62 && !ventricle;
                    if r > 0.9 {
                        (f, t) = (250.0, 350.0); // scalp and skull
                    } else if r > 0.85 || ventricle {
                        (f, t) = (80.0, 150.0); // CSF
                    } else if in_wm {
                        (f, t) = (300.0, 700.0);
                        wm[v] = 1;
                    } else {
                        // Grey matter, a little brighter than white matter on FLAIR,
                        // darkening towards the CSF it shares voxels with at the surface,
                        // so (as on a real FLAIR) white matter is the sharpest bright peak.
                        let s = ((r - 0.62) / 0.23) as f32;
                        (f, t) = (330.0 - 130.0 * s * s, 500.0);
                    }
                    if in_wm {
                        let inside = spots.iter().any(|(c, rad)| {
                            let d = ((p[0] - c[0]).powi(2)
                                + (p[1] - c[1]).powi(2)
                                + (p[2] - c[2]).powi(2))
                            .sqrt();
                            d < *rad
                        });
                        if inside {
                            (f, t) = (PHANTOM_LESION_FLAIR, 420.0);
                            lesions[v] = 1;
                        }
                    }
                    f += PHANTOM_FLAIR_NOISE * noise;
                    t += 30.0 * noise;
                }
                flair[v] = f.max(0.0);
                t1[v] = t.max(0.0);
            }
        }
    }
    let volume = |data| Volume {
        dims,
        data,
        geometry: geometry.clone(),
    };
    Phantom {
        flair: volume(flair),
        t1: volume(t1),
        lesions,
        white_matter: wm,
    }
}

/// The standard example: 256 x 256 x 20 axial slices of 0.9 x 0.9 x 7 mm, stored
/// LPS-style (x and y flipped), centred on the origin, like many clinical FLAIRs.
pub fn example() -> Phantom {
    let dims = [256, 256, 20];
    let affine: Affine = [
        [-0.9, 0.0, 0.0, 0.9 * 127.5],
        [0.0, -0.9, 0.0, 0.9 * 127.5],
        [0.0, 0.0, 7.0, -7.0 * 9.5],
    ];
    generate(dims, affine, 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_flair_has_a_real_flairs_contrast_after_peak_normalisation() {
        // On the 8 real FLAIRs the white matter's median sits within a unit of the
        // bright peak and the median lesion 2.4-4.0 units above the white matter's; the
        // networks know nothing else.
        let p = example();
        let head = crate::volume::foreground_mask(&p.flair.data, p.flair.dims, 2);
        let n = crate::pipeline::preprocess::peak_normalise(&p.flair.data, &head);
        let median = |class: &dyn Fn(usize) -> bool| {
            let v: Vec<f32> = (0..n.len()).filter(|&i| class(i)).map(|i| n[i]).collect();
            crate::volume::percentile(&v, 50.0)
        };
        let wm = median(&|i| p.white_matter[i] == 1 && p.lesions[i] == 0);
        let lesion = median(&|i| p.lesions[i] == 1);
        assert!(wm.abs() < 1.0, "white matter at {wm}");
        assert!(
            (2.0..3.5).contains(&(lesion - wm)),
            "lesions at {lesion}, white matter at {wm}"
        );
    }

    #[test]
    fn example_is_deterministic_and_has_lesions_inside_white_matter() {
        let a = example();
        let b = example();
        assert_eq!(a.flair.data, b.flair.data);
        let n_lesion = a.lesions.iter().filter(|&&v| v == 1).count();
        assert!(n_lesion > 100, "{n_lesion} lesion voxels");
        assert!(
            a.lesions
                .iter()
                .zip(&a.white_matter)
                .all(|(&l, &w)| l == 0 || w == 1)
        );
    }
}
