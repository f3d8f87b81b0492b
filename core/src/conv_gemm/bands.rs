//! Splitting an NCHW output between threads.

/// Cuts every `plane`-long channel plane of `out` into pieces of `band` values (the last one
/// shorter) and groups them by position: item `i` holds piece `i` of every channel, which
/// one thread can then write while others write the rest.
pub(super) fn split_planes(out: &mut [f32], plane: usize, band: usize) -> Vec<Vec<&mut [f32]>> {
    let count = plane.div_ceil(band.max(1)).max(1);
    let mut bands: Vec<Vec<&mut [f32]>> = (0..count).map(|_| Vec::new()).collect();
    for channel in out.chunks_exact_mut(plane.max(1)) {
        let mut rest = channel;
        for piece in bands.iter_mut() {
            let (head, tail) = rest.split_at_mut(band.min(rest.len()));
            piece.push(head);
            rest = tail;
        }
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_pieces_by_position() {
        let mut out: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let bands = split_planes(&mut out, 5, 2);
        let seen: Vec<Vec<Vec<f32>>> = bands
            .iter()
            .map(|b| b.iter().map(|p| p.to_vec()).collect())
            .collect();
        assert_eq!(
            seen,
            [
                vec![vec![0., 1.], vec![5., 6.]],
                vec![vec![2., 3.], vec![7., 8.]],
                vec![vec![4.], vec![9.]],
            ]
        );
    }
}
