//! Decoding and encoding NIfTI-1 single files (`.nii`, `.nii.gz`) in memory.
//!
//! Everything works on byte slices so that the browser, which has no file system,
//! shares it with the CLI. The header is parsed by the `nifti` crate; the voxel data
//! is decoded here because every scalar datatype, either byte order and the scaling
//! fields must end up as one `f32` grid. The header is also written here: the crate's
//! writer only targets file paths, which the browser does not have.

use std::io::Read;

use flate2::read::GzDecoder;
use nifti::{Endianness, NiftiHeader};

use super::affine::{self, TransformSource};
use super::{Geometry, Volume, VolumeError};

/// Largest accepted extent along one axis.
pub const MAX_DIM: usize = 2048;
/// Largest accepted number of voxels (a 512^3 volume; about 0.5 GiB as f32).
pub const MAX_VOXELS: usize = 512 * 512 * 512;
const HEADER_SIZE: usize = 348;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Element type of an encoded output volume.
#[derive(Debug, Clone, Copy)]
pub enum OutputData<'a> {
    /// 0/1 masks and label maps.
    U8(&'a [u8]),
    /// Probability maps and other continuous values.
    F32(&'a [f32]),
}

/// Decodes a NIfTI-1 file's bytes (gzipped or not) into a 3-D volume.
///
/// Dimensions and datatype are checked before any voxel buffer is allocated, and a
/// gzip stream is never inflated past the size the header announces.
pub fn decode(bytes: &[u8]) -> Result<Volume, VolumeError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        decode_stream(GzDecoder::new(bytes), true)
    } else {
        decode_stream(bytes, false)
    }
}

fn decode_stream<R: Read>(mut reader: R, gz: bool) -> Result<Volume, VolumeError> {
    let mut raw_header = [0u8; HEADER_SIZE];
    read_fully(&mut reader, &mut raw_header, gz).and_then(|n| {
        if n < HEADER_SIZE {
            Err(VolumeError::NotNifti(format!(
                "only {n} bytes, shorter than a NIfTI-1 header (348 bytes)"
            )))
        } else {
            Ok(())
        }
    })?;
    let header = parse_header(&raw_header)?;
    let dims = checked_dims(&header)?;
    let datatype = Datatype::from_code(header.datatype)?;
    let nvox = dims[0] * dims[1] * dims[2];
    let data_len = nvox * datatype.size();
    let vox_offset = header.vox_offset;
    if !vox_offset.is_finite() || vox_offset < HEADER_SIZE as f32 || vox_offset > 1.0e8 {
        return Err(VolumeError::Corrupt(format!(
            "vox_offset {vox_offset} is not a valid data offset"
        )));
    }
    let skip = vox_offset as usize - HEADER_SIZE;
    // Extensions between the header and the data are skipped without being kept.
    let skipped = std::io::copy(&mut (&mut reader).take(skip as u64), &mut std::io::sink())
        .map_err(|e| stream_error(e, gz))?;
    if skipped < skip as u64 {
        return Err(VolumeError::Truncated {
            expected: data_len,
            found: 0,
        });
    }
    let mut raw = vec![0u8; data_len];
    let found = read_fully(&mut reader, &mut raw, gz)?;
    if found < data_len {
        return Err(VolumeError::Truncated {
            expected: data_len,
            found,
        });
    }
    let mut data = datatype.to_f32(&raw, header.endianness);
    drop(raw);
    apply_scaling(&mut data, header.scl_slope, header.scl_inter);
    let bad = data.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(VolumeError::NonFinite(bad));
    }
    let (affine, source) = affine::header_affine(&header);
    if affine.iter().flatten().any(|v| !v.is_finite()) || affine::invert(&affine).is_none() {
        return Err(VolumeError::Corrupt(format!(
            "the {} voxel-to-world transform is singular or not finite",
            source_name(source)
        )));
    }
    Ok(Volume {
        dims,
        data,
        geometry: Geometry {
            header,
            affine,
            source,
        },
    })
}

fn source_name(s: TransformSource) -> &'static str {
    match s {
        TransformSource::Sform => "sform",
        TransformSource::Qform => "qform",
        TransformSource::Pixdim => "pixdim",
    }
}

/// Reads until `buf` is full or the stream ends; returns the number of bytes read.
fn read_fully<R: Read>(reader: &mut R, buf: &mut [u8], gz: bool) -> Result<usize, VolumeError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(stream_error(e, gz)),
        }
    }
    Ok(filled)
}

fn stream_error(e: std::io::Error, gz: bool) -> VolumeError {
    if gz {
        VolumeError::Corrupt(format!("the gzip stream is damaged ({e})"))
    } else {
        VolumeError::Corrupt(e.to_string())
    }
}

fn parse_header(raw: &[u8; HEADER_SIZE]) -> Result<NiftiHeader, VolumeError> {
    let le = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let be = i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    if le == 540 || be == 540 {
        return Err(VolumeError::Unsupported(
            "NIfTI-2 files are not supported; convert to NIfTI-1".into(),
        ));
    }
    if le != 348 && be != 348 {
        return Err(VolumeError::NotNifti(
            "the first four bytes are not a NIfTI-1 header size (348)".into(),
        ));
    }
    match &raw[344..348] {
        b"n+1\0" => {}
        b"ni1\0" => {
            return Err(VolumeError::Unsupported(
                "this is a .hdr/.img pair header; give a single-file .nii or .nii.gz".into(),
            ));
        }
        _ => {
            return Err(VolumeError::NotNifti(
                "the magic string is not \"n+1\"".into(),
            ));
        }
    }
    NiftiHeader::from_reader(&raw[..]).map_err(|e| VolumeError::Corrupt(e.to_string()))
}

/// Validates `dim` and returns the three spatial extents.
fn checked_dims(h: &NiftiHeader) -> Result<[usize; 3], VolumeError> {
    let ndim = h.dim[0];
    if !(1..=7).contains(&ndim) {
        return Err(VolumeError::Corrupt(format!(
            "dim[0] = {ndim}; it must be between 1 and 7"
        )));
    }
    let ndim = ndim as usize;
    let extent = |i: usize| if i <= ndim { h.dim[i] as i16 as i64 } else { 1 };
    let dims = [extent(1), extent(2), extent(3)];
    if dims.iter().any(|&d| d <= 0) {
        return Err(VolumeError::BadDimensions(format!(
            "{} x {} x {} has an empty axis",
            dims[0], dims[1], dims[2]
        )));
    }
    let extra: i64 = (4..=ndim).map(extent).product();
    if extra != 1 {
        return Err(VolumeError::Unsupported(format!(
            "a {ndim}-D image with {extra} volumes; give a single 3-D volume"
        )));
    }
    let dims = dims.map(|d| d as usize);
    if dims.iter().any(|&d| d > MAX_DIM) || dims.iter().product::<usize>() > MAX_VOXELS {
        return Err(VolumeError::BadDimensions(format!(
            "{} x {} x {} exceeds the limits ({MAX_DIM} per axis, {MAX_VOXELS} voxels)",
            dims[0], dims[1], dims[2]
        )));
    }
    for (axis, &p) in h.pixdim[1..=3].iter().enumerate() {
        if !p.is_finite() || p.abs() < 1e-6 || p.abs() > 1e4 {
            return Err(VolumeError::Corrupt(format!(
                "pixdim[{}] = {p} is not a usable voxel size",
                axis + 1
            )));
        }
    }
    Ok(dims)
}

fn apply_scaling(data: &mut [f32], slope: f32, inter: f32) {
    // The standard: slope 0 means "no scaling"; a non-finite slope is treated the same.
    if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope != 1.0 || inter != 0.0) {
        for v in data.iter_mut() {
            *v = *v * slope + inter;
        }
    }
}

/// The scalar datatypes we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datatype {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Datatype {
    fn from_code(code: i16) -> Result<Self, VolumeError> {
        Ok(match code {
            2 => Self::U8,
            256 => Self::I8,
            4 => Self::I16,
            512 => Self::U16,
            8 => Self::I32,
            768 => Self::U32,
            1024 => Self::I64,
            1280 => Self::U64,
            16 => Self::F32,
            64 => Self::F64,
            32 | 1792 | 2048 => {
                return Err(VolumeError::Unsupported(
                    "complex-valued images are not scalar intensities".into(),
                ));
            }
            128 | 2304 => {
                return Err(VolumeError::Unsupported(
                    "RGB images are not scalar intensities".into(),
                ));
            }
            other => {
                return Err(VolumeError::Unsupported(format!(
                    "datatype code {other} is not a NIfTI-1 scalar type"
                )));
            }
        })
    }

    fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }

    fn to_f32(self, raw: &[u8], endian: Endianness) -> Vec<f32> {
        let big = matches!(endian, Endianness::Big);
        macro_rules! convert {
            ($t:ty, $n:expr) => {
                raw.chunks_exact($n)
                    .map(|c| {
                        let b: [u8; $n] = c.try_into().expect("chunk has the element size");
                        (if big {
                            <$t>::from_be_bytes(b)
                        } else {
                            <$t>::from_le_bytes(b)
                        }) as f32
                    })
                    .collect()
            };
        }
        match self {
            Self::U8 => raw.iter().map(|&b| f32::from(b)).collect(),
            Self::I8 => raw.iter().map(|&b| f32::from(b as i8)).collect(),
            Self::I16 => convert!(i16, 2),
            Self::U16 => convert!(u16, 2),
            Self::I32 => convert!(i32, 4),
            Self::U32 => convert!(u32, 4),
            Self::I64 => convert!(i64, 8),
            Self::U64 => convert!(u64, 8),
            Self::F32 => convert!(f32, 4),
            Self::F64 => convert!(f64, 8),
        }
    }
}

/// Encodes `data` as a NIfTI-1 single file on `geometry`'s grid.
///
/// Dims, pixdim, units and both transforms (with their codes) are copied from the
/// reference header, so the output overlays the input voxel for voxel in any viewer.
pub fn encode(geometry: &Geometry, dims: [usize; 3], data: OutputData<'_>, gzip: bool) -> Vec<u8> {
    let (datatype, bitpix, payload): (i16, i16, Vec<u8>) = match data {
        OutputData::U8(v) => (2, 8, v.to_vec()),
        OutputData::F32(v) => (16, 32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    let src = &geometry.header;
    let mut pixdim = src.pixdim;
    pixdim[0] = if src.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    pixdim[4..].iter_mut().for_each(|p| *p = 1.0);
    let mut descrip = b"wmh segmentation".to_vec();
    descrip.resize(80, 0);
    let header = NiftiHeader {
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
        pixdim,
        scl_slope: 1.0,
        scl_inter: 0.0,
        descrip,
        dim_info: src.dim_info,
        xyzt_units: src.xyzt_units,
        qform_code: src.qform_code,
        sform_code: src.sform_code,
        quatern_b: src.quatern_b,
        quatern_c: src.quatern_c,
        quatern_d: src.quatern_d,
        quatern_x: src.quatern_x,
        quatern_y: src.quatern_y,
        quatern_z: src.quatern_z,
        srow_x: src.srow_x,
        srow_y: src.srow_y,
        srow_z: src.srow_z,
        ..NiftiHeader::default()
    };
    encode_raw(&header, &payload, Endianness::Little, gzip)
}

/// Encodes a header (fields written verbatim, `vox_offset` forced to 352 and magic
/// to `n+1`) followed by an already-encoded voxel payload, in either byte order.
///
/// Used by [`encode`] and by tests that need every datatype and byte order.
pub fn encode_raw(h: &NiftiHeader, payload: &[u8], endian: Endianness, gzip: bool) -> Vec<u8> {
    let big = matches!(endian, Endianness::Big);
    let mut b = Vec::with_capacity(HEADER_SIZE + 4 + payload.len());
    macro_rules! put {
        ($v:expr) => {{
            let v = $v;
            b.extend_from_slice(&if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            });
        }};
    }
    let fixed = |b: &mut Vec<u8>, bytes: &[u8], len: usize| {
        let mut field = bytes.to_vec();
        field.resize(len, 0);
        b.extend_from_slice(&field);
    };
    put!(348i32);
    fixed(&mut b, &h.data_type, 10);
    fixed(&mut b, &h.db_name, 18);
    put!(h.extents);
    put!(h.session_error);
    b.push(h.regular);
    b.push(h.dim_info);
    h.dim.iter().for_each(|&d| put!(d));
    put!(h.intent_p1);
    put!(h.intent_p2);
    put!(h.intent_p3);
    put!(h.intent_code);
    put!(h.datatype);
    put!(h.bitpix);
    put!(h.slice_start);
    h.pixdim.iter().for_each(|&p| put!(p));
    put!(352.0f32); // vox_offset: header plus the 4-byte extension flag
    put!(h.scl_slope);
    put!(h.scl_inter);
    put!(h.slice_end);
    b.push(h.slice_code);
    b.push(h.xyzt_units);
    put!(h.cal_max);
    put!(h.cal_min);
    put!(h.slice_duration);
    put!(h.toffset);
    put!(h.glmax);
    put!(h.glmin);
    fixed(&mut b, &h.descrip, 80);
    fixed(&mut b, &h.aux_file, 24);
    put!(h.qform_code);
    put!(h.sform_code);
    for v in [
        h.quatern_b,
        h.quatern_c,
        h.quatern_d,
        h.quatern_x,
        h.quatern_y,
        h.quatern_z,
    ] {
        put!(v);
    }
    for row in [h.srow_x, h.srow_y, h.srow_z] {
        row.iter().for_each(|&v| put!(v));
    }
    fixed(&mut b, &h.intent_name, 16);
    b.extend_from_slice(b"n+1\0");
    debug_assert_eq!(b.len(), HEADER_SIZE);
    b.extend_from_slice(&[0, 0, 0, 0]); // no extensions follow
    b.extend_from_slice(payload);
    if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&b).expect("writing to a Vec cannot fail");
        enc.finish().expect("writing to a Vec cannot fail")
    } else {
        b
    }
}
