//! Groups of nodes on the canvas: a frame with the group's name behind its members, or, once
//! collapsed, one box standing for them all, which the wires from outside the group reach.

use std::collections::HashMap;

use egui::{Align2, FontId, Id, Pos2, Rect, Role, Sense, Stroke, StrokeKind, Ui, Vec2};

use super::{
    Action, Lookup, NAME_SIZE, NODE_SIZE, accessible, node_rect, problem_badge, thousands,
};
use crate::compile::Severity;
use crate::graph::{Graph, Node, NodeId};
use crate::ui::editor::Editor;

/// Room between a group's frame and its nodes, and the height of the title band above them.
const MARGIN: f32 = 18.0;
const TITLE: f32 = 30.0;
/// A collapsed group's box: a node's height, wider for the group's longer name.
const BOX: Vec2 = Vec2::new(NODE_SIZE.x + 60.0, NODE_SIZE.y);
const TOGGLE: Vec2 = Vec2::new(78.0, 22.0);

/// A group as drawn this frame.
pub(super) struct Framed<'a> {
    pub name: &'a str,
    pub members: Vec<NodeId>,
    /// The rectangle around the members' own nodes.
    around: Rect,
    pub collapsed: bool,
}

impl Framed<'_> {
    /// What the group covers on the canvas: its frame and title, or its box.
    pub fn outline(&self) -> Rect {
        if self.collapsed {
            Rect::from_min_size(self.around.min, BOX)
        } else {
            let frame = self.around.expand(MARGIN);
            Rect::from_min_max(frame.min - Vec2::new(0.0, TITLE), frame.max)
        }
    }
}

/// Every group of the graph, in order of first appearance, and which nodes are hidden.
pub(super) struct Groups<'a> {
    pub framed: Vec<Framed<'a>>,
    /// Each node of a collapsed group, with that group's place in `framed`.
    hidden: HashMap<NodeId, usize>,
}

impl<'a> Groups<'a> {
    pub fn of(graph: &'a Graph) -> Self {
        let mut framed: Vec<Framed<'a>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for node in &graph.nodes {
            let Some(name) = node.group.as_deref() else {
                continue;
            };
            let i = *index.entry(name).or_insert_with(|| {
                framed.push(Framed {
                    name,
                    members: Vec::new(),
                    around: node_rect(node),
                    collapsed: graph.is_collapsed(name),
                });
                framed.len() - 1
            });
            let group = &mut framed[i];
            group.around = group.around.union(node_rect(node));
            group.members.push(node.id);
        }
        let hidden = framed
            .iter()
            .enumerate()
            .filter(|(_, g)| g.collapsed)
            .flat_map(|(i, g)| g.members.iter().map(move |&id| (id, i)))
            .collect();
        Self { framed, hidden }
    }

    pub fn is_hidden(&self, node: NodeId) -> bool {
        self.hidden.contains_key(&node)
    }

    /// The box of the collapsed group that hides `node`.
    fn box_hiding(&self, node: NodeId) -> Option<Rect> {
        self.hidden.get(&node).map(|&i| self.framed[i].outline())
    }

    /// Where a wire leaving `node` starts: its output port, or its group's box.
    pub fn output_end(&self, node: &Node) -> Pos2 {
        self.box_hiding(node.id)
            .map_or_else(|| super::output_port(node), |b| b.right_center())
    }

    /// Where a wire into `port` of `node` ends: the port, or its group's box.
    pub fn input_end(&self, node: &Node, port: usize) -> Pos2 {
        self.box_hiding(node.id)
            .map_or_else(|| super::input_port(node, port), |b| b.left_center())
    }

    /// A wire between two nodes of one collapsed group, which is not drawn.
    pub fn inside_one_box(&self, from: NodeId, to: NodeId) -> bool {
        matches!((self.hidden.get(&from), self.hidden.get(&to)), (Some(a), Some(b)) if a == b)
    }

    /// What `node` covers on the canvas as drawn: its own rectangle or its group's box.
    pub fn drawn_rect(&self, node: &Node) -> Rect {
        self.box_hiding(node.id).unwrap_or_else(|| node_rect(node))
    }
}

/// The open groups' frames, drawn behind their nodes. A click on the title selects the group's
/// nodes, dragging it moves them together, and its button collapses the group into one box.
pub(super) fn draw_frames(
    ui: &mut Ui,
    editor: &Editor,
    groups: &Groups,
    actions: &mut Vec<Action>,
) {
    let visuals = ui.visuals().clone();
    for group in groups.framed.iter().filter(|g| !g.collapsed) {
        let frame = group.outline();
        let stroke = if all_selected(editor, group) {
            visuals.selection.stroke
        } else {
            Stroke::new(1.5, visuals.widgets.noninteractive.bg_stroke.color)
        };
        let fill = visuals.faint_bg_color.gamma_multiply(0.6);
        ui.painter()
            .rect(frame, 10.0, fill, stroke, StrokeKind::Inside);
        let title = Rect::from_min_size(frame.min, Vec2::new(frame.width(), TITLE));
        // The button first, so that it is in view whenever the frame's corner is.
        let button = Rect::from_min_size(
            title.left_center() + Vec2::new(10.0, -TOGGLE.y / 2.0),
            TOGGLE,
        );
        ui.painter().text(
            button.right_center() + Vec2::new(10.0, 0.0),
            Align2::LEFT_CENTER,
            group.name,
            egui::TextStyle::Heading.resolve(ui.style()),
            visuals.strong_text_color(),
        );
        let response = ui.interact(
            title,
            Id::unique(("group", group.name)),
            Sense::click_and_drag(),
        );
        accessible(&response, Role::Button, &format!("{} (group)", group.name));
        let response = response.on_hover_text(
            "A block of layers. Click to select them all, drag to move them together; \
             select one layer to change it.",
        );
        grab(group, &response, actions);
        toggle(ui, group, button, actions);
    }
}

/// The collapsed groups' boxes, drawn where their nodes would be: the group's name, its size,
/// the shape it gives and its parameters. A double click opens the group again.
pub(super) fn draw_boxes(
    ui: &mut Ui,
    editor: &Editor,
    lookup: &Lookup,
    non_finite: Option<NodeId>,
    actions: &mut Vec<Action>,
) {
    let groups = &lookup.groups;
    for group in groups.framed.iter().filter(|g| g.collapsed) {
        let rect = group.outline();
        let response = ui.interact(
            rect,
            Id::unique(("group box", group.name)),
            Sense::click_and_drag(),
        );
        accessible(&response, Role::Button, &format!("{} (group)", group.name));
        let problems: Vec<_> = group
            .members
            .iter()
            .filter_map(|id| lookup.node_problems.get(id))
            .flatten()
            .copied()
            .collect();
        let visuals = ui.visuals();
        let stroke = if non_finite.is_some_and(|id| group.members.contains(&id)) {
            Stroke::new(3.5, visuals.error_fg_color)
        } else if all_selected(editor, group) {
            Stroke::new(2.5, visuals.selection.stroke.color)
        } else {
            Stroke::new(2.0, visuals.widgets.noninteractive.bg_stroke.color)
        };
        let painter = ui.painter();
        painter.rect(
            rect,
            10.0,
            visuals.widgets.noninteractive.bg_fill,
            stroke,
            StrokeKind::Inside,
        );
        let left = rect.min.x + 12.0;
        let ink = visuals.text_color();
        painter.text(
            Pos2::new(left, rect.min.y + 6.0),
            Align2::LEFT_TOP,
            group.name,
            FontId::proportional(NAME_SIZE),
            visuals.strong_text_color(),
        );
        let params: usize = group
            .members
            .iter()
            .filter_map(|id| lookup.index.get(id))
            .filter_map(|&i| editor.model.nodes.get(i))
            .map(|info| info.params)
            .sum();
        let layers = group.members.len();
        painter.text(
            Pos2::new(left, rect.min.y + 27.0),
            Align2::LEFT_TOP,
            format!(
                "{layers} layer{}, {} params",
                if layers == 1 { "" } else { "s" },
                thousands(params)
            ),
            FontId::proportional(13.0),
            ink,
        );
        if let Some(shape) =
            group_output(editor, group).and_then(|id| lookup.output_shape(editor, id))
        {
            painter.text(
                Pos2::new(left, rect.min.y + 47.0),
                Align2::LEFT_TOP,
                shape,
                FontId::monospace(12.0),
                ink,
            );
        }
        let response = response.on_hover_text(format!(
            "{}: {layers} layers shown as one box. Double-click or press Open to see them.",
            group.name
        ));
        if response.double_clicked() {
            actions.push(Action::Collapse(group.name.to_string(), false));
        }
        grab(group, &response, actions);
        for end in [rect.left_center(), rect.right_center()] {
            ui.painter().circle(
                end,
                super::PORT_RADIUS,
                visuals.widgets.inactive.fg_stroke.color,
                Stroke::new(1.5, visuals.widgets.noninteractive.bg_fill),
            );
        }
        let at = rect.right_bottom() - Vec2::new(TOGGLE.x / 2.0 + 8.0, TOGGLE.y / 2.0 + 6.0);
        toggle(ui, group, Rect::from_center_size(at, TOGGLE), actions);
        let worst = problems.iter().map(|p| p.severity).min_by_key(|s| match s {
            Severity::Error => 0,
            Severity::Warning => 1,
        });
        if let Some(severity) = worst {
            let id = Id::unique(("group badge", group.name));
            problem_badge(ui, rect, id, group.name, &problems, severity, actions);
        }
    }
}

fn all_selected(editor: &Editor, group: &Framed) -> bool {
    group.members.iter().all(|id| editor.selection.contains(id))
}

/// A click or the start of a drag selects the group's nodes; a drag moves them.
fn grab(group: &Framed, response: &egui::Response, actions: &mut Vec<Action>) {
    if response.clicked() || response.drag_started() {
        actions.push(Action::SelectGroup(group.members.clone()));
    }
    if response.dragged() {
        actions.push(Action::Move(response.drag_delta()));
    }
}

/// The button that collapses an open group or opens a collapsed one.
fn toggle(ui: &mut Ui, group: &Framed, rect: Rect, actions: &mut Vec<Action>) {
    let (word, label) = if group.collapsed {
        ("Open", format!("Open {}", group.name))
    } else {
        ("Collapse", format!("Collapse {}", group.name))
    };
    let response = ui.interact(
        rect,
        Id::unique(("group toggle", group.name)),
        Sense::click(),
    );
    accessible(&response, Role::Button, &label);
    let visuals = ui.visuals();
    let style = if response.hovered() {
        &visuals.widgets.hovered
    } else {
        &visuals.widgets.inactive
    };
    ui.painter().rect(
        rect,
        4.0,
        style.weak_bg_fill,
        style.bg_stroke,
        StrokeKind::Inside,
    );
    ui.painter().text(
        rect.center(),
        Align2::CENTER_CENTER,
        word,
        FontId::proportional(13.0),
        style.fg_stroke.color,
    );
    let response = response.on_hover_text(if group.collapsed {
        "Show the layers of this group again."
    } else {
        "Show this group as one box, to see the whole network at once."
    });
    if response.clicked() {
        actions.push(Action::Collapse(group.name.to_string(), !group.collapsed));
    }
}

/// The member whose output leaves the group (the block's result), or the last member.
fn group_output(editor: &Editor, group: &Framed) -> Option<NodeId> {
    let inside = |id: &NodeId| group.members.contains(id);
    editor
        .project
        .graph
        .edges
        .iter()
        .find(|e| inside(&e.from.node) && !inside(&e.to.node))
        .map(|e| e.from.node)
        .or_else(|| group.members.last().copied())
}
