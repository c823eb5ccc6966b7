//! The open project and every edit to it, with undo and redo, independent of drawing. Each edit
//! snapshots the project first (projects are small, so the history needs no practical limit) and
//! checks the graph again, which takes microseconds.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::canvas::NODE_SIZE;
use crate::compile::{self, DataInfo, FixAction, Model};
use crate::data::DatasetSpec;
use crate::graph::{Edge, Graph, Layer, Node, NodeId, PortRef, Project, TransformerBlock};

/// Edits of one kind made in one gesture (dragging nodes, typing in a field) undo together.
#[derive(Clone, Debug, PartialEq)]
pub enum Gesture {
    Move,
    Setting(NodeId, &'static str),
    Training(&'static str),
    /// Never merged with another edit.
    Single,
}

/// Nodes and the wires between them, as copied. It also travels through the system clipboard
/// as JSON, so that Ctrl+V reaches the window (it sends nothing while the clipboard is empty)
/// and a copy pastes into another window.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Clip {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// Marks clipboard text as a Netloom clip.
#[derive(serde::Serialize, serde::Deserialize)]
struct ClipText {
    netloom_clip: Clip,
}

impl Clip {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(&ClipText {
            netloom_clip: self.clone(),
        })
        .unwrap_or_default()
    }

    /// The clip in clipboard text, if that is what it holds.
    pub fn from_text(text: &str) -> Option<Clip> {
        serde_json::from_str::<ClipText>(text)
            .ok()
            .map(|c| c.netloom_clip)
    }
}

/// Whether nodes at `a` and `b` (top-left corners) would overlap, with a margin.
fn overlaps(a: [f32; 2], b: [f32; 2]) -> bool {
    let margin = 16.0;
    (a[0] - b[0]).abs() < NODE_SIZE.x + margin && (a[1] - b[1]).abs() < NODE_SIZE.y + margin
}

/// How far down to move nodes at `positions` (from `wanted` on) so that none overlaps a node of
/// `graph`: the first free row at or below.
fn clear_shift(graph: &Graph, positions: &[[f32; 2]], wanted: [f32; 2]) -> [f32; 2] {
    let mut shift = wanted;
    for _ in 0..1000 {
        let blocked = positions.iter().any(|p| {
            let moved = [p[0] + shift[0], p[1] + shift[1]];
            graph.nodes.iter().any(|n| overlaps(n.position, moved))
        });
        if !blocked {
            break;
        }
        shift[1] += NODE_SIZE.y / 2.0;
    }
    shift
}

pub struct Editor {
    pub project: Project,
    /// Where the project was opened from or last saved to.
    pub path: Option<PathBuf>,
    pub model: Model,
    pub selection: BTreeSet<NodeId>,
    /// What the dataset feeds the network, and how many samples it has, once it has loaded.
    data: Option<(DataInfo, usize)>,
    /// Earlier and later states, each with its `state` number.
    undo: Vec<(Project, u64)>,
    redo: Vec<(Project, u64)>,
    /// The gesture the newest undo step belongs to, while it may still grow.
    open_gesture: Option<Gesture>,
    /// Counts edits, undo and redo included.
    version: u64,
    /// Names the project's state: a new number for each edit, the same number again when undo
    /// or redo returns to a state. The project is unsaved while it differs from `saved_at`.
    state: u64,
    states_made: u64,
    saved_at: u64,
}

/// Canvas spacing of the automatic layout: a node's width plus room for the shape label on
/// the wire between two columns (`[16, 28, 28]` with the ports either side), and a node's
/// height plus a gap.
const COLUMN: f32 = 300.0;
const ROW: f32 = 140.0;
/// The fewest columns a long chain wraps at: a chain laid out in one row is too wide to read
/// once fitted to a window.
const MIN_COLUMNS: usize = 3;

impl Editor {
    pub fn new(project: Project, path: Option<PathBuf>) -> Self {
        let mut editor = Self {
            project,
            path,
            model: Model::default(),
            selection: BTreeSet::new(),
            data: None,
            undo: Vec::new(),
            redo: Vec::new(),
            open_gesture: None,
            version: 0,
            state: 0,
            states_made: 0,
            saved_at: 0,
        };
        editor.recheck();
        editor
    }

    fn recheck(&mut self) {
        let (data, samples) = match &self.data {
            Some((info, samples)) => (Some(info), Some(*samples)),
            None => (None, None),
        };
        self.model = compile::check_project(&self.project, data, samples);
        let graph = &self.project.graph;
        self.selection.retain(|&id| graph.node(id).is_some());
    }

    /// What the dataset feeds the network, once it has loaded.
    pub fn set_data_info(&mut self, data: Option<(DataInfo, usize)>) {
        self.data = data;
        self.recheck();
    }

    pub fn data_info(&self) -> Option<&DataInfo> {
        self.data.as_ref().map(|(info, _)| info)
    }

    /// Counts edits (undo and redo included): what watchers of the project compare.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn is_dirty(&self) -> bool {
        self.state != self.saved_at
    }

    pub fn mark_saved(&mut self, path: PathBuf) {
        self.path = Some(path);
        self.saved_at = self.state;
    }

    /// Treats the changes as dealt with (the user chose not to save them).
    pub fn mark_saved_as_is(&mut self) {
        self.saved_at = self.state;
    }

    /// Treats the project as never saved (work restored after a crash).
    pub fn mark_unsaved(&mut self) {
        self.saved_at = u64::MAX;
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Applies `change` as one undoable step, or as part of the open step of the same gesture.
    pub fn edit(&mut self, gesture: Gesture, change: impl FnOnce(&mut Project)) {
        let merges = gesture != Gesture::Single && self.open_gesture.as_ref() == Some(&gesture);
        let before = self.project.clone();
        change(&mut self.project);
        if self.project == before {
            return;
        }
        if !merges {
            self.undo.push((before, self.state));
        }
        self.open_gesture = Some(gesture);
        self.changed();
    }

    /// After an edit: a new state, nothing to redo, and the model checked again.
    fn changed(&mut self) {
        self.states_made += 1;
        self.state = self.states_made;
        self.redo.clear();
        self.version += 1;
        self.recheck();
    }

    /// Ends the open gesture: the next edit starts a new undo step.
    pub fn seal(&mut self) {
        self.open_gesture = None;
    }

    pub fn undo(&mut self) {
        if let Some((previous, state)) = self.undo.pop() {
            let current = std::mem::replace(&mut self.project, previous);
            self.redo
                .push((current, std::mem::replace(&mut self.state, state)));
            self.after_history_move();
        }
    }

    pub fn redo(&mut self) {
        if let Some((next, state)) = self.redo.pop() {
            let current = std::mem::replace(&mut self.project, next);
            self.undo
                .push((current, std::mem::replace(&mut self.state, state)));
            self.after_history_move();
        }
    }

    fn after_history_move(&mut self) {
        self.open_gesture = None;
        self.version += 1;
        self.recheck();
    }

    pub fn add_layer(&mut self, layer: Layer, position: [f32; 2]) -> NodeId {
        let mut id = 0;
        self.edit(Gesture::Single, |p| id = p.graph.add_node(layer, position));
        self.selection = BTreeSet::from([id]);
        id
    }

    /// Adds `layer` to the right of the selected node (the last one added when several are
    /// selected) and wires the selected node's output into it.
    pub fn add_after_selection(&mut self, layer: Layer) -> NodeId {
        let after = self
            .selection
            .last()
            .and_then(|&id| self.project.graph.node(id))
            .filter(|n| n.layer.output_count() > 0)
            .map(|n| (n.id, n.position));
        let Some((from, [x, y])) = after else {
            let [x, y] = self.free_spot();
            return self.add_layer(layer, [x, y]);
        };
        let takes_input = layer.input_count() > 0;
        let mut id = 0;
        self.edit(Gesture::Single, |p| {
            id = p.graph.add_node(layer, [x + COLUMN, y]);
            if takes_input {
                p.graph.connect(from, id, 0);
            }
        });
        self.selection = BTreeSet::from([id]);
        id
    }

    /// Adds a transformer block as wide as what the selected node gives (128 features when that
    /// is not known): at `position`, unwired, when given (dropped from the palette); else after
    /// the selected node, wired to it, or right of everything. Selects the block's nodes.
    pub fn add_transformer_block(&mut self, position: Option<[f32; 2]>) {
        let graph = &self.project.graph;
        let after = self
            .selection
            .last()
            .and_then(|&id| graph.node_index(id))
            .filter(|&i| graph.nodes[i].layer.output_count() > 0);
        let width = after
            .and_then(|i| self.model.nodes.get(i)?.output.as_ref()?.last().copied())
            .unwrap_or(128);
        let block = TransformerBlock::for_width(width);
        let from = after
            .filter(|_| position.is_none())
            .map(|i| (graph.nodes[i].id, graph.nodes[i].position));
        let origin = match (position, from) {
            (Some(at), _) => at,
            (None, Some((_, [x, y]))) => [x + COLUMN, y],
            (None, None) => self.free_spot(),
        };
        let before: BTreeSet<NodeId> = graph.nodes.iter().map(|n| n.id).collect();
        self.edit(Gesture::Single, |p| {
            let from = from.map(|(id, _)| id);
            p.graph
                .add_transformer_block(&block, from, origin, [COLUMN, ROW]);
        });
        let graph = &self.project.graph;
        self.selection = graph
            .nodes
            .iter()
            .map(|n| n.id)
            .filter(|id| !before.contains(id))
            .collect();
    }

    /// Right of everything on the canvas, for a node added with nothing selected.
    fn free_spot(&self) -> [f32; 2] {
        let graph = &self.project.graph;
        let right = graph
            .nodes
            .iter()
            .map(|n| n.position[0])
            .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))));
        match right {
            Some(x) => [x + COLUMN, graph.nodes[0].position[1]],
            None => [40.0, 40.0],
        }
    }

    /// Why wiring `from` (an output) to `to` (an input) cannot work, if it cannot.
    pub fn connection_problem(&self, from: PortRef, to: PortRef) -> Option<String> {
        let graph = &self.project.graph;
        let (Some(source), Some(target)) = (graph.node(from.node), graph.node(to.node)) else {
            return Some("that node no longer exists".into());
        };
        if from.node == to.node {
            return Some(format!("{} cannot feed itself", source.name));
        }
        if from.port >= source.layer.output_count() || to.port >= target.layer.input_count() {
            return Some("wires run from an output port to an input port".into());
        }
        if let Some(existing) = graph.edges.iter().find(|e| e.to == to) {
            let feeder = graph
                .node(existing.from.node)
                .map_or("another node", |n| &n.name);
            return Some(format!(
                "this input of {} already takes {feeder}; remove that wire first, or use an Add or Concat node to combine them",
                target.name
            ));
        }
        if reaches(graph, to.node, from.node) {
            return Some(format!(
                "this wire would make a loop: {} already feeds {}",
                target.name, source.name
            ));
        }
        None
    }

    /// Wires `from` to `to`, or says why not.
    pub fn connect(&mut self, from: PortRef, to: PortRef) -> Result<(), String> {
        if let Some(problem) = self.connection_problem(from, to) {
            return Err(problem);
        }
        self.edit(Gesture::Single, |p| p.graph.edges.push(Edge { from, to }));
        Ok(())
    }

    pub fn remove_edge(&mut self, index: usize) {
        self.edit(Gesture::Single, |p| {
            if index < p.graph.edges.len() {
                p.graph.edges.remove(index);
            }
        });
    }

    pub fn delete_selection(&mut self) {
        let doomed = std::mem::take(&mut self.selection);
        self.edit(Gesture::Single, |p| {
            p.graph.nodes.retain(|n| !doomed.contains(&n.id));
            p.graph
                .edges
                .retain(|e| !doomed.contains(&e.from.node) && !doomed.contains(&e.to.node));
        });
    }

    /// Draws a group as one box standing for its nodes, or opens it again; one undo step.
    pub fn collapse_group(&mut self, group: &str, collapsed: bool) {
        self.edit(Gesture::Single, |p| p.graph.set_collapsed(group, collapsed));
    }

    /// Moves the selected nodes by `delta` canvas units; a drag is one undo step.
    pub fn move_selection(&mut self, delta: [f32; 2]) {
        let moving = self.selection.clone();
        self.edit(Gesture::Move, |p| {
            for node in p.graph.nodes.iter_mut().filter(|n| moving.contains(&n.id)) {
                node.position[0] += delta[0];
                node.position[1] += delta[1];
            }
        });
    }

    pub fn set_layer(&mut self, id: NodeId, field: &'static str, layer: Layer) {
        self.edit(Gesture::Setting(id, field), |p| {
            if let Some(i) = p.graph.node_index(id) {
                p.graph.nodes[i].layer = layer;
            }
        });
    }

    pub fn rename(&mut self, id: NodeId, name: String) {
        self.edit(Gesture::Setting(id, "name"), |p| {
            if let Some(i) = p.graph.node_index(id) {
                p.graph.nodes[i].name = name;
            }
        });
    }

    /// Applies one of `check`'s suggested fixes.
    pub fn apply_fix(&mut self, action: &FixAction) {
        self.edit(Gesture::Single, |p| match action {
            FixAction::SetLayer { node, layer } => {
                if let Some(i) = p.graph.node_index(*node) {
                    p.graph.nodes[i].layer = layer.clone();
                }
            }
            FixAction::RemoveEdge(index) => {
                if *index < p.graph.edges.len() {
                    p.graph.edges.remove(*index);
                }
            }
            FixAction::InsertBefore { node, port, layer } => {
                let Some(target) = p.graph.node(*node) else {
                    return;
                };
                let [x, y] = target.position;
                let wanted = [x - COLUMN / 2.0, y + ROW / 2.0];
                let [dx, dy] = clear_shift(&p.graph, &[[0.0, 0.0]], wanted);
                let inserted = p.graph.add_node(layer.clone(), [dx, dy]);
                let to = PortRef {
                    node: *node,
                    port: *port,
                };
                if let Some(edge) = p.graph.edges.iter_mut().find(|e| e.to == to) {
                    edge.to = PortRef {
                        node: inserted,
                        port: 0,
                    };
                }
                p.graph.connect(inserted, *node, *port);
            }
        });
    }

    pub fn set_dataset(&mut self, spec: DatasetSpec) {
        self.edit(Gesture::Single, |p| p.dataset = spec);
    }

    /// Applies what follows from the last edit (the input shape a new dataset brings once it
    /// has loaded) as part of that edit's undo step, so one undo takes both back.
    pub fn follow_up(&mut self, change: impl FnOnce(&mut Project)) {
        let before = self.project.clone();
        change(&mut self.project);
        if self.project == before {
            return;
        }
        if self.undo.is_empty() {
            self.undo.push((before, self.state));
        }
        self.changed();
    }

    /// The selected nodes and the wires among them.
    pub fn copy_selection(&self) -> Clip {
        let graph = &self.project.graph;
        let chosen = |id: &NodeId| self.selection.contains(id);
        Clip {
            nodes: graph
                .nodes
                .iter()
                .filter(|n| chosen(&n.id))
                .cloned()
                .collect(),
            edges: graph
                .edges
                .iter()
                .filter(|e| chosen(&e.from.node) && chosen(&e.to.node))
                .copied()
                .collect(),
        }
    }

    /// Adds copies of `clip`'s nodes (with fresh ids and names), shifted by `offset`, and
    /// selects them.
    pub fn paste(&mut self, clip: &Clip, offset: [f32; 2]) {
        if clip.nodes.is_empty() {
            return;
        }
        let mut pasted = BTreeSet::new();
        self.edit(Gesture::Single, |p| {
            let positions: Vec<[f32; 2]> = clip.nodes.iter().map(|n| n.position).collect();
            let offset = clear_shift(&p.graph, &positions, offset);
            let mut new_id = std::collections::HashMap::new();
            // A pasted block is a new block: its nodes share a fresh frame name.
            let mut new_group = std::collections::HashMap::new();
            for node in &clip.nodes {
                let position = [node.position[0] + offset[0], node.position[1] + offset[1]];
                let group = node.group.as_ref().map(|g| {
                    new_group
                        .entry(g.clone())
                        .or_insert_with(|| p.graph.fresh_group_name(g))
                        .clone()
                });
                let id = p.graph.add_node(node.layer.clone(), position);
                let name = copy_name(&p.graph, &node.name);
                if let Some(i) = p.graph.node_index(id) {
                    p.graph.nodes[i].name = name;
                    p.graph.nodes[i].group = group;
                }
                new_id.insert(node.id, id);
                pasted.insert(id);
            }
            for edge in &clip.edges {
                // A clip from the clipboard is text anyone could have written.
                let (Some(&from), Some(&to)) =
                    (new_id.get(&edge.from.node), new_id.get(&edge.to.node))
                else {
                    continue;
                };
                p.graph.edges.push(Edge {
                    from: PortRef {
                        node: from,
                        port: edge.from.port,
                    },
                    to: PortRef {
                        node: to,
                        port: edge.to.port,
                    },
                });
            }
        });
        self.selection = pasted;
    }

    pub fn duplicate_selection(&mut self) {
        let clip = self.copy_selection();
        self.paste(&clip, [30.0, 30.0]);
    }

    /// Lays the graph out from left to right (`lay_out`) as one undoable step.
    pub fn auto_layout(&mut self) {
        self.edit(Gesture::Single, |p| lay_out(&mut p.graph));
    }
}

/// Places nodes in columns by their distance from the inputs, each column's nodes one under
/// another in the order they appear. A long chain wraps into bands of rows read like text, left
/// to right and then down, so that it keeps a window's shape instead of becoming a thin strip
/// whose labels are too small to read once fitted.
pub fn lay_out(graph: &mut Graph) {
    if graph.nodes.iter().any(|n| n.group.is_some()) {
        return lay_out_with_groups(graph);
    }
    let depth = depths(graph);
    let columns = depth.iter().max().map_or(1, |d| d + 1);
    // About as many columns as bands, weighted for a landscape window and cells twice as wide
    // as tall.
    let per_band = ((columns as f32 * 0.9).sqrt().ceil() as usize)
        .max(MIN_COLUMNS)
        .min(columns);
    let mut stacked = vec![0usize; columns];
    for &d in &depth {
        stacked[d] += 1;
    }
    let bands = columns.div_ceil(per_band);
    let mut band_top = vec![40.0f32; bands + 1];
    for band in 0..bands {
        let tallest = stacked[band * per_band..((band + 1) * per_band).min(columns)]
            .iter()
            .max()
            .copied()
            .unwrap_or(1);
        band_top[band + 1] = band_top[band] + tallest as f32 * ROW;
    }
    let mut rows_used = std::collections::HashMap::new();
    for (node, &d) in graph.nodes.iter_mut().zip(&depth) {
        let row = rows_used.entry(d).or_insert(0usize);
        let (band, column) = (d / per_band, d % per_band);
        node.position = [
            40.0 + column as f32 * COLUMN,
            band_top[band] + *row as f32 * ROW,
        ];
        *row += 1;
    }
}

/// Room above a group's first row for its frame's title, and below its last row.
const GROUP_ABOVE: f32 = 50.0;
const GROUP_BELOW: f32 = 30.0;
/// Nodes per row of a layout with groups.
const FLOW_COLUMNS: usize = 4;

/// A graph with groups (transformer blocks) reads like text: nodes in order of depth, four to
/// a row, and each group on rows of its own (where its frame fits), in the same order inside.
fn lay_out_with_groups(graph: &mut Graph) {
    let depth = depths(graph);
    let mut order: Vec<usize> = (0..graph.nodes.len()).collect();
    order.sort_by_key(|&i| (depth[i], i));
    let (mut column, mut y) = (0usize, 40.0f32);
    let mut placed = vec![false; graph.nodes.len()];
    for &i in &order {
        if placed[i] {
            continue;
        }
        let members: Vec<usize> = match &graph.nodes[i].group {
            Some(group) => order
                .iter()
                .copied()
                .filter(|&j| graph.nodes[j].group.as_ref() == Some(group))
                .collect(),
            None => vec![i],
        };
        let grouped = graph.nodes[i].group.is_some();
        if grouped {
            if column > 0 {
                (column, y) = (0, y + ROW);
            }
            y += GROUP_ABOVE;
        }
        for j in members {
            if column == FLOW_COLUMNS {
                (column, y) = (0, y + ROW);
            }
            graph.nodes[j].position = [40.0 + column as f32 * COLUMN, y];
            placed[j] = true;
            column += 1;
        }
        if grouped {
            (column, y) = (0, y + ROW + GROUP_BELOW);
        }
    }
}

/// Whether nodes sit on top of each other, as in files written without positions.
pub fn needs_layout(graph: &Graph) -> bool {
    let mut seen = std::collections::HashSet::new();
    graph
        .nodes
        .iter()
        .any(|n| !seen.insert((n.position[0].to_bits(), n.position[1].to_bits())))
}

/// A free name for a copy of `name`: its next free number ("hidden1" → "hidden3" when
/// "hidden2" is taken).
fn copy_name(graph: &Graph, name: &str) -> String {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = if base.is_empty() { name } else { base };
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|candidate| graph.nodes.iter().all(|n| n.name != *candidate))
        .expect("some number is free")
}

/// Whether `to` can be reached from `from` along wires.
fn reaches(graph: &Graph, from: NodeId, to: NodeId) -> bool {
    let mut stack = vec![from];
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if id == to {
            return true;
        }
        if seen.insert(id) {
            stack.extend(
                graph
                    .edges
                    .iter()
                    .filter(|e| e.from.node == id)
                    .map(|e| e.to.node),
            );
        }
    }
    false
}

/// Per node (as indexed in `graph.nodes`), the length of the longest wire path reaching it
/// from a node without inputs; nodes in a cycle sit after everything else.
fn depths(graph: &Graph) -> Vec<usize> {
    let n = graph.nodes.len();
    let mut depth = vec![0usize; n];
    // Longest paths by relaxation; n rounds settle any acyclic graph.
    for _ in 0..n {
        let mut changed = false;
        for edge in &graph.edges {
            let (Some(a), Some(b)) = (
                graph.node_index(edge.from.node),
                graph.node_index(edge.to.node),
            ) else {
                continue;
            };
            if depth[b] < depth[a] + 1 && depth[a] < n {
                depth[b] = depth[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Activation, Init, LossKind};

    fn dense(units: usize) -> Layer {
        Layer::Dense {
            units,
            bias: true,
            activation: Activation::Relu,
            init: Init::default(),
        }
    }

    fn editor() -> Editor {
        Editor::new(
            Project::new("test", Graph::default(), DatasetSpec::default()),
            None,
        )
    }

    /// A block dropped in after an embedding is as wide as it, wired to it, framed as one group
    /// and checks clean; the next block and a copy of one are groups of their own.
    #[test]
    fn transformer_blocks_fit_what_feeds_them_and_are_groups_of_their_own() {
        let mut e = editor();
        let values = crate::graph::ValueKind::Tokens { vocabulary: 10 };
        e.add_layer(
            Layer::Input {
                shape: vec![16],
                values,
            },
            [0.0, 0.0],
        );
        e.add_after_selection(Layer::Embedding {
            num_embeddings: 10,
            embedding_dim: 48,
            init: Init::Normal { std: 1.0 },
        });
        e.add_transformer_block(None);
        let block: Vec<&Node> = e
            .project
            .graph
            .nodes
            .iter()
            .filter(|n| n.group.is_some())
            .collect();
        assert_eq!(block.len(), 7);
        assert!(
            block
                .iter()
                .all(|n| n.group.as_deref() == Some("Transformer block 1"))
        );
        assert_eq!(e.selection.len(), 7, "the new block is selected");
        let units: Vec<usize> = block
            .iter()
            .filter_map(|n| match n.layer {
                Layer::Dense { units, .. } => Some(units),
                _ => None,
            })
            .collect();
        assert_eq!(units, [192, 48]);
        assert!(
            block
                .iter()
                .any(|n| matches!(n.layer, Layer::MultiHeadAttention { heads: 4, .. }))
        );
        e.add_transformer_block(None);
        e.add_after_selection(Layer::Dense {
            units: 10,
            bias: true,
            activation: Activation::Identity,
            init: Init::default(),
        });
        e.add_after_selection(Layer::loss(LossKind::SoftmaxCrossEntropy));
        let errors: Vec<_> = e
            .model
            .problems
            .iter()
            .filter(|p| p.severity == compile::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let second = |e: &Editor, name: &str| {
            e.project
                .graph
                .nodes
                .iter()
                .filter(|n| n.group.as_deref() == Some(name))
                .count()
        };
        assert_eq!(second(&e, "Transformer block 2"), 7);
        e.selection = e
            .project
            .graph
            .nodes
            .iter()
            .filter(|n| n.group.as_deref() == Some("Transformer block 2"))
            .map(|n| n.id)
            .collect();
        e.duplicate_selection();
        assert_eq!(
            second(&e, "Transformer block 3"),
            7,
            "a copy is a new block"
        );
        assert_eq!(second(&e, "Transformer block 2"), 7);
    }

    #[test]
    fn undoing_back_to_the_saved_state_clears_the_unsaved_mark() {
        let mut e = editor();
        e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        e.mark_saved(PathBuf::from("p.json"));
        assert!(!e.is_dirty());
        e.add_after_selection(dense(8));
        assert!(e.is_dirty());
        e.undo();
        assert!(!e.is_dirty(), "back where it was saved");
        e.undo();
        assert!(e.is_dirty(), "before the saved state");
        e.redo();
        assert!(!e.is_dirty());
    }

    #[test]
    fn a_dataset_change_and_the_shape_it_brings_undo_as_one_step() {
        let mut e = editor();
        let input = e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        let before = e.project.clone();
        e.set_dataset(DatasetSpec::Digits);
        // Once loaded, the Input takes the dataset's shape as part of the same change.
        e.follow_up(|p| p.graph.nodes[0].layer = Layer::input(vec![1, 8, 8]));
        assert_eq!(
            e.project.graph.node(input).unwrap().layer,
            Layer::input(vec![1, 8, 8])
        );
        e.undo();
        assert_eq!(e.project, before);
        e.redo();
        assert_eq!(e.project.dataset, DatasetSpec::Digits);
        assert_eq!(
            e.project.graph.node(input).unwrap().layer,
            Layer::input(vec![1, 8, 8])
        );
    }

    #[test]
    fn duplicates_pastes_and_inserted_layers_land_where_they_overlap_nothing() {
        let no_overlap = |e: &Editor| {
            let nodes = &e.project.graph.nodes;
            for (i, a) in nodes.iter().enumerate() {
                for b in &nodes[i + 1..] {
                    assert!(
                        !overlaps(a.position, b.position),
                        "{} and {}",
                        a.name,
                        b.name
                    );
                }
            }
        };
        let mut e = editor();
        let input = e.add_layer(Layer::input(vec![1, 4, 4]), [0.0, 0.0]);
        let hidden = e.add_after_selection(dense(8));
        e.add_after_selection(Layer::loss(LossKind::MeanSquaredError));
        // Dense on an image: check offers to insert a Flatten before it.
        let fix = e
            .model
            .problems
            .iter()
            .find_map(|p| p.fix.clone())
            .expect("a fix");
        e.apply_fix(&fix.action);
        assert_eq!(e.project.graph.nodes.len(), 4);
        no_overlap(&e);
        e.selection = [hidden].into();
        e.duplicate_selection();
        e.duplicate_selection();
        let clip = {
            e.selection = [input, hidden].into();
            e.copy_selection()
        };
        e.paste(&clip, [40.0, 40.0]);
        assert_eq!(e.project.graph.nodes.len(), 8);
        no_overlap(&e);
    }

    #[test]
    fn a_clip_survives_the_clipboard_and_refuses_other_text() {
        let mut e = editor();
        let input = e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        let hidden = e.add_after_selection(dense(8));
        e.selection = [input, hidden].into();
        let text = e.copy_selection().to_text();
        let clip = Clip::from_text(&text).expect("a clip");
        e.paste(&clip, [0.0, 0.0]);
        assert_eq!(e.project.graph.nodes.len(), 4);
        assert_eq!(e.project.graph.edges.len(), 2);
        assert!(Clip::from_text("hello").is_none());
        // Wires to nodes the clip does not hold are dropped, not a panic.
        let broken = text.replace("\"to\":{\"node\":1", "\"to\":{\"node\":99");
        assert_ne!(broken, text, "the wire was pointed elsewhere");
        let clip = Clip::from_text(&broken).expect("still a clip");
        e.paste(&clip, [0.0, 0.0]);
        assert_eq!(e.project.graph.nodes.len(), 6);
    }

    #[test]
    fn every_edit_undoes_and_redoes() {
        let mut e = editor();
        let input = e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        let hidden = e.add_after_selection(dense(8));
        assert_eq!(e.project.graph.edges.len(), 1);
        e.set_layer(hidden, "units", dense(16));
        e.set_layer(hidden, "units", dense(32));
        e.seal();
        let after = e.project.clone();
        e.undo();
        assert_eq!(e.project.graph.node(hidden).unwrap().layer, dense(8));
        e.undo();
        assert_eq!(e.project.graph.nodes.len(), 1);
        e.redo();
        e.redo();
        assert_eq!(e.project, after);
        assert!(e.is_dirty());
        e.mark_saved("x.json".into());
        assert!(!e.is_dirty());
        assert!(e.project.graph.node(input).is_some());
    }

    #[test]
    fn refused_connections_say_why() {
        let mut e = editor();
        let a = e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        let b = e.add_after_selection(dense(4));
        let c = e.add_after_selection(dense(4));
        let out = |node| PortRef { node, port: 0 };
        let occupied = e.connect(out(a), out(b)).unwrap_err();
        assert!(occupied.contains("already takes input"), "{occupied}");
        let cycle = e.connect(out(c), out(b));
        assert!(cycle.is_err());
        let to_self = e.connection_problem(out(b), out(b)).unwrap();
        assert!(to_self.contains("itself"));
        let into_input = e.connection_problem(out(c), out(a)).unwrap();
        assert!(into_input.contains("input port"), "{into_input}");
        let loss = e.add_layer(Layer::loss(LossKind::SoftmaxCrossEntropy), [0.0, 0.0]);
        assert!(e.connect(out(c), out(loss)).is_ok());
    }

    #[test]
    fn paste_makes_fresh_names_and_keeps_inner_wires() {
        let mut e = editor();
        e.add_layer(Layer::input(vec![2]), [0.0, 0.0]);
        let b = e.add_after_selection(dense(4));
        e.selection = e.project.graph.nodes.iter().map(|n| n.id).collect();
        e.duplicate_selection();
        let graph = &e.project.graph;
        assert_eq!(graph.nodes.len(), 4);
        assert_eq!(graph.edges.len(), 2);
        let names: BTreeSet<_> = graph.nodes.iter().map(|n| n.name.clone()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(!e.selection.contains(&b));
    }

    #[test]
    fn layout_puts_each_node_right_of_its_inputs() {
        let mut e = editor();
        let a = e.add_layer(Layer::input(vec![2]), [500.0, 500.0]);
        let b = e.add_after_selection(dense(4));
        e.edit(Gesture::Single, |p| p.graph.nodes[1].position = [0.0, 0.0]);
        e.auto_layout();
        let x = |id| e.project.graph.node(id).unwrap().position[0];
        assert!(x(a) < x(b));
    }
}
