//! The smooth bias field: a weighted least-squares polynomial in the voxel position,
//! solved by Cholesky.

/// Monomials x^a y^b z^c with a + b + c <= `degree`, as exponent triples.
pub fn monomials(degree: usize) -> Vec<[u32; 3]> {
    let mut out = Vec::new();
    for a in 0..=degree as u32 {
        for b in 0..=degree as u32 - a {
            for c in 0..=degree as u32 - a - b {
                out.push([a, b, c]);
            }
        }
    }
    out
}

fn basis(p: [f32; 3], terms: &[[u32; 3]], out: &mut [f64]) {
    for (o, t) in out.iter_mut().zip(terms) {
        *o = (p[0].powi(t[0] as i32) * p[1].powi(t[1] as i32) * p[2].powi(t[2] as i32)) as f64;
    }
}

/// Solves the symmetric positive-definite system `a x = b` (row-major `n x n`) by
/// Cholesky, with a tiny ridge so a rank-deficient basis still gives an answer.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let trace = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j] + if i == j { 1e-9 * trace.max(1e-30) } else { 0.0 };
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = if i == j {
                s.max(1e-300).sqrt()
            } else {
                s / l[j * n + j]
            };
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// Least-squares polynomial of `degree` through (`points`, `values`) with `weights`,
/// evaluated back at the points; points are in [-1, 1]^3.
pub fn fit_polynomial(
    points: &[[f32; 3]],
    values: &[f32],
    weights: &[f32],
    degree: usize,
) -> Vec<f32> {
    let terms = monomials(degree);
    let m = terms.len();
    let mut ata = vec![0.0f64; m * m];
    let mut atb = vec![0.0f64; m];
    let mut row = vec![0.0f64; m];
    // Every third point is plenty for a smooth field and keeps this cheap.
    for ((p, &v), &w) in points.iter().zip(values).zip(weights).step_by(3) {
        basis(*p, &terms, &mut row);
        for i in 0..m {
            atb[i] += w as f64 * row[i] * v as f64;
            for j in 0..=i {
                ata[i * m + j] += w as f64 * row[i] * row[j];
            }
        }
    }
    for i in 0..m {
        for j in i + 1..m {
            ata[i * m + j] = ata[j * m + i];
        }
    }
    let coef = solve_spd(&ata, &atb);
    points
        .iter()
        .map(|p| {
            basis(*p, &terms, &mut row);
            row.iter().zip(&coef).map(|(r, c)| r * c).sum::<f64>() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monomials_count_matches_degree() {
        assert_eq!(monomials(0).len(), 1);
        assert_eq!(monomials(2).len(), 10);
        assert_eq!(monomials(3).len(), 20);
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        let a = [4.0, 2.0, 0.0, 2.0, 5.0, 1.0, 0.0, 1.0, 3.0];
        let x = solve_spd(&a, &[2.0, 3.0, 4.0]);
        let b: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum())
            .collect();
        for (got, want) in b.iter().zip([2.0, 3.0, 4.0]) {
            assert!((got - want).abs() < 1e-6);
        }
    }

    #[test]
    fn polynomial_fit_recovers_a_quadratic_field() {
        let mut points = Vec::new();
        let mut values = Vec::new();
        for i in 0..9 {
            for j in 0..9 {
                for k in 0..9 {
                    let p = [
                        i as f32 / 4.0 - 1.0,
                        j as f32 / 4.0 - 1.0,
                        k as f32 / 4.0 - 1.0,
                    ];
                    values.push(0.3 + 0.2 * p[0] - 0.1 * p[1] * p[2] + 0.05 * p[2] * p[2]);
                    points.push(p);
                }
            }
        }
        let fit = fit_polynomial(&points, &values, &vec![1.0; values.len()], 2);
        let worst = fit
            .iter()
            .zip(&values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-4, "fit error {worst}");
    }
}
