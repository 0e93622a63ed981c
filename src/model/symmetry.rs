//! Test-time averaging over the slice's in-plane symmetries.
//!
//! Training shows the network every slice mirrored and turned (see `train::augment`),
//! yet a trained network is not exactly invariant: its probabilities for a slice and for
//! the same slice mirrored differ. Averaging them over the square's symmetries (mirror
//! images, quarter turns, transposes) is a slower, steadier answer; on the
//! cross-validation folds all eight raise mean DSC from 0.533 to 0.556 at the shipped
//! threshold (`weights/MODEL_CARD.md`, "Speed"; `experiments/history.md`, "Test-time
//! symmetries").

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;

/// Which in-plane symmetries a network's probabilities are averaged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Symmetries {
    /// The slice as it is (one pass per network; the default).
    #[default]
    One,
    /// The slice and its left-right mirror image (two passes).
    Mirror,
    /// All eight symmetries of the square: four turns, each also mirrored (eight passes).
    Eight,
}

/// One symmetry of the square acting on `[n, c, rows, cols]`: an optional transpose,
/// then optional flips of rows and of columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transform {
    /// Swap rows and columns first.
    pub transpose: bool,
    /// Then reverse the row order (anterior-posterior in the canonical plane).
    pub flip_rows: bool,
    /// Then reverse the column order (left-right in the canonical plane).
    pub flip_cols: bool,
}

/// The identity, then the mirror, then the other six: a prefix is a subgroup's list.
const ALL: [Transform; 8] = {
    const fn t(transpose: bool, flip_rows: bool, flip_cols: bool) -> Transform {
        Transform {
            transpose,
            flip_rows,
            flip_cols,
        }
    }
    [
        t(false, false, false),
        t(false, false, true),
        t(false, true, false),
        t(false, true, true),
        t(true, false, false),
        t(true, false, true),
        t(true, true, false),
        t(true, true, true),
    ]
};

impl Symmetries {
    /// Network passes per slice.
    pub fn count(self) -> usize {
        self.transforms().len()
    }

    /// The transforms averaged over, the identity first.
    pub fn transforms(self) -> &'static [Transform] {
        match self {
            Self::One => &ALL[..1],
            Self::Mirror => &ALL[..2],
            Self::Eight => &ALL,
        }
    }
}

impl fmt::Display for Symmetries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.count())
    }
}

impl FromStr for Symmetries {
    type Err = String;

    /// `1`, `2` or `8`: the number of symmetries (passes per network).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1" => Ok(Self::One),
            "2" => Ok(Self::Mirror),
            "8" => Ok(Self::Eight),
            _ => Err(format!(
                "{s:?} symmetries: 1 (as is), 2 (and its mirror image) or 8 (all of the square's)"
            )),
        }
    }
}

impl Transform {
    /// The transformed input, `[n, c, rows, cols]` (rows and columns swap with a transpose).
    pub fn apply(self, mut x: Tensor<4>) -> Tensor<4> {
        if self.transpose {
            x = x.swap_dims(2, 3);
        }
        if self.flip_rows {
            x = x.flip([2]);
        }
        if self.flip_cols {
            x = x.flip([3]);
        }
        x
    }

    /// The inverse of [`Transform::apply`]: the steps undone in reverse order.
    pub fn undo(self, mut x: Tensor<4>) -> Tensor<4> {
        if self.flip_cols {
            x = x.flip([3]);
        }
        if self.flip_rows {
            x = x.flip([2]);
        }
        if self.transpose {
            x = x.swap_dims(2, 3);
        }
        x
    }
}

/// The mean over `symmetries` of `f` seen through each transform: `undo(f(apply(x)))`.
/// With [`Symmetries::One`] this is `f(x)` exactly.
pub fn averaged(
    x: Tensor<4>,
    symmetries: Symmetries,
    f: impl Fn(Tensor<4>) -> Tensor<4>,
) -> Tensor<4> {
    let transforms = symmetries.transforms();
    let (first, rest) = transforms.split_first().expect("the identity is listed");
    let sum = rest
        .iter()
        .fold(first.undo(f(first.apply(x.clone()))), |s, t| {
            s + t.undo(f(t.apply(x.clone())))
        });
    // Dividing by 1 is exact, so one symmetry leaves `f`'s output unchanged.
    sum.div_scalar(transforms.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UNetConfig;
    use burn::tensor::activation::sigmoid;

    fn values(x: Tensor<4>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    /// A `[1, 1, 2, 3]` ramp whose every entry differs, so any misplaced value shows.
    fn ramp(device: &Device) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], [1, 1, 2, 3]),
            device,
        )
    }

    #[test]
    fn transforms_act_as_written_and_undo_exactly() {
        let device = Device::flex();
        let x = ramp(&device);
        let mirror = ALL[1].apply(x.clone());
        assert_eq!(values(mirror), [2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
        let transposed = ALL[4].apply(x.clone());
        assert_eq!(transposed.dims(), [1, 1, 3, 2]);
        assert_eq!(values(transposed), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // Transpose then flip rows is a quarter turn anticlockwise: the last column
        // becomes the first row.
        assert_eq!(
            values(ALL[6].apply(x.clone())),
            [2.0, 5.0, 1.0, 4.0, 0.0, 3.0]
        );
        for t in ALL {
            assert_eq!(
                values(t.undo(t.apply(x.clone()))),
                values(x.clone()),
                "{t:?}"
            );
        }
    }

    #[test]
    fn the_eight_are_distinct_and_prefixes_are_the_subgroups() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..9).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 3, 3]),
            &device,
        );
        let images: Vec<Vec<f32>> = ALL.iter().map(|t| values(t.apply(x.clone()))).collect();
        for (i, a) in images.iter().enumerate() {
            for b in &images[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(Symmetries::One.transforms(), &ALL[..1]);
        assert_eq!(Symmetries::Mirror.transforms(), &ALL[..2]);
        assert_eq!(
            [Symmetries::One, Symmetries::Mirror, Symmetries::Eight].map(Symmetries::count),
            [1, 2, 8]
        );
    }

    #[test]
    fn counts_parse_and_print_and_others_are_refused() {
        for s in [Symmetries::One, Symmetries::Mirror, Symmetries::Eight] {
            assert_eq!(s.to_string().parse::<Symmetries>(), Ok(s));
        }
        for bad in ["0", "4", "eight", ""] {
            assert!(bad.parse::<Symmetries>().unwrap_err().contains("1 (as is)"));
        }
    }

    #[test]
    fn one_symmetry_is_the_network_itself_bit_for_bit() {
        let device = Device::flex();
        let net = UNetConfig::new()
            .with_base_width(8)
            .with_context(0)
            .init(&device);
        let x = Tensor::<4>::random([2, 1, 16, 24], burn::tensor::Distribution::Default, &device);
        let f = |x| sigmoid(net.forward(x));
        assert_eq!(
            values(averaged(x.clone(), Symmetries::One, f)),
            values(f(x))
        );
    }

    #[test]
    fn averaging_over_a_group_makes_the_output_equivariant() {
        // For any network f, the mean over a group G of g^-1 f g commutes with every
        // element of G: averaging over the mirror commutes with the mirror, over all
        // eight with all eight, up to the order of the floating-point sum.
        let device = Device::flex();
        let net = UNetConfig::new()
            .with_base_width(8)
            .with_context(1)
            .init(&device);
        let f = |x| sigmoid(net.forward(x));
        let x = Tensor::<4>::random([1, 3, 16, 24], burn::tensor::Distribution::Default, &device);
        for symmetries in [Symmetries::Mirror, Symmetries::Eight] {
            let base = averaged(x.clone(), symmetries, f);
            for t in symmetries.transforms() {
                let moved = values(averaged(t.apply(x.clone()), symmetries, f));
                let want = values(t.apply(base.clone()));
                for (a, b) in moved.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-6, "{symmetries:?} {t:?}: {a} vs {b}");
                }
            }
        }
        // A plain network is not invariant, so the test above has teeth.
        let plain = values(f(ALL[1].apply(x.clone())));
        let mirrored = values(ALL[1].apply(f(x)));
        let gap = plain
            .iter()
            .zip(&mirrored)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(gap > 1e-4, "{gap}");
    }
}
