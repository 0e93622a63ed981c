#!/usr/bin/env python3
"""Thick-slice copies of the 1 mm FLAIR cases (a scratch experiment, stdlib only).

Usage: make.py SRC_CASE_DIR OUT_DIR SLAB

Averages each run of SLAB axial slices (the third stored axis, axial in these MNI-space
cases) of flair, t1 and wmh, as a 2-D sequence with SLAB-mm slices would integrate them,
and writes float32 NIfTI-1 files with the slab's geometry (sform only; a qform-only
input is converted). The label is lesion where at least half the slab is lesion.
"""
import array, gzip, math, os, struct, sys

DTYPES = {2: "B", 4: "h", 8: "i", 16: "f", 64: "d", 256: "b", 512: "H", 768: "I"}


def affine(h):
    qcode, scode = struct.unpack("<2h", h[252:256])
    pix = struct.unpack("<8f", h[76:108])
    if scode > 0:
        s = struct.unpack("<12f", h[280:328])
        return [list(s[0:4]), list(s[4:8]), list(s[8:12])]
    b, c, d = struct.unpack("<3f", h[256:268])
    qo = struct.unpack("<3f", h[268:280])
    a = math.sqrt(max(0.0, 1.0 - (b * b + c * c + d * d)))
    r = [[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
         [2*(b*c+a*d), a*a+c*c-b*b-d*d, 2*(c*d-a*b)],
         [2*(b*d-a*c), 2*(c*d+a*b), a*a+d*d-c*c-b*b]]
    qfac = -1.0 if pix[0] < 0 else 1.0
    sc = [pix[1], pix[2], pix[3] * qfac]
    return [[r[i][0]*sc[0], r[i][1]*sc[1], r[i][2]*sc[2], qo[i]] for i in range(3)]


def main(src, out, slab):
    os.makedirs(out, exist_ok=True)
    for name in ("flair", "t1", "wmh"):
        raw = gzip.open(os.path.join(src, name + ".nii.gz")).read()
        h = bytearray(raw[:348])
        dim = list(struct.unpack("<8h", h[40:56]))
        nx, ny, nz = dim[1:4]
        dt = struct.unpack("<h", h[70:72])[0]
        off = int(struct.unpack("<f", h[108:112])[0])
        slope, inter = struct.unpack("<2f", h[112:120])
        if slope == 0:
            slope, inter = 1.0, 0.0
        data = array.array(DTYPES[dt])
        data.frombytes(raw[off:off + nx * ny * nz * data.itemsize])
        plane = nx * ny
        nzo = nz // slab
        outd = array.array("f", bytes(4 * plane * nzo))
        for k in range(nzo):
            acc = [0.0] * plane
            for s in range(slab):
                base = (k * slab + s) * plane
                sl = data[base:base + plane]
                acc = [x + y for x, y in zip(acc, sl)]
            if name == "wmh":
                vals = [1.0 if x * slope + inter >= 0.5 * slab - 1e-6 else 0.0 for x in acc]
            else:
                vals = [(x / slab) * slope + inter for x in acc]
            outd[k * plane:(k + 1) * plane] = array.array("f", vals)
        a = affine(h)
        # Slab k's centre is stored slice k*slab + (slab-1)/2.
        na = [[r[0], r[1], r[2] * slab, r[3] + r[2] * (slab - 1) / 2.0] for r in a]
        dim[3] = nzo
        h[40:56] = struct.pack("<8h", *dim)
        h[70:74] = struct.pack("<2h", 16, 32)
        pix = list(struct.unpack("<8f", h[76:108]))
        pix[3] *= slab
        h[76:108] = struct.pack("<8f", *pix)
        h[108:112] = struct.pack("<f", 352.0)
        h[112:120] = struct.pack("<2f", 1.0, 0.0)
        h[252:256] = struct.pack("<2h", 0, 1)
        h[280:328] = struct.pack("<12f", *(na[0] + na[1] + na[2]))
        with gzip.open(os.path.join(out, name + ".nii.gz"), "wb") as f:
            f.write(bytes(h) + b"\0\0\0\0" + outd.tobytes())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
