//! Synthetic heads around skull-stripped brains, for the WM network.
//!
//! Every T1 with tissue labels here (MASS, MNI) is skull-stripped, but users' T1s keep
//! skull, scalp and neck. Scalp fat is as bright as white matter on T1, so a network
//! that never saw a head marks the scalp as WM, and the WM filter then keeps false
//! positives there. Wrapping each brain in layers at its real distance from the brain
//! (CSF, bone, fat, skin), with randomised thicknesses and intensities in the spirit of
//! SynthSeg, shows the network what is not WM without needing labelled head scans.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::volume::index;

/// Distance (mm) from each voxel to the nearest `inside` voxel (0 inside): a two-pass
/// 26-neighbour chamfer transform with physical step lengths, within a few percent of
/// the Euclidean distance, which is plenty for drawing tissue layers.
pub fn outside_distance(inside: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<f32> {
    let mut dist: Vec<f32> = inside
        .iter()
        .map(|&i| if i { 0.0 } else { f32::INFINITY })
        .collect();
    // Neighbour offsets that precede a voxel in x-fastest raster order, with lengths.
    let mut back = Vec::new();
    for dz in -1i64..=1 {
        for dy in -1i64..=1 {
            for dx in -1i64..=1 {
                let before = (dz, dy, dx) < (0, 0, 0);
                if before {
                    let len = ((dx as f64 * spacing[0]).powi(2)
                        + (dy as f64 * spacing[1]).powi(2)
                        + (dz as f64 * spacing[2]).powi(2))
                    .sqrt() as f32;
                    back.push((dx, dy, dz, len));
                }
            }
        }
    }
    let [nx, ny, nz] = dims.map(|d| d as i64);
    let mut pass = |order: &mut dyn Iterator<Item = (i64, i64, i64)>, sign: i64| {
        for (x, y, z) in order {
            let i = index(dims, x as usize, y as usize, z as usize);
            let mut best = dist[i];
            for &(dx, dy, dz, len) in &back {
                let (a, b, c) = (x + sign * dx, y + sign * dy, z + sign * dz);
                if (0..nx).contains(&a) && (0..ny).contains(&b) && (0..nz).contains(&c) {
                    best = best.min(dist[index(dims, a as usize, b as usize, c as usize)] + len);
                }
            }
            dist[i] = best;
        }
    };
    let raster = move || {
        (0..nz).flat_map(move |z| (0..ny).flat_map(move |y| (0..nx).map(move |x| (x, y, z))))
    };
    pass(&mut raster(), 1);
    let all: Vec<_> = raster().collect();
    pass(&mut all.into_iter().rev(), -1);
    dist
}

/// One synthetic head's layers: outer edge (mm from the brain) and intensity relative
/// to white matter, innermost first.
pub fn layers(rng: &mut StdRng) -> [(f32, f32); 4] {
    let csf = rng.random_range(1.0..3.0);
    let bone = csf + rng.random_range(4.0..7.0);
    let fat = bone + rng.random_range(3.0..6.0);
    let skin = fat + rng.random_range(1.0..3.0);
    [
        (csf, rng.random_range(0.15..0.35)),
        (bone, rng.random_range(0.03..0.15)),
        (fat, rng.random_range(0.95..1.3)),
        (skin, rng.random_range(0.45..0.7)),
    ]
}

/// Wraps the brain (non-zero voxels of `image`) in a synthetic head, in place; `wm`
/// is the white-matter intensity the layers are scaled to. Deterministic for a seed.
pub fn wrap_in_head(image: &mut [f32], dims: [usize; 3], spacing: [f64; 3], wm: f32, seed: u64) {
    let inside: Vec<bool> = image.iter().map(|&v| v > 0.0).collect();
    let dist = outside_distance(&inside, dims, spacing);
    let mut rng = StdRng::seed_from_u64(seed);
    let layers = layers(&mut rng);
    let noise = Normal::new(0.0f32, 0.05 * wm).expect("finite noise scale");
    for (v, &d) in image.iter_mut().zip(&dist) {
        if d > 0.0
            && let Some(&(_, level)) = layers.iter().find(|(edge, _)| d <= *edge)
        {
            *v = (level * wm + noise.sample(&mut rng)).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_physical_and_zero_inside() {
        let dims = [21, 21, 21];
        let mut inside = vec![false; 21 * 21 * 21];
        inside[index(dims, 10, 10, 10)] = true;
        let d = outside_distance(&inside, dims, [1.0, 1.0, 2.0]);
        assert_eq!(d[index(dims, 10, 10, 10)], 0.0);
        assert!((d[index(dims, 15, 10, 10)] - 5.0).abs() < 1e-5);
        assert!((d[index(dims, 10, 10, 14)] - 8.0).abs() < 1e-5); // 4 slices of 2 mm
        // A diagonal: chamfer within 8 % of Euclidean.
        let e = (6.0f32 * 6.0 + 4.0 * 4.0).sqrt();
        assert!((d[index(dims, 16, 14, 10)] - e).abs() / e < 0.08);
    }

    #[test]
    fn head_layers_surround_the_brain_and_leave_it_alone() {
        let dims = [60, 60, 60];
        let mut image = vec![0.0f32; 60 * 60 * 60];
        for z in 0..60 {
            for y in 0..60 {
                for x in 0..60 {
                    let r2 = (x as f32 - 30.0).powi(2)
                        + (y as f32 - 30.0).powi(2)
                        + (z as f32 - 30.0).powi(2);
                    if r2 < 64.0 {
                        image[index(dims, x, y, z)] = 100.0;
                    }
                }
            }
        }
        let brain = image.clone();
        wrap_in_head(&mut image, dims, [1.0; 3], 100.0, 7);
        // The brain is untouched; the far corner stays background.
        for (a, b) in image.iter().zip(&brain) {
            if *b > 0.0 {
                assert_eq!(a, b);
            }
        }
        assert_eq!(image[index(dims, 0, 0, 0)], 0.0);
        // Walking out along +x from the brain's edge (x = 38): dark CSF/bone, then
        // bright fat (near WM brightness), then background (layers end by 19 mm).
        let profile: Vec<f32> = (38..60).map(|x| image[index(dims, x, 30, 30)]).collect();
        assert!(
            profile[0] < 50.0,
            "CSF right outside the brain: {profile:?}"
        );
        assert!(
            profile.iter().any(|&v| v > 75.0),
            "a bright fat layer: {profile:?}"
        );
        assert_eq!(*profile.last().unwrap(), 0.0);
    }
}
