//! Bad input is normal: a catalogue of hostile inputs, each refused with a one-line
//! message naming the file and the problem, a non-zero exit, no panic, no output
//! (partial or otherwise) and untouched inputs; and valid inputs that were once
//! refused (several gzip members, a skull-stripped FLAIR with a head T1).

use crate::common;

use std::path::Path;

use common::{listing, phantom_files, plain_affine, small_phantom, tiny_weights, wmh};
use nifti::{Endianness, NiftiHeader};
use wmh::volume::io::encode_raw;
use wmh::volume::{Affine, Geometry, OutputData};

/// A valid float32 header for `dims` (values patched per case).
fn header(dims: [u16; 3]) -> NiftiHeader {
    NiftiHeader {
        dim: [3, dims[0], dims[1], dims[2], 1, 1, 1, 1],
        datatype: 16,
        bitpix: 32,
        pixdim: [1.0, 2.0, 2.0, 4.0, 1.0, 1.0, 1.0, 1.0],
        scl_slope: 1.0,
        sform_code: 0,
        qform_code: 1,
        ..NiftiHeader::default()
    }
}

fn f32s(n: usize, v: f32) -> Vec<u8> {
    (0..n).flat_map(|_| v.to_le_bytes()).collect()
}

/// Valid phantom FLAIR bytes (.nii, uncompressed).
fn good_flair() -> Vec<u8> {
    let case = small_phantom(plain_affine());
    case.flair
        .encode_like(OutputData::F32(&case.flair.data), false)
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

enum Input {
    /// FLAIR bytes written to `flair.nii` (or `.nii.gz` when gzipped by the case).
    Flair(&'static str, Vec<u8>),
    /// A good FLAIR plus this T1.
    T1(Vec<u8>),
    /// Arguments built from the folder.
    Args(fn(&Path) -> Vec<String>),
}

struct Case {
    name: &'static str,
    input: Input,
    /// Fragment the one-line message must contain.
    expect: &'static str,
}

fn cases() -> Vec<Case> {
    let flair = good_flair();
    let mut bad_magic = flair.clone();
    bad_magic[344..348].copy_from_slice(b"abc\0");
    let mut nifti2 = flair.clone();
    nifti2[0..4].copy_from_slice(&540i32.to_le_bytes());
    let mut pair = flair.clone();
    pair[344..348].copy_from_slice(b"ni1\0");
    let mut bad_offset = flair.clone();
    bad_offset[108..112].copy_from_slice(&10.0f32.to_le_bytes());
    let mut corrupt_gz = gz(&flair);
    let mid = corrupt_gz.len() / 2;
    corrupt_gz[mid..mid + 64]
        .iter_mut()
        .for_each(|b| *b ^= 0x5a);
    let truncated_gz = gz(&flair)[..gz(&flair).len() / 2].to_vec();
    let with = |f: fn(&mut NiftiHeader), payload: Vec<u8>| {
        let mut h = header([8, 8, 4]);
        f(&mut h);
        encode_raw(&h, &payload, Endianness::Little, false)
    };
    let n = 8 * 8 * 4;
    let mut nan = f32s(n, 1.0);
    nan[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut inf = f32s(n, 1.0);
    inf[80..84].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let case = small_phantom(plain_affine());
    let far: Affine = {
        let mut a = plain_affine();
        a[0][3] += 1000.0;
        a
    };
    // The same T1 voxels, but claimed to sit elsewhere in the world.
    let mut far_t1 = case.t1.clone();
    far_t1.geometry = Geometry::from_affine(far);
    let shifted: Affine = {
        let mut a = plain_affine();
        a[0][3] += 40.0;
        a[1][3] += 30.0;
        a
    };
    let mut shifted_t1 = case.t1.clone();
    shifted_t1.geometry = Geometry::from_affine(shifted);
    vec![
        Case {
            name: "empty file",
            input: Input::Flair("nii", vec![]),
            expect: "not a NIfTI-1 file",
        },
        Case {
            name: "text file",
            input: Input::Flair(
                "nii",
                b"patient: anonymous\nthis is not an image\n".to_vec(),
            ),
            expect: "not a NIfTI-1",
        },
        Case {
            name: "png file",
            input: Input::Flair(
                "nii",
                [&[0x89u8, b'P', b'N', b'G'][..], &[0u8; 400]].concat(),
            ),
            expect: "not a NIfTI-1",
        },
        Case {
            name: "header cut short",
            input: Input::Flair("nii", flair[..200].to_vec()),
            expect: "shorter than a NIfTI-1 header",
        },
        Case {
            name: "voxel data cut short",
            input: Input::Flair("nii", flair[..flair.len() / 2].to_vec()),
            expect: "truncated",
        },
        Case {
            name: "gzip cut short",
            input: Input::Flair("nii.gz", truncated_gz),
            expect: "",
        },
        Case {
            name: "gzip stream damaged",
            input: Input::Flair("nii.gz", corrupt_gz),
            expect: "",
        },
        Case {
            name: "bad magic",
            input: Input::Flair("nii", bad_magic),
            expect: "magic",
        },
        Case {
            name: "NIfTI-2",
            input: Input::Flair("nii", nifti2),
            expect: "NIfTI-2",
        },
        Case {
            name: "hdr/img pair",
            input: Input::Flair("nii", pair),
            expect: ".hdr/.img",
        },
        Case {
            name: "vox_offset inside header",
            input: Input::Flair("nii", bad_offset),
            expect: "vox_offset",
        },
        Case {
            name: "zero dimension",
            input: Input::Flair("nii", with(|h| h.dim[2] = 0, vec![])),
            expect: "empty axis",
        },
        Case {
            name: "negative dimension",
            input: Input::Flair("nii", with(|h| h.dim[1] = (-5i16) as u16, vec![])),
            expect: "empty axis",
        },
        Case {
            name: "absurd dimensions",
            input: Input::Flair(
                "nii",
                with(
                    |h| h.dim[1..4].copy_from_slice(&[30000, 30000, 30000]),
                    vec![],
                ),
            ),
            expect: "too large",
        },
        Case {
            name: "4-D series",
            input: Input::Flair(
                "nii",
                with(
                    |h| {
                        h.dim[0] = 4;
                        h.dim[4] = 5;
                    },
                    f32s(n * 5, 1.0),
                ),
            ),
            expect: "5 volumes",
        },
        Case {
            name: "dim[0] out of range",
            input: Input::Flair("nii", with(|h| h.dim[0] = 9, f32s(n, 1.0))),
            expect: "dim[0]",
        },
        Case {
            name: "complex datatype",
            input: Input::Flair(
                "nii",
                with(
                    |h| {
                        h.datatype = 32;
                        h.bitpix = 64
                    },
                    f32s(2 * n, 1.0),
                ),
            ),
            expect: "complex",
        },
        Case {
            name: "RGB datatype",
            input: Input::Flair(
                "nii",
                with(
                    |h| {
                        h.datatype = 128;
                        h.bitpix = 24
                    },
                    vec![0; 3 * n],
                ),
            ),
            expect: "RGB",
        },
        Case {
            name: "unknown datatype",
            input: Input::Flair("nii", with(|h| h.datatype = 999, f32s(n, 1.0))),
            expect: "datatype code 999",
        },
        Case {
            name: "NaN voxel",
            input: Input::Flair("nii", with(|_| {}, nan)),
            expect: "NaN",
        },
        Case {
            name: "infinite voxel",
            input: Input::Flair("nii", with(|_| {}, inf)),
            expect: "NaN or infinite",
        },
        Case {
            name: "zero voxel size",
            input: Input::Flair("nii", with(|h| h.pixdim[2] = 0.0, f32s(n, 1.0))),
            expect: "voxel axis 2 a size of 0",
        },
        Case {
            name: "singular sform",
            input: Input::Flair(
                "nii",
                with(
                    |h| {
                        h.sform_code = 1;
                        h.srow_x = [1.0, 1.0, 0.0, 0.0];
                        h.srow_y = [1.0, 1.0, 0.0, 0.0];
                        h.srow_z = [0.0, 0.0, 1.0, 0.0];
                    },
                    f32s(n, 1.0),
                ),
            ),
            expect: "singular",
        },
        // A 1 KB file whose 1e-4 mm voxels made the morphology's discs billions of
        // offsets (an abort), with a T1 so that brain extraction runs.
        Case {
            name: "microscopic voxels",
            input: Input::T1(with(
                |h| h.pixdim[1..3].copy_from_slice(&[1e-4, 1e-4]),
                f32s(n, 1.0),
            )),
            expect: "0.1 to 20 mm",
        },
        Case {
            name: "100 mm voxels",
            input: Input::Flair("nii", with(|h| h.pixdim[1] = 100.0, f32s(n, 1.0))),
            expect: "0.1 to 20 mm",
        },
        Case {
            name: "huge sform entry",
            input: Input::Flair(
                "nii",
                with(
                    |h| {
                        h.sform_code = 1;
                        h.srow_x = [3.0e37, 0.0, 0.0, 0.0];
                        h.srow_y = [0.0, 2.0, 0.0, 0.0];
                        h.srow_z = [0.0, 0.0, 4.0, 0.0];
                    },
                    f32s(n, 1.0),
                ),
            ),
            expect: "unusable geometry",
        },
        Case {
            name: "field of view of a whole body",
            input: Input::Flair("nii", with(|h| h.dim[1] = 2000, f32s(2000 * 8 * 4, 1.0))),
            expect: "at most 600 mm",
        },
        Case {
            name: "origin far outside any scanner",
            input: Input::Flair("nii", with(|h| h.quatern_x = 1.0e7, f32s(n, 1.0))),
            expect: "origin",
        },
        Case {
            name: "a character device (/dev/zero) as FLAIR",
            input: Input::Args(|_| vec!["--flair".into(), "/dev/zero".into()]),
            expect: "not a regular file",
        },
        Case {
            name: "a FIFO as FLAIR",
            input: Input::Args(|d| {
                let fifo = d.join("fifo.nii");
                let made = std::process::Command::new("mkfifo").arg(&fifo).status();
                assert!(made.is_ok_and(|s| s.success()), "mkfifo");
                vec!["--flair".into(), fifo.display().to_string()]
            }),
            expect: "not a regular file",
        },
        Case {
            name: "directory as input",
            input: Input::Args(|d| vec!["--flair".into(), d.display().to_string()]),
            expect: "is a directory",
        },
        Case {
            name: "missing file",
            input: Input::Args(|d| {
                vec![
                    "--flair".into(),
                    d.join("nope.nii.gz").display().to_string(),
                ]
            }),
            expect: "nope.nii.gz",
        },
        Case {
            name: "T1 far from the FLAIR",
            input: Input::T1(far_t1.encode_like(OutputData::F32(&far_t1.data), true)),
            expect: "does not overlap",
        },
        Case {
            name: "T1 not aligned with the FLAIR",
            input: Input::T1(shifted_t1.encode_like(OutputData::F32(&shifted_t1.data), true)),
            expect: "does not line up",
        },
        Case {
            name: "T1 not a NIfTI file",
            input: Input::T1(b"GIF89a".to_vec()),
            expect: "t1.nii.gz",
        },
        Case {
            name: "output overwrites input",
            input: Input::Args(|d| {
                vec![
                    "--flair".into(),
                    d.join("good.nii").display().to_string(),
                    "--output".into(),
                    d.join("good.nii").display().to_string(),
                ]
            }),
            expect: "overwrite an input",
        },
        Case {
            name: "output with a foreign extension",
            input: Input::Args(|d| {
                vec![
                    "--flair".into(),
                    d.join("good.nii").display().to_string(),
                    "--output".into(),
                    d.join("mask.png").display().to_string(),
                ]
            }),
            expect: ".nii or .nii.gz",
        },
        Case {
            name: "output folder missing",
            input: Input::Args(|d| {
                vec![
                    "--flair".into(),
                    d.join("good.nii").display().to_string(),
                    "--output".into(),
                    d.join("no/such/mask.nii").display().to_string(),
                ]
            }),
            expect: "folder does not exist",
        },
        Case {
            name: "two outputs with one name",
            input: Input::Args(|d| {
                vec![
                    "--flair".into(),
                    d.join("good.nii").display().to_string(),
                    "--output".into(),
                    d.join("m.nii").display().to_string(),
                    "--probability".into(),
                    d.join("m.nii").display().to_string(),
                ]
            }),
            expect: "two different outputs",
        },
    ]
}

fn digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .filter(|n| !n.ends_with(".safetensors") && !n.ends_with(".json"))
        .map(|n| {
            let p = dir.join(&n);
            let bytes = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                vec![]
            };
            (n, bytes)
        })
        .collect()
}

#[test]
fn hostile_inputs_are_refused_cleanly() {
    let all = cases();
    assert!(all.len() >= 20);
    let mut failures = Vec::new();
    for case in all {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        tiny_weights(d);
        std::fs::write(d.join("good.nii"), good_flair()).unwrap();
        let weights = d.display().to_string();
        let mut args: Vec<String> = vec!["segment".into()];
        match &case.input {
            Input::Flair(ext, bytes) => {
                let p = d.join(format!("flair.{ext}"));
                std::fs::write(&p, bytes).unwrap();
                args.extend(["--flair".into(), p.display().to_string()]);
            }
            Input::T1(bytes) => {
                let p = d.join("t1.nii.gz");
                std::fs::write(&p, bytes).unwrap();
                args.extend(["--flair".into(), d.join("good.nii").display().to_string()]);
                args.extend(["--t1".into(), p.display().to_string()]);
            }
            Input::Args(f) => args.extend(f(d)),
        }
        if !args.iter().any(|a| a == "--output") {
            args.extend([
                "--output".into(),
                d.join("mask.nii.gz").display().to_string(),
            ]);
        }
        args.extend(["--weights".into(), weights]);
        let before = digest(d);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = wmh(&refs);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let after = digest(d);
        let problems = [
            (out.status.success(), "exited 0"),
            (out.status.code().is_none(), "killed by a signal"),
            (err.contains("panicked"), "panicked"),
            (err.trim().lines().count() != 1, "message is not one line"),
            (!err.starts_with("wmh: error:"), "message lacks the prefix"),
            (
                !err.contains(case.expect),
                "message lacks the expected words",
            ),
            (
                before != after,
                "the folder changed (output written or input touched)",
            ),
        ];
        for (bad, what) in problems {
            if bad {
                failures.push(format!("{}: {what}: {}", case.name, err.trim()));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_good_run_leaves_exactly_the_requested_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_weights(d);
    let (flair, t1) = phantom_files(d);
    let before = listing(d);
    let out = wmh(&[
        "segment",
        "--flair",
        flair.to_str().unwrap(),
        "--t1",
        t1.to_str().unwrap(),
        "--output",
        d.join("m.nii.gz").to_str().unwrap(),
        "--wm-mask",
        d.join("wm.nii").to_str().unwrap(),
        "--weights",
        d.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = before;
    expected.extend(["m.nii.gz".to_string(), "wm.nii".to_string()]);
    expected.sort();
    assert_eq!(listing(d), expected);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["wm_filter"], true);
    assert!(summary["lesion_count"].as_u64().is_some());
    assert!(summary["total_ml"].as_f64().is_some());
    outputs_have_the_mode_of_new_files(d, &["m.nii.gz", "wm.nii"]);
}

/// Outputs are staged as owner-only temporary files; once in place they must be as
/// readable as any file the user creates (0o666 less the umask).
#[cfg(unix)]
fn outputs_have_the_mode_of_new_files(dir: &Path, names: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let reference = dir.join("reference");
    std::fs::File::create(&reference).unwrap();
    for name in names {
        assert_eq!(
            format!("{:o}", mode(&dir.join(name))),
            format!("{:o}", mode(&reference)),
            "{name}"
        );
    }
}

#[cfg(not(unix))]
fn outputs_have_the_mode_of_new_files(_: &Path, _: &[&str]) {}

/// Valid inputs that were refused or misread: each must now segment like its plain form.
#[test]
fn valid_inputs_that_were_refused_now_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_weights(d);
    let case = small_phantom(plain_affine());
    let weights = d.display().to_string();
    let segment = |flair: &Path, t1: Option<&Path>, mask: &str| {
        let mask = d.join(mask);
        let mut args = vec![
            "segment".to_string(),
            "--flair".into(),
            flair.display().to_string(),
            "--output".into(),
            mask.display().to_string(),
            "--weights".into(),
            weights.clone(),
            "--json".into(),
        ];
        if let Some(t1) = t1 {
            args.extend(["--t1".into(), t1.display().to_string()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = wmh(&refs);
        assert!(
            out.status.success(),
            "{}: {}",
            flair.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (std::fs::read(mask).unwrap(), summary)
    };
    let plain = d.join("plain.nii");
    let t1 = d.join("t1.nii.gz");
    std::fs::write(&plain, good_flair()).unwrap();
    common::write_volume(&t1, &case.t1);
    let (reference, _) = segment(&plain, None, "plain-mask.nii");

    // Concatenated gzip members (as BGZF and parallel gzip write them) are one stream.
    let bytes = good_flair();
    let mid = bytes.len() / 3;
    let multi = d.join("multi.nii.gz");
    std::fs::write(&multi, [gz(&bytes[..mid]), gz(&bytes[mid..])].concat()).unwrap();
    assert_eq!(segment(&multi, None, "multi-mask.nii").0, reference);

    // A skull-stripped FLAIR with a head T1 on the same grid: segmented, filter on.
    let brain =
        wmh::brain::brain_mask_stored(&case.t1.data, &case.t1.geometry.affine, case.t1.dims);
    let mut stripped = case.flair.clone();
    for (v, &b) in stripped.data.iter_mut().zip(&brain) {
        if !b {
            *v = 0.0;
        }
    }
    let stripped_path = d.join("stripped.nii.gz");
    common::write_volume(&stripped_path, &stripped);
    let (_, summary) = segment(&stripped_path, Some(&t1), "stripped-mask.nii");
    assert_eq!(summary["wm_filter"], true, "{summary}");
}
