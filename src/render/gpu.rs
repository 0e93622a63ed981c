//! Draws [`Slice`]s with wgpu and `shaders/viewer.wgsl`: one pipeline, and per view a
//! pair of textures (intensities, labels) and a uniform block. The caller owns the
//! device, the target and the render pass, so the same code draws into a canvas
//! (WebGPU or WebGL2) and into an offscreen texture (native tests).

use wgpu::util::DeviceExt;

use super::{Display, MAX_ZOOM, Slice, view_centre};

/// The viewer's WGSL source.
pub const SHADER: &str = include_str!("../../shaders/viewer.wgsl");

/// Bytes of the shader's `Params` uniform block.
const PARAMS_BYTES: usize = 48;

/// The shader's `Params` block for a slice of `size` with its crosshair at `cursor`
/// (column, row) under `display`, little-endian as WGSL lays it out; `thick_rows` as
/// in [`Slice::thick_rows`].
pub fn params(
    size: (usize, usize),
    cursor: (usize, usize),
    display: &Display,
    srgb_target: bool,
    thick_rows: bool,
) -> [u8; PARAMS_BYTES] {
    let flags =
        u32::from(display.contour) | (u32::from(srgb_target) << 1) | (u32::from(thick_rows) << 2);
    let centre = view_centre(size, cursor, display);
    let words: [[u8; 4]; 12] = [
        (size.0 as f32).to_le_bytes(),
        (size.1 as f32).to_le_bytes(),
        (cursor.0 as f32).to_le_bytes(),
        (cursor.1 as f32).to_le_bytes(),
        display.level.to_le_bytes(),
        display.width.max(f32::EPSILON).to_le_bytes(),
        display.opacity.to_le_bytes(),
        flags.to_le_bytes(),
        centre[0].to_le_bytes(),
        centre[1].to_le_bytes(),
        display.zoom.clamp(1.0, MAX_ZOOM).to_le_bytes(),
        0f32.to_le_bytes(),
    ];
    let mut out = [0u8; PARAMS_BYTES];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w);
    }
    out
}

/// The render pipeline for one target format.
pub struct SliceRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    srgb_target: bool,
}

/// One view's GPU resources, sized for its slices.
pub struct ViewTarget {
    size: (usize, usize),
    /// Crosshair of the slice last uploaded.
    cursor: std::cell::Cell<(usize, usize)>,
    /// Whether the slice last uploaded has thick rows.
    thick_rows: std::cell::Cell<bool>,
    image: wgpu::Texture,
    labels: wgpu::Texture,
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

fn texture_entry(binding: u32, sample_type: wgpu::TextureSampleType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

impl SliceRenderer {
    /// Compiles the shader and builds the pipeline for targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("viewer.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("viewer"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1, wgpu::TextureSampleType::Float { filterable: false }),
                texture_entry(2, wgpu::TextureSampleType::Uint),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("viewer"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("viewer"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self {
            pipeline,
            layout,
            srgb_target: format.is_srgb(),
        }
    }

    /// Allocates one view's textures and uniform block for slices of `size` (width, height).
    pub fn view_target(&self, device: &wgpu::Device, size: (usize, usize)) -> ViewTarget {
        let texture = |label, format| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: size.0 as u32,
                    height: size.1 as u32,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            })
        };
        let image = texture("slice image", wgpu::TextureFormat::R32Float);
        let labels = texture("slice labels", wgpu::TextureFormat::R8Uint);
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("slice params"),
            contents: &[0; PARAMS_BYTES],
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("slice"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&view(&image)),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&view(&labels)),
                },
            ],
        });
        ViewTarget {
            size,
            cursor: Default::default(),
            thick_rows: Default::default(),
            image,
            labels,
            params,
            bind_group,
        }
    }

    /// Uploads `slice` into `target` (whose size must match the slice's); follow with
    /// [`Self::set_display`], which also carries the slice's crosshair.
    pub fn upload(&self, queue: &wgpu::Queue, target: &ViewTarget, slice: &Slice) {
        assert_eq!(
            target.size,
            (slice.width, slice.height),
            "a view target is allocated for one slice size"
        );
        let extent = wgpu::Extent3d {
            width: slice.width as u32,
            height: slice.height as u32,
            depth_or_array_layers: 1,
        };
        let write = |texture: &wgpu::Texture, bytes: &[u8], texel_bytes: usize| {
            queue.write_texture(
                texture.as_image_copy(),
                bytes,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some((slice.width * texel_bytes) as u32),
                    rows_per_image: Some(slice.height as u32),
                },
                extent,
            );
        };
        let image: Vec<u8> = slice.image.iter().flat_map(|v| v.to_le_bytes()).collect();
        write(&target.image, &image, 4);
        write(&target.labels, &slice.labels, 1);
        target.cursor.set(slice.cursor);
        target.thick_rows.set(slice.thick_rows);
    }

    /// Writes `display` (and the uploaded slice's crosshair) into `target`'s uniforms:
    /// all a window/level, opacity or contour change needs.
    pub fn set_display(&self, queue: &wgpu::Queue, target: &ViewTarget, display: &Display) {
        let block = params(
            target.size,
            target.cursor.get(),
            display,
            self.srgb_target,
            target.thick_rows.get(),
        );
        queue.write_buffer(&target.params, 0, &block);
    }

    /// Draws `target` into the pass's viewport `rect` (x, y, width, height in target pixels).
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, target: &ViewTarget, rect: [f32; 4]) {
        pass.set_viewport(rect[0], rect[1], rect[2], rect[3], 0.0, 1.0);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &target.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_the_wgsl_layout() {
        let d = Display {
            level: 5.0,
            width: 2.0,
            opacity: 0.25,
            contour: true,
            ..Display::default()
        };
        let p = params((3, 2), (1, 0), &d, true, true);
        let f = |i: usize| f32::from_le_bytes(p[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(
            [f(0), f(1), f(2), f(3), f(4), f(5), f(6)],
            [3.0, 2.0, 1.0, 0.0, 5.0, 2.0, 0.25]
        );
        assert_eq!(u32::from_le_bytes(p[28..32].try_into().unwrap()), 7);
        // Zoom 1: centred on the slice's middle.
        assert_eq!([f(8), f(9), f(10)], [1.5, 1.0, 1.0]);
    }
}
