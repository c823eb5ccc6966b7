// Embedding lookups and their gradient. Ids are i32; an id outside the table reads zeros and
// adds nothing (ids are checked when data is loaded).

struct Params {
    dim: u32,
    table_rows: u32,
    // Ids per sample (the time steps), for the gradient's walk over the live rows.
    ids_per_row: u32,
    padding: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> source: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn row_of(i: u32) -> i32 {
    let id = bitcast<i32>(ids[i]);
    return select(-1, id, id >= 0 && id < i32(params.table_rows));
}

// One thread per output value of the live rows: out[i, d] = table[ids[i], d].
@compute @workgroup_size(256)
fn embedding(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let token = i / params.dim;
    if token >= globals.rows * params.ids_per_row {
        return;
    }
    let row = row_of(token);
    out[i] = select(0.0, source[u32(max(row, 0)) * params.dim + i % params.dim], row >= 0);
}

// One thread per table value, summing the gradient of every token with its id in id order:
// no atomics, and the same sum as the CPU's.
@compute @workgroup_size(256)
fn embedding_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i >= params.table_rows * params.dim {
        return;
    }
    let v = i32(i / params.dim);
    let d = i % params.dim;
    let tokens = globals.rows * params.ids_per_row;
    var sum = 0.0;
    for (var t = 0u; t < tokens; t++) {
        if row_of(t) == v {
            sum += source[t * params.dim + d];
        }
    }
    out[i] = sum;
}
