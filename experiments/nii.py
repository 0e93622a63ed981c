"""The NIfTI-1 voxel reader the scratch analyses under experiments/ share (stdlib only)."""
import array, gzip, struct

TYPES = {2: "B", 4: "h", 16: "f", 512: "H"}


def load(path):
    """(dims, voxels) of a gzipped NIfTI-1 volume, scaled by its slope and intercept."""
    raw = gzip.open(path).read()
    dim = struct.unpack("<8h", raw[40:56])
    dt = struct.unpack("<h", raw[70:72])[0]
    off = int(struct.unpack("<f", raw[108:112])[0])
    slope, inter = struct.unpack("<2f", raw[112:120])
    a = array.array(TYPES[dt])
    n = dim[1] * dim[2] * dim[3]
    a.frombytes(raw[off:off + n * a.itemsize])
    if slope not in (0.0, 1.0) or inter != 0.0:
        a = array.array("f", (x * slope + inter for x in a))
    return dim[1:4], a
