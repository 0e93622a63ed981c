// The viewer's slice shader: one full-viewport triangle per view; the fragment stage
// windows the image, blends the WMH overlay, marks the WM-region contour and draws the
// crosshair. `Slice::shade` in src/render/mod.rs is its CPU reference, and
// tests/render_gpu.rs holds the two to the same pixels.
//
// Written for both WebGPU and wgpu's WebGL2 path: integer and unfilterable float
// textures read with textureLoad (no samplers, so no filtering rules), one uniform
// block, no storage buffers.

struct Params {
    // Slice width and height in texels.
    size: vec2<f32>,
    // Crosshair column and row (texel index).
    cursor: vec2<f32>,
    level: f32,
    width: f32,
    opacity: f32,
    // Bit 0: draw the WM contour. Bit 1: the target stores sRGB, so encode linear.
    // Bit 2: rows are thick slices, so the contour is left to the in-plane view.
    flags: u32,
    // The slice point (texels) at the view's middle, and the magnification.
    centre: vec2<f32>,
    zoom: f32,
    pad: f32,
};

const LABEL_WMH: u32 = 1u;
const LABEL_REGION: u32 = 2u;
const WMH_RGB: vec3<f32> = vec3<f32>(1.0, 40.0 / 255.0, 40.0 / 255.0);
const CONTOUR_RGB: vec3<f32> = vec3<f32>(1.0, 210.0 / 255.0, 0.0);

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var image: texture_2d<f32>;
@group(0) @binding(2) var labels: texture_2d<u32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    // Position in the slice, in texels: (0, 0) top-left, `size` bottom-right (at zoom 1).
    @location(0) texel: vec2<f32>,
};

// A triangle covering the viewport: (-1, -1), (3, -1), (-1, 3).
@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VertexOut {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    var out: VertexOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.texel = params.centre + (uv - 0.5) * params.size / params.zoom;
    return out;
}

fn region_at(c: vec2<i32>) -> bool {
    return (textureLoad(labels, c, 0).r & LABEL_REGION) != 0u;
}

fn on_contour(c: vec2<i32>) -> bool {
    let last = vec2<i32>(params.size) - 1;
    // Thick rows: the region is outlined in the in-plane view only.
    if (params.flags & 4u) != 0u || !region_at(c) {
        return false;
    }
    if any(c == vec2<i32>(0)) || any(c == last) {
        return true;
    }
    return !region_at(c + vec2<i32>(-1, 0)) || !region_at(c + vec2<i32>(1, 0))
        || !region_at(c + vec2<i32>(0, -1)) || !region_at(c + vec2<i32>(0, 1));
}

// The sRGB decoding curve. A target that encodes to sRGB on write turns
// srgb_to_linear(c) back into c.
fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    // Screen-pixel size in texels, taken in uniform control flow.
    let pixel = fwidth(in.texel);
    let c = clamp(vec2<i32>(floor(in.texel)), vec2<i32>(0), vec2<i32>(params.size) - 1);
    let v = textureLoad(image, c, 0).r;
    let label = textureLoad(labels, c, 0).r;
    var px = vec3<f32>(clamp((v - (params.level - params.width / 2.0)) / params.width, 0.0, 1.0));
    if (label & LABEL_WMH) != 0u {
        px = px * (1.0 - params.opacity) + WMH_RGB * params.opacity;
    }
    if (params.flags & 1u) != 0u && on_contour(c) {
        px = CONTOUR_RGB;
    }
    // The crosshair takes the one screen pixel whose footprint holds the cursor
    // texel's centre (nudged off exact pixel edges, where rounding would pick 0 or 2).
    let centre = params.cursor + 0.5 + 1.0 / 1024.0;
    let lo = in.texel - 0.5 * pixel;
    let hit = (lo <= centre) & (centre < lo + pixel);
    if hit.x || hit.y {
        px = vec3<f32>(px.r * 0.5, px.g * 0.5 + 0.5, px.b * 0.5 + 0.5);
    }
    if (params.flags & 2u) != 0u {
        px = srgb_to_linear(px);
    }
    return vec4<f32>(px, 1.0);
}
