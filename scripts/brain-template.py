"""Builds weights/brain-template.nii.gz, the brain the extraction registers to heads.

The ICBM 2009a nonlinear symmetric T1 (skull-stripped, 1 mm; Fonov et al., NeuroImage
2011; BSD-3-Clause as shipped in nilearn) averaged over 3x3x3 blocks: uint8, 0 outside
the brain (a block counts as brain when most of its voxels do). Standard library only.

Usage: python3 scripts/brain-template.py ../shared/data/templates/mni152/t1.nii.gz weights/brain-template.nii.gz
"""
import array, gzip, struct, sys

BLOCK = 3

src, out = sys.argv[1], sys.argv[2]
raw = gzip.open(src).read()
dims = struct.unpack("<8h", raw[40:56])[1:4]
assert struct.unpack("<h", raw[70:72])[0] == 2, "expects uint8"
offset = int(struct.unpack("<f", raw[108:112])[0])
srow = struct.unpack("<12f", raw[280:328])
assert all(abs(srow[4 * a + b] - (1.0 if a == b else 0.0)) < 1e-6 for a in range(3) for b in range(3)), "expects a 1 mm axis-aligned grid"
voxels = raw[offset:offset + dims[0] * dims[1] * dims[2]]
nx, ny, nz = (d // BLOCK for d in dims)
data = bytearray(nx * ny * nz)
for k in range(nz):
    for j in range(ny):
        for i in range(nx):
            values = [
                voxels[(BLOCK * i + a) + dims[0] * ((BLOCK * j + b) + dims[1] * (BLOCK * k + c))]
                for a in range(BLOCK) for b in range(BLOCK) for c in range(BLOCK)
            ]
            brain = [v for v in values if v > 0]
            if 2 * len(brain) > len(values):
                data[i + nx * (j + ny * k)] = max(1, round(sum(values) / len(values)))
# The block's centre: the first voxel's position plus one voxel.
origin = [srow[3] + 1.0, srow[7] + 1.0, srow[11] + 1.0]
header = bytearray(352)
struct.pack_into("<i", header, 0, 348)
struct.pack_into("<8h", header, 40, 3, nx, ny, nz, 1, 1, 1, 1)
struct.pack_into("<hh", header, 70, 2, 8)
struct.pack_into("<8f", header, 76, 1.0, BLOCK, BLOCK, BLOCK, 1.0, 1.0, 1.0, 1.0)
struct.pack_into("<f", header, 108, 352.0)
struct.pack_into("<2f", header, 112, 1.0, 0.0)
struct.pack_into("<B", header, 123, 2)  # xyzt_units: mm
header[148:148 + 41] = b"ICBM 2009a brain, 3 mm (wmh brain extraction)"[:41].ljust(41, b"\0")[:41]
struct.pack_into("<hh", header, 252, 0, 4)  # no qform; sform: MNI
struct.pack_into("<4f", header, 280, BLOCK, 0, 0, origin[0])
struct.pack_into("<4f", header, 296, 0, BLOCK, 0, origin[1])
struct.pack_into("<4f", header, 312, 0, 0, BLOCK, origin[2])
header[344:348] = b"n+1\0"
with gzip.GzipFile(out, "wb", mtime=0) as f:
    f.write(bytes(header) + bytes(data))
print(f"{out}: {nx}x{ny}x{nz} at {BLOCK} mm, {sum(1 for v in data if v) * BLOCK ** 3 / 1000:.0f} mL brain")
