"""Axial montage PNG of an image with up to two masks outlined (red, green), stdlib only.
montage.py IMAGE OUT.png [MASK_RED] [MASK_GREEN] [--step N]"""
import sys, os, zlib, struct
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nii

args = [a for a in sys.argv[1:] if not a.startswith("--")]
step = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--step=")), 2))
(dx, dy, dz), img = nii.load(args[0])
masks = [nii.load(p)[1] if p != "-" else None for p in args[2:4]]
vals = sorted(img[::97])
lo, hi = vals[len(vals) // 100], vals[len(vals) * int(next((a.split("=")[1] for a in sys.argv if a.startswith("--hi=")), 995)) // 1000]
zs = list(range(int(next((a.split("=")[1] for a in sys.argv if a.startswith("--from=")), 0)), int(next((a.split("=")[1] for a in sys.argv if a.startswith("--to=")), dz)), step))
cols = 6
rows = (len(zs) + cols - 1) // cols
W, H = cols * dx, rows * dy
pix = bytearray(W * H * 3)
def at(m, x, y, z):
    return 0 <= x < dx and 0 <= y < dy and m[x + dx * (y + dy * z)] != 0
for n, z in enumerate(zs):
    ox, oy = (n % cols) * dx, (n // cols) * dy
    for y in range(dy):
        for x in range(dx):
            v = img[x + dx * (y + dy * z)]
            g = int(max(0, min(255, (v - lo) / (hi - lo + 1e-9) * 255)))
            c = [g, g, g]
            for k, m in enumerate(masks):
                if m is not None and at(m, x, y, z) and not all(at(m, x + a, y + b, z) for a, b in ((1, 0), (-1, 0), (0, 1), (0, -1))):
                    c = [255, 0, 0] if k == 0 else [0, 255, 0]
            p = ((oy + dy - 1 - y) * W + ox + x) * 3
            pix[p:p + 3] = bytes(c)
raw = b"".join(b"\0" + bytes(pix[r * W * 3:(r + 1) * W * 3]) for r in range(H))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(args[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
