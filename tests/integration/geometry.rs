//! Geometry is sacred: every datatype and transform reads back exactly, outputs sit
//! on the input grid with its header geometry, and stored orientation does not change
//! the answer.

use crate::common;

use common::{plain_affine, small_phantom, tiny_weights, wmh, write_volume};
use nifti::{Endianness, NiftiHeader};
use wmh::volume::io::encode_raw;
use wmh::volume::{Affine, Geometry, Volume, affine, index, resample};

fn header(dims: [usize; 3], datatype: i16, bitpix: i16) -> NiftiHeader {
    NiftiHeader {
        dim: [
            3,
            dims[0] as u16,
            dims[1] as u16,
            dims[2] as u16,
            1,
            1,
            1,
            1,
        ],
        datatype,
        bitpix,
        pixdim: [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        scl_slope: 1.0,
        sform_code: 0,
        qform_code: 0,
        ..NiftiHeader::default()
    }
}

fn assert_affine_eq(a: &Affine, b: &Affine, tol: f64) {
    for r in 0..3 {
        for c in 0..4 {
            assert!((a[r][c] - b[r][c]).abs() <= tol, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn every_scalar_datatype_in_both_byte_orders_decodes_with_scaling() {
    let dims = [3, 2, 2];
    let values: Vec<i64> = (0..12).map(|v| v * 3 - 5).collect();
    type Enc = fn(i64, bool) -> Vec<u8>;
    let cases: [(i16, i16, Enc, bool); 10] = [
        (2, 8, |v, _| vec![(v + 5) as u8], false),
        (256, 8, |v, _| vec![v as i8 as u8], true),
        (
            4,
            16,
            |v, be| {
                if be {
                    (v as i16).to_be_bytes().to_vec()
                } else {
                    (v as i16).to_le_bytes().to_vec()
                }
            },
            true,
        ),
        (
            512,
            16,
            |v, be| {
                if be {
                    ((v + 5) as u16).to_be_bytes().to_vec()
                } else {
                    ((v + 5) as u16).to_le_bytes().to_vec()
                }
            },
            false,
        ),
        (
            8,
            32,
            |v, be| {
                if be {
                    (v as i32).to_be_bytes().to_vec()
                } else {
                    (v as i32).to_le_bytes().to_vec()
                }
            },
            true,
        ),
        (
            768,
            32,
            |v, be| {
                if be {
                    ((v + 5) as u32).to_be_bytes().to_vec()
                } else {
                    ((v + 5) as u32).to_le_bytes().to_vec()
                }
            },
            false,
        ),
        (
            1024,
            64,
            |v, be| {
                if be {
                    v.to_be_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                }
            },
            true,
        ),
        (
            1280,
            64,
            |v, be| {
                if be {
                    ((v + 5) as u64).to_be_bytes().to_vec()
                } else {
                    ((v + 5) as u64).to_le_bytes().to_vec()
                }
            },
            false,
        ),
        (
            16,
            32,
            |v, be| {
                if be {
                    (v as f32).to_be_bytes().to_vec()
                } else {
                    (v as f32).to_le_bytes().to_vec()
                }
            },
            true,
        ),
        (
            64,
            64,
            |v, be| {
                if be {
                    (v as f64).to_be_bytes().to_vec()
                } else {
                    (v as f64).to_le_bytes().to_vec()
                }
            },
            true,
        ),
    ];
    for (code, bitpix, enc, signed) in cases {
        for endian in [Endianness::Little, Endianness::Big] {
            let be = matches!(endian, Endianness::Big);
            let mut h = header(dims, code, bitpix);
            h.scl_slope = 0.5;
            h.scl_inter = 10.0;
            let payload: Vec<u8> = values.iter().flat_map(|&v| enc(v, be)).collect();
            for gz in [false, true] {
                let v = Volume::from_nifti_bytes(&encode_raw(&h, &payload, endian, gz)).unwrap();
                for (got, &raw) in v.data.iter().zip(&values) {
                    let stored = if signed { raw } else { raw + 5 };
                    assert_eq!(
                        *got,
                        stored as f32 * 0.5 + 10.0,
                        "datatype {code}, {endian:?}, gz {gz}"
                    );
                }
            }
        }
    }
}

#[test]
fn zero_slope_means_no_scaling() {
    let mut h = header([2, 1, 1], 2, 8);
    h.scl_slope = 0.0;
    h.scl_inter = 100.0;
    let v = Volume::from_nifti_bytes(&encode_raw(&h, &[3, 4], Endianness::Little, false)).unwrap();
    assert_eq!(v.data, vec![3.0, 4.0]);
}

#[test]
fn a_slope_with_a_nan_intercept_still_scales() {
    // As nifti1_io reads it: the intercept that is not a number counts as 0.
    let mut h = header([2, 1, 1], 2, 8);
    h.scl_slope = 2.0;
    h.scl_inter = f32::NAN;
    let v = Volume::from_nifti_bytes(&encode_raw(&h, &[3, 4], Endianness::Little, false)).unwrap();
    assert_eq!(v.data, vec![6.0, 8.0]);
}

#[test]
fn an_overlong_quaternion_keeps_the_voxel_volume() {
    // b = c = sqrt(2): nifti1_io scales (b, c, d) to unit length (a half turn); left
    // as stored, every voxel would be stretched by |q|^2 = 4 along two axes.
    let mut h = header([4, 3, 2], 16, 32);
    h.qform_code = 1;
    h.quatern_b = 2f32.sqrt();
    h.quatern_c = 2f32.sqrt();
    h.pixdim = [1.0, 0.9, 0.9, 3.0, 1.0, 1.0, 1.0, 1.0];
    let payload: Vec<u8> = (0..24).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let v = Volume::from_nifti_bytes(&encode_raw(&h, &payload, Endianness::Little, false)).unwrap();
    let mm3 = v.geometry.voxel_volume_mm3();
    assert!((mm3 - 0.9 * 0.9 * 3.0).abs() < 1e-4, "{mm3} mm3");
}

/// A quaternion header for a rotation by `deg` degrees about `axis` (0 = x, 2 = z).
fn qform_header(dims: [usize; 3], axis: usize, deg: f64, qfac: f32) -> NiftiHeader {
    let mut h = header(dims, 16, 32);
    let half = deg.to_radians() / 2.0;
    let q = [0.0, 0.0, 0.0].map(|_: f64| 0.0);
    let mut q = q;
    q[axis] = half.sin();
    h.qform_code = 1;
    h.quatern_b = q[0] as f32;
    h.quatern_c = q[1] as f32;
    h.quatern_d = q[2] as f32;
    h.quatern_x = -30.0;
    h.quatern_y = 12.5;
    h.quatern_z = 4.0;
    h.pixdim = [qfac, 0.9, 1.1, 5.0, 1.0, 1.0, 1.0, 1.0];
    h
}

#[test]
fn qform_rotations_decode_to_the_expected_affine() {
    let dims = [4, 3, 2];
    let payload: Vec<u8> = (0..24).flat_map(|v| (v as f32).to_le_bytes()).collect();
    // 90 degrees about z with qfac -1: i -> +y, j -> -x, k -> -z.
    let h = qform_header(dims, 2, 90.0, -1.0);
    let v = Volume::from_nifti_bytes(&encode_raw(&h, &payload, Endianness::Little, false)).unwrap();
    let expected: Affine = [
        [0.0, -1.1, 0.0, -30.0],
        [0.9, 0.0, 0.0, 12.5],
        [0.0, 0.0, -5.0, 4.0],
    ];
    assert_affine_eq(&v.geometry.affine, &expected, 1e-5);
    assert_eq!(affine::slice_axis(&v.geometry.affine), 2);
}

#[test]
fn written_outputs_keep_qform_sform_and_codes() {
    let dims = [4, 3, 2];
    let payload: Vec<u8> = (0..24).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let mut h = qform_header(dims, 0, 25.0, 1.0);
    h.sform_code = 4;
    h.srow_x = [0.0, 0.0, 5.0, 1.0];
    h.srow_y = [0.9, 0.1, 0.0, 2.0];
    h.srow_z = [0.0, 1.1, 0.3, 3.0];
    let v = Volume::from_nifti_bytes(&encode_raw(&h, &payload, Endianness::Big, true)).unwrap();
    let out = Volume::from_nifti_bytes(&v.encode_like(wmh::volume::OutputData::U8(&[1; 24]), true))
        .unwrap();
    let (a, b) = (&v.geometry.header, &out.geometry.header);
    assert_eq!((a.qform_code, a.sform_code), (b.qform_code, b.sform_code));
    assert_eq!(
        (a.srow_x, a.srow_y, a.srow_z),
        (b.srow_x, b.srow_y, b.srow_z)
    );
    assert_eq!(
        (a.quatern_b, a.quatern_c, a.quatern_d),
        (b.quatern_b, b.quatern_c, b.quatern_d)
    );
    assert_eq!(&a.pixdim[..4], &b.pixdim[..4]);
    assert_eq!(out.dims, v.dims);
    assert_affine_eq(&out.geometry.affine, &v.geometry.affine, 0.0);
    assert_affine_eq(
        &wmh::volume::affine::qform_affine(b),
        &wmh::volume::affine::qform_affine(a),
        0.0,
    );
}

/// The same anatomy stored with voxel axes permuted and flipped: returns the data and
/// the affine, and the map from new voxel index to old.
fn restore(v: &Volume, perm: [usize; 3], flip: [bool; 3]) -> (Volume, Vec<usize>) {
    let od = v.dims;
    let nd = perm.map(|p| od[p]);
    let mut data = vec![0.0; v.data.len()];
    let mut map = vec![0; v.data.len()];
    for k in 0..nd[2] {
        for j in 0..nd[1] {
            for i in 0..nd[0] {
                let n = [i, j, k];
                let mut o = [0; 3];
                for a in 0..3 {
                    o[perm[a]] = if flip[a] { nd[a] - 1 - n[a] } else { n[a] };
                }
                let (ni, oi) = (index(nd, i, j, k), index(od, o[0], o[1], o[2]));
                data[ni] = v.data[oi];
                map[ni] = oi;
            }
        }
    }
    // new voxel n -> old voxel o = P n + offset; world = A_old (P n + offset).
    let a = v.geometry.affine;
    let mut na = [[0.0; 4]; 3];
    for r in 0..3 {
        let mut t = a[r][3];
        for ax in 0..3 {
            let col = perm[ax];
            if flip[ax] {
                na[r][ax] = -a[r][col];
                t += a[r][col] * (nd[ax] as f64 - 1.0);
            } else {
                na[r][ax] = a[r][col];
            }
        }
        na[r][3] = t;
    }
    (
        Volume {
            dims: nd,
            data,
            geometry: Geometry::from_affine(na),
        },
        map,
    )
}

#[test]
fn segment_output_matches_input_grid_and_is_independent_of_storage_order() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_weights(tmp.path());
    let case = small_phantom(plain_affine());
    let w = tmp.path().to_str().unwrap();
    let mut masks = Vec::new();
    // Plain axial, then sagittal-stored with flips, then oblique (the same grid tilted).
    let variants: Vec<(Volume, Volume, Vec<usize>)> = vec![
        (
            case.flair.clone(),
            case.t1.clone(),
            (0..case.flair.len()).collect(),
        ),
        {
            let (f, map) = restore(&case.flair, [2, 0, 1], [true, false, true]);
            let (t, _) = restore(&case.t1, [2, 0, 1], [true, false, true]);
            (f, t, map)
        },
    ];
    for (n, (flair, t1, map)) in variants.iter().enumerate() {
        let (fp, tp, op, pp) = (
            tmp.path().join(format!("flair{n}.nii.gz")),
            tmp.path().join(format!("t1{n}.nii")),
            tmp.path().join(format!("mask{n}.nii.gz")),
            tmp.path().join(format!("prob{n}.nii")),
        );
        write_volume(&fp, flair);
        write_volume(&tp, t1);
        let out = wmh(&[
            "segment",
            "--flair",
            fp.to_str().unwrap(),
            "--t1",
            tp.to_str().unwrap(),
            "--output",
            op.to_str().unwrap(),
            "--probability",
            pp.to_str().unwrap(),
            "--weights",
            w,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mask = Volume::from_nifti_bytes(&std::fs::read(&op).unwrap()).unwrap();
        let prob = Volume::from_nifti_bytes(&std::fs::read(&pp).unwrap()).unwrap();
        let input = Volume::from_nifti_bytes(&std::fs::read(&fp).unwrap()).unwrap();
        assert_eq!(mask.dims, input.dims);
        assert_affine_eq(&prob.geometry.affine, &input.geometry.affine, 0.0);
        assert_eq!(
            mask.geometry.header.sform_code,
            input.geometry.header.sform_code
        );
        assert_affine_eq(&mask.geometry.affine, &input.geometry.affine, 0.0);
        assert!(mask.data.iter().all(|&v| v == 0.0 || v == 1.0));
        // Back to the first variant's voxel order.
        let mut original_order = vec![0.0; mask.len()];
        for (ni, &oi) in map.iter().enumerate() {
            original_order[oi] = prob.data[ni];
        }
        masks.push(original_order);
    }
    let worst = masks[0]
        .iter()
        .zip(&masks[1])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-4,
        "storage order changed the probabilities by {worst}"
    );
}

#[test]
fn oblique_and_pixdim_only_inputs_get_outputs_on_their_own_grid() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_weights(tmp.path());
    let (s, c) = 20f64.to_radians().sin_cos();
    let oblique: Affine = [
        [4.0, 0.0, 0.0, -94.0],
        [0.0, 4.0 * c, -8.0 * s, -70.0],
        [0.0, 4.0 * s, 8.0 * c, -40.0],
    ];
    for (name, affine, pixdim_only) in [
        ("oblique", oblique, false),
        ("pixdim", plain_affine(), true),
    ] {
        let case = small_phantom(affine);
        let mut flair = case.flair.clone();
        if pixdim_only {
            flair.geometry.header.sform_code = 0;
            flair.geometry.header.qform_code = 0;
        }
        let fp = tmp.path().join(format!("{name}.nii"));
        let op = tmp.path().join(format!("{name}-mask.nii"));
        write_volume(&fp, &flair);
        let out = wmh(&[
            "segment",
            "--flair",
            fp.to_str().unwrap(),
            "--output",
            op.to_str().unwrap(),
            "--weights",
            tmp.path().to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let input = Volume::from_nifti_bytes(&std::fs::read(&fp).unwrap()).unwrap();
        let mask = Volume::from_nifti_bytes(&std::fs::read(&op).unwrap()).unwrap();
        assert_eq!(mask.dims, input.dims);
        assert_eq!(mask.geometry.source, input.geometry.source);
        assert_affine_eq(&mask.geometry.affine, &input.geometry.affine, 0.0);
        assert!(String::from_utf8_lossy(&out.stderr).contains("FLAIR-only"));
    }
}

#[test]
fn a_t1_stored_flipped_along_y_resamples_exactly_onto_the_flair() {
    let case = small_phantom(plain_affine());
    let (flipped, _) = restore(&case.t1, [0, 1, 2], [false, true, false]);
    let r = resample::onto_grid(&flipped, case.flair.dims, &case.flair.geometry.affine);
    assert!((r.coverage - 1.0).abs() < 1e-12);
    let max_err = r
        .data
        .iter()
        .zip(&case.t1.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(max_err < 1e-3, "max error {max_err}");
}
