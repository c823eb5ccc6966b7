//! Blocks: small graphs of layers placed together and framed on the canvas as one group, whose
//! layers stay ordinary nodes the user can open and change.

use super::{Activation, Graph, Group, Init, Layer, NodeId};

/// A pre-norm transformer block over a sequence of `width` features, as GPT-2 stacks them:
/// `x + attention(LayerNorm(x))`, then `+ MLP(LayerNorm(·))` with a GELU between two Dense
/// layers four times wider than the stream.
pub struct TransformerBlock {
    pub width: usize,
    pub heads: usize,
}

impl TransformerBlock {
    /// A block for a stream of `width` features, with as many heads (of 4, 2, 1) as divide it.
    pub fn for_width(width: usize) -> Self {
        let width = width.max(1);
        let heads = [4, 2, 1]
            .into_iter()
            .find(|h| width.is_multiple_of(*h))
            .unwrap_or(1);
        Self { width, heads }
    }
}

impl Graph {
    /// A name no group has yet, for a group like `like`: "Transformer block 2" when
    /// "Transformer block 1" exists (a trailing number of `like` is replaced). Names kept in
    /// `groups` count as taken, so a new group never inherits a deleted one's collapsed box.
    pub fn fresh_group_name(&self, like: &str) -> String {
        let kind = like
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end();
        (1..)
            .map(|n| format!("{kind} {n}"))
            .find(|name| {
                self.nodes.iter().all(|n| n.group.as_deref() != Some(name))
                    && self.groups.iter().all(|g| g.name != *name)
            })
            .unwrap_or_else(|| kind.to_string())
    }

    /// Whether the group of that name is drawn as one box.
    pub fn is_collapsed(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g.name == group && g.collapsed)
    }

    /// Draws the group of that name as one box, or opens it again.
    pub fn set_collapsed(&mut self, group: &str, collapsed: bool) {
        match self.groups.iter_mut().find(|g| g.name == group) {
            Some(g) => g.collapsed = collapsed,
            None => self.groups.push(Group {
                name: group.to_string(),
                collapsed,
            }),
        }
    }

    /// Adds a transformer block fed by `from` (when given), its first row of nodes at `origin`
    /// and the next `spacing[1]` below, `spacing[0]` apart; returns the block's output node.
    pub fn add_transformer_block(
        &mut self,
        block: &TransformerBlock,
        from: Option<NodeId>,
        origin: [f32; 2],
        spacing: [f32; 2],
    ) -> NodeId {
        let group = self.fresh_group_name("Transformer block");
        let [x, y] = origin;
        let [dx, dy] = spacing;
        let add = |graph: &mut Graph, layer: Layer, at: [f32; 2]| {
            let id = graph.add_node(layer, at);
            if let Some(i) = graph.node_index(id) {
                graph.nodes[i].group = Some(group.clone());
            }
            id
        };
        let norm = || Layer::LayerNorm { epsilon: 1e-5 };
        let dense = |units, activation| Layer::Dense {
            units,
            bias: true,
            activation,
            init: Init::default(),
        };
        let attention = Layer::MultiHeadAttention {
            heads: block.heads,
            causal: true,
            dropout: 0.0,
        };
        let norm1 = add(self, norm(), [x, y]);
        let attend = add(self, attention, [x + dx, y]);
        let mixed = add(self, Layer::Add { inputs: 2 }, [x + 2.0 * dx, y]);
        let norm2 = add(self, norm(), [x, y + dy]);
        let wide = add(
            self,
            dense(4 * block.width, Activation::Gelu),
            [x + dx, y + dy],
        );
        let narrow = add(
            self,
            dense(block.width, Activation::Identity),
            [x + 2.0 * dx, y + dy],
        );
        let out = add(self, Layer::Add { inputs: 2 }, [x + 3.0 * dx, y + dy]);
        if let Some(from) = from {
            self.connect(from, norm1, 0);
            self.connect(from, mixed, 0);
        }
        self.connect(norm1, attend, 0);
        self.connect(attend, mixed, 1);
        self.connect(mixed, norm2, 0);
        self.connect(norm2, wide, 0);
        self.connect(wide, narrow, 0);
        self.connect(mixed, out, 0);
        self.connect(narrow, out, 1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collapsed_group_is_saved_and_files_without_groups_still_load() {
        let mut graph = Graph::default();
        graph.add_transformer_block(&TransformerBlock::for_width(8), None, [0.0; 2], [1.0; 2]);
        assert!(!graph.is_collapsed("Transformer block 1"));
        graph.set_collapsed("Transformer block 1", true);
        graph.set_collapsed("Transformer block 1", true);
        assert_eq!(graph.groups.len(), 1, "one entry per group");
        let text = serde_json::to_string(&graph).unwrap();
        let read: Graph = serde_json::from_str(&text).unwrap();
        assert!(read.is_collapsed("Transformer block 1"));

        // Once the block is deleted, a new one gets a name of its own and opens expanded.
        let mut emptied = read.clone();
        emptied.nodes.clear();
        emptied.edges.clear();
        emptied.add_transformer_block(&TransformerBlock::for_width(8), None, [0.0; 2], [1.0; 2]);
        let name = emptied.nodes[0].group.clone().unwrap();
        assert_eq!(name, "Transformer block 2");
        assert!(!emptied.is_collapsed(&name));

        let plain = r#"{"nodes": [], "edges": []}"#;
        let read: Graph = serde_json::from_str(plain).unwrap();
        assert!(read.groups.is_empty());
        let text = serde_json::to_string(&read).unwrap();
        assert!(
            !text.contains("groups"),
            "a graph without groups writes none: {text}"
        );
    }
}
