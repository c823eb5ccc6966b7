//! Embedding lookups and their gradient. Ids arrive as i32 bits in f32 slots.

/// The table row of an id, or `None` for one outside the table.
fn row_of(id: f32, table_rows: usize) -> Option<usize> {
    let id = id.to_bits() as i32;
    (0..table_rows as i32).contains(&id).then_some(id as usize)
}

/// `out[i, :] = table[ids[i], :]`, zeros for an id outside the table.
pub fn gather(table: &[f32], ids: &[f32], out: &mut [f32], dim: usize, table_rows: usize) {
    for (&id, row) in ids.iter().zip(out.chunks_exact_mut(dim)) {
        match row_of(id, table_rows) {
            Some(v) => row.copy_from_slice(&table[v * dim..][..dim]),
            None => row.fill(0.0),
        }
    }
}

/// `dtable[v, :] = Σ dy[i, :]` over the ids equal to `v`, in id order.
pub fn scatter_add(ids: &[f32], dy: &[f32], dtable: &mut [f32], dim: usize, table_rows: usize) {
    dtable[..table_rows * dim].fill(0.0);
    for (&id, g) in ids.iter().zip(dy.chunks_exact(dim)) {
        if let Some(v) = row_of(id, table_rows) {
            for (d, &g) in dtable[v * dim..][..dim].iter_mut().zip(g) {
                *d += g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[i32]) -> Vec<f32> {
        values.iter().map(|&v| f32::from_bits(v as u32)).collect()
    }

    #[test]
    fn rows_are_looked_up_and_gradients_summed_per_id() {
        let table = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0];
        let ids = ids(&[2, 0, 2, 7, -1]);
        let mut out = [9.0; 10];
        gather(&table, &ids, &mut out, 2, 3);
        assert_eq!(out, [20.0, 21.0, 0.0, 1.0, 20.0, 21.0, 0.0, 0.0, 0.0, 0.0]);
        let dy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let mut dtable = [9.0; 6];
        scatter_add(&ids, &dy, &mut dtable, 2, 3);
        assert_eq!(dtable, [3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
    }
}
