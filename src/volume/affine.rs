//! Voxel-to-world transforms as the NIfTI-1 standard defines them, and the
//! axis bookkeeping (orientation, reorientation) built on them.

use nifti::NiftiHeader;

/// A 3x4 voxel-to-world matrix (row-major; the last row of the 4x4 is `0 0 0 1`).
pub type Affine = [[f64; 4]; 3];

/// Which header field supplied the voxel-to-world transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformSource {
    /// `sform_code > 0`: the general affine in `srow_x/y/z`.
    Sform,
    /// `qform_code > 0`: quaternion, offsets and `pixdim`.
    Qform,
    /// Neither code set: NIfTI "method 1", a plain scaling by `pixdim`.
    Pixdim,
}

/// Picks the transform the standard prescribes: sform when its code is set,
/// else qform, else pixdim scaling.
pub fn header_affine(h: &NiftiHeader) -> (Affine, TransformSource) {
    if h.sform_code > 0 {
        let row = |r: [f32; 4]| r.map(f64::from);
        (
            [row(h.srow_x), row(h.srow_y), row(h.srow_z)],
            TransformSource::Sform,
        )
    } else if h.qform_code > 0 {
        (qform_affine(h), TransformSource::Qform)
    } else {
        let p = |i: usize| f64::from(h.pixdim[i]).abs();
        (
            [
                [p(1), 0.0, 0.0, 0.0],
                [0.0, p(2), 0.0, 0.0],
                [0.0, 0.0, p(3), 0.0],
            ],
            TransformSource::Pixdim,
        )
    }
}

/// The qform affine from the quaternion parameters (NIfTI-1 "method 2").
pub fn qform_affine(h: &NiftiHeader) -> Affine {
    let (mut b, mut c, mut d) = (
        f64::from(h.quatern_b),
        f64::from(h.quatern_c),
        f64::from(h.quatern_d),
    );
    // As nifti1_io: when b, c, d leave no room for `a` (rounding, or a writer that
    // stored a full unit quaternion's vector part), they are scaled to unit length and
    // a = 0, a half turn; left unscaled they would stretch every voxel by |q|^2.
    let sum = b * b + c * c + d * d;
    let a = if 1.0 - sum < 1.0e-7 {
        let norm = sum.sqrt();
        (b, c, d) = (b / norm, c / norm, d / norm);
        0.0
    } else {
        (1.0 - sum).sqrt()
    };
    let rot = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    // The standard treats any qfac other than -1 as +1.
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let scale = [
        f64::from(h.pixdim[1]).abs(),
        f64::from(h.pixdim[2]).abs(),
        f64::from(h.pixdim[3]).abs() * qfac,
    ];
    let offset = [
        f64::from(h.quatern_x),
        f64::from(h.quatern_y),
        f64::from(h.quatern_z),
    ];
    let mut out = [[0.0; 4]; 3];
    for r in 0..3 {
        for col in 0..3 {
            out[r][col] = rot[r][col] * scale[col];
        }
        out[r][3] = offset[r];
    }
    out
}

/// Maps a voxel coordinate to world millimetres.
pub fn apply(a: &Affine, v: [f64; 3]) -> [f64; 3] {
    let mut w = [0.0; 3];
    for (r, out) in w.iter_mut().enumerate() {
        *out = a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3];
    }
    w
}

/// Determinant of the affine's linear part.
pub fn determinant(a: &Affine) -> f64 {
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
}

/// Inverse of an affine, or `None` when its linear part is singular or not finite.
pub fn invert(a: &Affine) -> Option<Affine> {
    let det = determinant(a);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let m = |r: usize, c: usize| a[r][c];
    let inv3 = [
        [
            (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1)) / det,
            (m(0, 2) * m(2, 1) - m(0, 1) * m(2, 2)) / det,
            (m(0, 1) * m(1, 2) - m(0, 2) * m(1, 1)) / det,
        ],
        [
            (m(1, 2) * m(2, 0) - m(1, 0) * m(2, 2)) / det,
            (m(0, 0) * m(2, 2) - m(0, 2) * m(2, 0)) / det,
            (m(0, 2) * m(1, 0) - m(0, 0) * m(1, 2)) / det,
        ],
        [
            (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0)) / det,
            (m(0, 1) * m(2, 0) - m(0, 0) * m(2, 1)) / det,
            (m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)) / det,
        ],
    ];
    let mut out = [[0.0; 4]; 3];
    for r in 0..3 {
        out[r][..3].copy_from_slice(&inv3[r]);
        out[r][3] = -(inv3[r][0] * a[0][3] + inv3[r][1] * a[1][3] + inv3[r][2] * a[2][3]);
    }
    Some(out)
}

/// Length in mm of one step along each voxel axis.
pub fn voxel_sizes(a: &Affine) -> [f64; 3] {
    let mut s = [0.0; 3];
    for (c, out) in s.iter_mut().enumerate() {
        *out = (a[0][c].powi(2) + a[1][c].powi(2) + a[2][c].powi(2)).sqrt();
    }
    s
}

/// For each voxel axis, the world axis (0 = x/R, 1 = y/A, 2 = z/S) it runs closest to
/// and whether it runs towards the positive end (true) or the negative end.
///
/// Greedy assignment on the direction cosines: the strongest pairing is fixed first,
/// so every world axis is taken exactly once even for strongly oblique scans.
pub fn orientation(a: &Affine) -> [(usize, bool); 3] {
    let sizes = voxel_sizes(a);
    let mut cos = [[0.0; 3]; 3]; // cos[voxel_axis][world_axis]
    for (v, row) in cos.iter_mut().enumerate() {
        for (w, out) in row.iter_mut().enumerate() {
            *out = a[w][v] / sizes[v].max(f64::MIN_POSITIVE);
        }
    }
    let mut result = [(usize::MAX, true); 3];
    let mut used_world = [false; 3];
    for _ in 0..3 {
        let mut best = (0, 0, -1.0);
        for (v, row) in cos.iter().enumerate() {
            if result[v].0 != usize::MAX {
                continue;
            }
            for (w, value) in row.iter().enumerate() {
                if !used_world[w] && value.abs() > best.2 {
                    best = (v, w, value.abs());
                }
            }
        }
        let (v, w, _) = best;
        result[v] = (w, cos[v][w] >= 0.0);
        used_world[w] = true;
    }
    result
}

/// Index of the voxel axis that runs closest to inferior-superior.
pub fn slice_axis(a: &Affine) -> usize {
    orientation(a)
        .iter()
        .position(|&(w, _)| w == 2)
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn identity_quaternion_gives_pixdim_scaling_and_offset() {
        let h = NiftiHeader {
            pixdim: [1.0, 0.9, 0.8, 3.0, 1.0, 1.0, 1.0, 1.0],
            quatern_x: 10.0,
            quatern_y: -5.0,
            quatern_z: 2.0,
            ..NiftiHeader::default()
        };
        let a = qform_affine(&h);
        assert!(close(a[0][0], 0.9f32 as f64) && close(a[1][1], 0.8f32 as f64));
        assert!(close(a[2][2], 3.0) && close(a[0][3], 10.0) && close(a[1][3], -5.0));
    }

    #[test]
    fn qfac_minus_one_flips_the_third_axis() {
        let h = NiftiHeader {
            pixdim: [-1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0],
            ..NiftiHeader::default()
        };
        assert!(close(qform_affine(&h)[2][2], -2.0));
    }

    #[test]
    fn quaternion_for_180_degrees_about_z_flips_x_and_y() {
        // b = c = 0, d = 1 is a half-turn about z: LPS-style storage.
        let h = NiftiHeader {
            quatern_d: 1.0,
            ..NiftiHeader::default()
        };
        let a = qform_affine(&h);
        assert!(close(a[0][0], -1.0) && close(a[1][1], -1.0) && close(a[2][2], 1.0));
    }

    #[test]
    fn an_overlong_quaternion_is_scaled_to_unit_length() {
        // |(b, c, d)| = 2: a half turn about (1, 1, 0)/sqrt(2), voxel sizes unchanged.
        let s = 2f32.sqrt();
        let h = NiftiHeader {
            pixdim: [1.0, 0.9, 0.9, 3.0, 1.0, 1.0, 1.0, 1.0],
            quatern_b: s,
            quatern_c: s,
            ..NiftiHeader::default()
        };
        let a = qform_affine(&h);
        let sizes = voxel_sizes(&a);
        for (got, want) in sizes.iter().zip([0.9, 0.9, 3.0]) {
            assert!((got - want).abs() < 1e-6, "{sizes:?}");
        }
        // The half turn about the x=y diagonal swaps x and y and flips z.
        assert!(close(a[0][1], 0.9f32 as f64) && close(a[1][0], 0.9f32 as f64));
        assert!(close(a[2][2], -3.0));
    }

    #[test]
    fn transform_choice_follows_the_codes() {
        let mut h = NiftiHeader {
            sform_code: 0,
            qform_code: 0,
            pixdim: [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0],
            ..NiftiHeader::default()
        };
        assert_eq!(header_affine(&h).1, TransformSource::Pixdim);
        h.qform_code = 1;
        assert_eq!(header_affine(&h).1, TransformSource::Qform);
        h.sform_code = 2;
        h.srow_x = [0.0, 0.0, 5.0, 1.0];
        let (a, src) = header_affine(&h);
        assert_eq!(src, TransformSource::Sform);
        assert!(close(a[0][2], 5.0));
    }

    #[test]
    fn inverse_round_trips_an_oblique_affine() {
        let a: Affine = [
            [0.9, 0.1, 0.3, -90.0],
            [-0.05, 0.88, 1.2, 12.0],
            [0.02, -0.2, 6.4, -40.0],
        ];
        let inv = invert(&a).unwrap();
        for v in [[0.0, 0.0, 0.0], [10.0, 200.0, 7.0], [-3.5, 4.25, 19.0]] {
            let back = apply(&inv, apply(&a, v));
            for k in 0..3 {
                assert!((back[k] - v[k]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn singular_affine_has_no_inverse() {
        let a: Affine = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        assert!(invert(&a).is_none());
    }

    #[test]
    fn orientation_of_a_permuted_flipped_grid() {
        // Voxel i runs towards -z, j towards +x, k towards -y (a sagittal-ish layout).
        let a: Affine = [
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, -1.0, 0.0],
            [-1.0, 0.0, 0.0, 0.0],
        ];
        assert_eq!(orientation(&a), [(2, false), (0, true), (1, false)]);
        assert_eq!(slice_axis(&a), 0);
    }

    #[test]
    fn orientation_survives_strong_obliquity() {
        // 40 degrees about x: the third voxel axis is still nearer z than y.
        let (s, c) = 40f64.to_radians().sin_cos();
        let a: Affine = [[1.0, 0.0, 0.0, 0.0], [0.0, c, -s, 0.0], [0.0, s, c, 0.0]];
        assert_eq!(orientation(&a), [(0, true), (1, true), (2, true)]);
    }
}
