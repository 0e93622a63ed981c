//! Decoding and encoding NIfTI-1 single files (`.nii`, `.nii.gz`) in memory.
//!
//! Everything works on byte slices so that the browser, which has no file system,
//! shares it with the CLI. The header is parsed by the `nifti` crate; the voxel data
//! is decoded here because every scalar datatype, either byte order and the scaling
//! fields must end up as one `f32` grid. The header is also written here: the crate's
//! writer only targets file paths, which the browser does not have.
//!
//! Every bound a file must meet ([`super::bounds`]) is checked here, once, for native
//! and wasm alike, before anything the header announces is allocated: a header's claims
//! cost nothing until the bytes behind them have arrived.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use nifti::{Endianness, NiftiHeader};

use super::affine::{self, Affine, TransformSource};
pub use super::bounds::{Limits, MAX_FIELD_OF_VIEW_MM, MAX_ORIGIN_MM, MAX_VOXEL_MM, MIN_VOXEL_MM};
use super::bounds::{check_geometry, checked_dims};
use super::{Geometry, Volume, VolumeError};

const HEADER_SIZE: usize = 348;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Largest data offset accepted (extensions are skipped, never kept).
const MAX_VOX_OFFSET: f32 = 1.0e8;

/// Element type of an encoded output volume.
#[derive(Debug, Clone, Copy)]
pub enum OutputData<'a> {
    /// 0/1 masks and label maps.
    U8(&'a [u8]),
    /// Probability maps and other continuous values.
    F32(&'a [f32]),
}

/// Decodes a NIfTI-1 file's bytes (gzipped or not) into a 3-D volume, within the
/// command-line tool's [`Limits::NATIVE`].
pub fn decode(bytes: &[u8]) -> Result<Volume, VolumeError> {
    decode_within(bytes, &Limits::NATIVE)
}

/// Decodes a NIfTI-1 file's bytes (gzipped or not) into a 3-D volume within `limits`.
///
/// Dimensions, datatype and geometry are checked before any voxel buffer is
/// allocated, and the memory used grows with the voxel bytes actually present, never
/// with what the header claims: a gzip stream (of one or several members) is never
/// inflated past the size the header announces.
pub fn decode_within(bytes: &[u8], limits: &Limits) -> Result<Volume, VolumeError> {
    limits.check_file_size(bytes.len() as u64)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut reader = MultiGzDecoder::new(bytes);
        let raw_header = read_header(&mut reader, true)?;
        let plan = Plan::new(&raw_header, limits)?;
        skip(&mut reader, plan.skip, plan.data_len, true)?;
        let raw = read_exactly(&mut reader, plan.data_len)?;
        plan.finish(&raw)
    } else {
        let raw_header = read_header(&mut &bytes[..], false)?;
        let plan = Plan::new(&raw_header, limits)?;
        // Uncompressed: the voxels are converted straight from the caller's bytes.
        let start = HEADER_SIZE + plan.skip;
        let found = bytes.len().saturating_sub(start);
        if found < plan.data_len {
            return Err(VolumeError::Truncated {
                expected: plan.data_len,
                found,
            });
        }
        let end = start + plan.data_len;
        plan.finish(&bytes[start..end])
    }
}

/// What a checked header announces: everything needed to read and convert the voxels.
struct Plan {
    header: NiftiHeader,
    dims: [usize; 3],
    datatype: Datatype,
    affine: Affine,
    source: TransformSource,
    /// Bytes between the header and the voxel data (extensions).
    skip: usize,
    /// Bytes of voxel data.
    data_len: usize,
}

impl Plan {
    fn new(raw_header: &[u8; HEADER_SIZE], limits: &Limits) -> Result<Self, VolumeError> {
        let header = parse_header(raw_header)?;
        let dims = checked_dims(&header, limits)?;
        let datatype = Datatype::from_code(header.datatype)?;
        // The voxel count is bounded, so this fits a 32-bit usize too.
        let data_len = dims.iter().product::<usize>() * datatype.size();
        let vox_offset = header.vox_offset;
        if !vox_offset.is_finite() || vox_offset < HEADER_SIZE as f32 || vox_offset > MAX_VOX_OFFSET
        {
            return Err(VolumeError::Corrupt(format!(
                "vox_offset {vox_offset} is not a valid data offset"
            )));
        }
        let skip = vox_offset as usize - HEADER_SIZE;
        let (affine, source) = affine::header_affine(&header);
        check_geometry(&affine, source, dims)?;
        Ok(Self {
            header,
            dims,
            datatype,
            affine,
            source,
            skip,
            data_len,
        })
    }

    /// Converts and scales the voxel bytes (`data_len` of them) into the volume.
    fn finish(self, raw: &[u8]) -> Result<Volume, VolumeError> {
        let mut data = self.datatype.to_f32(raw, self.header.endianness);
        apply_scaling(&mut data, self.header.scl_slope, self.header.scl_inter);
        let bad = data.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(VolumeError::NonFinite(bad));
        }
        Ok(Volume {
            dims: self.dims,
            data,
            geometry: Geometry {
                header: self.header,
                affine: self.affine,
                source: self.source,
            },
        })
    }
}

/// The first 348 bytes, or a clear refusal for anything shorter.
fn read_header<R: Read>(reader: &mut R, gz: bool) -> Result<[u8; HEADER_SIZE], VolumeError> {
    let mut raw = [0u8; HEADER_SIZE];
    let n = read_into(reader, &mut raw, gz)?;
    if n < HEADER_SIZE {
        return Err(VolumeError::NotNifti(format!(
            "only {n} bytes, shorter than a NIfTI-1 header (348 bytes)"
        )));
    }
    Ok(raw)
}

/// Skips the extensions between the header and the data without keeping them.
fn skip<R: Read>(reader: &mut R, n: usize, data_len: usize, gz: bool) -> Result<(), VolumeError> {
    let skipped = std::io::copy(&mut reader.take(n as u64), &mut std::io::sink())
        .map_err(|e| stream_error(e, gz))?;
    if skipped < n as u64 {
        return Err(VolumeError::Truncated {
            expected: data_len,
            found: 0,
        });
    }
    Ok(())
}

/// Reads `len` bytes from a gzip stream, growing the buffer only as bytes arrive, so a
/// small stream whose header claims a large volume costs what the stream holds.
fn read_exactly<R: Read>(reader: &mut R, len: usize) -> Result<Vec<u8>, VolumeError> {
    const STEP: usize = 64 << 10;
    let mut raw = Vec::new();
    while raw.len() < len {
        let grow = (len - raw.len()).min(raw.len().max(STEP));
        let start = raw.len();
        raw.reserve_exact(grow);
        raw.resize(start + grow, 0);
        let got = read_into(reader, &mut raw[start..], true)?;
        if got < grow {
            return Err(VolumeError::Truncated {
                expected: len,
                found: start + got,
            });
        }
    }
    Ok(raw)
}

/// Reads until `buf` is full or the stream ends; returns the number of bytes read.
fn read_into<R: Read>(reader: &mut R, buf: &mut [u8], gz: bool) -> Result<usize, VolumeError> {
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

/// Applies `scl_slope`/`scl_inter` as the reference reader (nifti1_io) does: a slope
/// of 0 or one that is not finite means "no scaling", and an intercept that is not
/// finite counts as 0, so a valid slope is never silently dropped.
fn apply_scaling(data: &mut [f32], slope: f32, inter: f32) {
    let inter = if inter.is_finite() { inter } else { 0.0 };
    if slope != 0.0 && slope.is_finite() && (slope != 1.0 || inter != 0.0) {
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
