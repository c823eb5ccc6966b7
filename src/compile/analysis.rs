//! The per-layer table of a checked model, as MATLAB's network analyzer shows it: shapes in and
//! out, parameters, FLOPs, the memory a training step gives the layer, and its problems. The
//! window's Analyze view and `netloom check` print the same rows; both export them as CSV.

use std::collections::HashMap;

use super::budget::{bytes_text, node_shares};
use super::check::{Location, Model, Severity};
use crate::graph::{Layer, NodeId, Optimizer};

pub struct LayerRow {
    pub node: NodeId,
    pub name: String,
    pub layer: &'static str,
    /// The shape on each input port, `?` where nothing or nothing checked arrives.
    pub inputs: String,
    pub output: String,
    pub params: usize,
    pub flops: u64,
    /// Weights, gradients, optimizer state and outputs at the batch size, in bytes.
    pub memory_bytes: f64,
    /// `error: ...` and `warning: ...`, one per problem on the node.
    pub problems: Vec<String>,
}

/// One row per node, in the order data flows (nodes on a loop last), in linear time.
pub fn layer_table(model: &Model, optimizer: Optimizer, batch_size: usize) -> Vec<LayerRow> {
    let graph = &model.graph;
    let mut problems: HashMap<NodeId, Vec<String>> = HashMap::new();
    for p in &model.problems {
        if let Location::Node(id) = p.location {
            let severity = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            problems
                .entry(id)
                .or_default()
                .push(format!("{severity}: {}", p.message));
        }
    }
    let mut ordered = vec![false; graph.nodes.len()];
    for &i in &model.order {
        ordered[i] = true;
    }
    let unordered = (0..graph.nodes.len()).filter(|&i| !ordered[i]);
    let shares = node_shares(model, optimizer, batch_size);
    model
        .order
        .iter()
        .copied()
        .chain(unordered)
        .map(|i| {
            let node = &graph.nodes[i];
            let info = &model.nodes[i];
            let inputs: Vec<String> = info
                .inputs
                .iter()
                .map(|input| input.as_ref().map_or("?".into(), |(_, s)| s.to_string()))
                .collect();
            let output = match (&node.layer, &info.output) {
                (Layer::Loss { .. }, _) => "(loss)".to_string(),
                (_, Some(shape)) => shape.to_string(),
                (_, None) => "?".to_string(),
            };
            LayerRow {
                node: node.id,
                name: node.name.clone(),
                layer: node.layer.kind_label(),
                inputs: inputs.join(" "),
                output,
                params: info.params,
                flops: info.flops,
                memory_bytes: shares[i].total(),
                problems: problems.remove(&node.id).unwrap_or_default(),
            }
        })
        .collect()
}

/// The table as CSV, a row per layer; fields with commas or quotes are quoted.
pub fn table_csv(rows: &[LayerRow]) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let mut csv = String::from("node,layer,input,output,params,flops,memory_bytes,problems\n");
    for r in rows {
        let cells = [
            field(&r.name),
            field(r.layer),
            field(&r.inputs),
            field(&r.output),
            r.params.to_string(),
            r.flops.to_string(),
            format!("{:.0}", r.memory_bytes),
            field(&r.problems.join("; ")),
        ];
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    csv
}

/// A row's memory as people read it: "4.0 MB".
pub fn memory_text(row: &LayerRow) -> String {
    bytes_text(row.memory_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::check;
    use crate::graph::{Activation, Graph, Init};

    #[test]
    fn the_table_has_a_row_per_layer_with_shapes_counts_memory_and_problems() {
        let mut g = Graph::chain([
            Layer::input(vec![4]),
            Layer::Dense {
                units: 3,
                bias: true,
                activation: Activation::Relu,
                init: Init::default(),
            },
            Layer::Flatten,
        ]);
        g.nodes[2].name = "flat, \"odd\"".into();
        let model = check(&g, None);
        let rows = layer_table(&model, Optimizer::default(), 10);
        assert_eq!(rows.len(), 3);
        let dense = &rows[1];
        assert_eq!(
            (dense.inputs.as_str(), dense.output.as_str()),
            ("[4]", "[3]")
        );
        assert_eq!(dense.params, 15);
        // 15 weights, with gradient, Adam's two moments and the watched change (3 + 2 more
        // copies), and 3 outputs per sample for 10 samples, three times over.
        assert_eq!(dense.memory_bytes, 4.0 * (15.0 * 6.0 + 3.0 * 10.0 * 3.0));
        assert!(rows[2].problems.iter().any(|p| p.starts_with("error: ")));
        let csv = table_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[2].starts_with("dense,Dense,[4],[3],15,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("\"flat, \"\"odd\"\"\",Flatten"),
            "{}",
            lines[3]
        );
    }
}
