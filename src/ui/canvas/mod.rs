//! The node editor: nodes, ports and wires drawn on an `egui::Scene` (pan with the middle or
//! right button or by scrolling, zoom with Ctrl + scroll). Every node, port and wire label is a
//! widget with an accessible label, so that screen readers and tests can find and drive them.

use std::collections::HashMap;

use egui::emath::TSTransform;
use egui::{
    Align2, Color32, CornerRadius, FontId, Id, Pos2, Rect, Response, Role, Sense, Shape, Stroke,
    StrokeKind, Ui, Vec2, WidgetInfo,
};

mod groups;

use super::editor::Editor;
use super::health::NodeHealth;
use super::palette;
use crate::compile::{FixAction, Location, Problem, Severity, shape_text};
use crate::graph::{Layer, Node, NodeId, PortRef};
use groups::Groups;

pub const NODE_SIZE: Vec2 = Vec2::new(180.0, 92.0);
/// The size of a node's name in canvas units: body text, so that at the smallest zoom a fit
/// chooses it is still at least 13 pixels.
pub const NAME_SIZE: f32 = 15.0;
/// The smallest zoom a fit chooses: below it the small print is unreadable on a projector, so
/// a graph larger than the window is shown from its start and panned instead.
pub const FIT_MIN_ZOOM: f32 = 0.9;
/// How much larger everything is drawn in Present mode. The canvas may then zoom out as much
/// further before its text is smaller on screen than at `FIT_MIN_ZOOM` without it.
pub const PRESENT_ZOOM: f32 = 1.5;
const PORT_RADIUS: f32 = 6.0;
/// How long a refused connection's explanation stays up.
const REFUSAL_SECS: f64 = 4.0;

pub struct Canvas {
    /// The part of the canvas in view, in canvas units; `Scene` keeps it up to date.
    scene_rect: Rect,
    /// Canvas-to-screen transform of the last frame.
    to_screen: TSTransform,
    fit_pending: bool,
    /// The screen area and the view of the last fit, while the user has not panned or zoomed
    /// since: a fitted view stays fitted when the canvas area changes size (Present mode, the
    /// window resized).
    fitted: Option<(Rect, Rect)>,
    /// The output port a wire is being dragged from.
    wiring: Option<PortRef>,
    /// Corner where a selection box started, in canvas units.
    box_start: Option<Pos2>,
    refusal: Option<(String, Pos2, f64)>,
    /// The pointer's last position on screen: a release may come with the pointer already gone.
    pointer: Option<Pos2>,
    /// The node whose op produced a NaN or infinity that paused training, and the explanation.
    pub non_finite: Option<(NodeId, String)>,
    /// Live signs of health while a run is watched.
    pub health: HashMap<NodeId, NodeHealth>,
    /// Thicker wires and outlines, for a projector.
    pub present: bool,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            scene_rect: Rect::NOTHING,
            to_screen: TSTransform::IDENTITY,
            fit_pending: true,
            fitted: None,
            wiring: None,
            box_start: None,
            refusal: None,
            pointer: None,
            non_finite: None,
            health: HashMap::new(),
            present: false,
        }
    }
}

/// Where a node's ports sit, in canvas units.
fn input_port(node: &Node, port: usize) -> Pos2 {
    let count = node.layer.input_count().max(1) as f32;
    let y = node.position[1] + NODE_SIZE.y * (port as f32 + 1.0) / (count + 1.0);
    Pos2::new(node.position[0], y)
}

fn output_port(node: &Node) -> Pos2 {
    Pos2::new(
        node.position[0] + NODE_SIZE.x,
        node.position[1] + NODE_SIZE.y / 2.0,
    )
}

fn node_rect(node: &Node) -> Rect {
    Rect::from_min_size(node.position.into(), NODE_SIZE)
}

pub fn input_port_label(node: &Node, port: usize) -> String {
    if node.layer.input_count() > 1 {
        format!("{} input {}", node.name, port + 1)
    } else {
        format!("{} input", node.name)
    }
}

pub fn output_port_label(node: &Node) -> String {
    format!("{} output", node.name)
}

/// The accessible label of the wire from `from` to `to`, with the shape it carries.
pub fn wire_label(from: &str, to: &str, shape: &str) -> String {
    // Read by screen readers and tests, never painted (the fonts' arrow is monospace only).
    format!("{from} → {to}: {shape}") // not painted
}

pub fn accessible(response: &Response, kind: Role, label: &str) {
    response.widget_info(|| WidgetInfo::labeled(kind, true, label));
}

/// What the user did on the canvas this frame; applied to the editor once drawing is done, so
/// that drawing only reads the project.
enum Action {
    Select {
        node: NodeId,
        toggle: bool,
    },
    /// Adds the node to the selection when a drag starts on it, unless it is already there.
    Grab {
        node: NodeId,
        additive: bool,
    },
    Move(Vec2),
    /// Selects every node of a group (its frame's title was clicked or dragged).
    SelectGroup(Vec<NodeId>),
    /// Draws the named group as one box (`true`) or opens it.
    Collapse(String, bool),
    StartWire(PortRef),
    RemoveEdge(usize),
    Fix(FixAction),
    Duplicate,
    Delete,
}

/// Per-frame lookups, so that drawing each node and wire costs the same however big the graph.
struct Lookup<'a> {
    index: HashMap<NodeId, usize>,
    node_problems: HashMap<NodeId, Vec<&'a Problem>>,
    edge_problems: HashMap<usize, Vec<&'a Problem>>,
    groups: Groups<'a>,
}

impl<'a> Lookup<'a> {
    fn new(editor: &'a Editor) -> Self {
        let mut lookup = Self {
            index: editor
                .project
                .graph
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.id, i))
                .collect(),
            node_problems: HashMap::new(),
            edge_problems: HashMap::new(),
            groups: Groups::of(&editor.project.graph),
        };
        for problem in &editor.model.problems {
            match problem.location {
                Location::Node(id) => lookup.node_problems.entry(id).or_default().push(problem),
                Location::Edge(i) => lookup.edge_problems.entry(i).or_default().push(problem),
                Location::Graph | Location::Training => {}
            }
        }
        lookup
    }

    fn output_shape(&self, editor: &Editor, node: NodeId) -> Option<String> {
        let info = editor.model.nodes.get(*self.index.get(&node)?)?;
        info.output.as_ref().map(|s| s.to_string())
    }
}

impl Canvas {
    /// Frames every node on the next frame (the F key, and opening a project).
    pub fn fit(&mut self) {
        self.fit_pending = true;
    }

    /// Screen position of a canvas point, as of the last frame (for tests that drag nodes).
    pub fn to_screen(&self, canvas: Pos2) -> Pos2 {
        self.to_screen * canvas
    }

    /// Screen points per canvas unit, as of the last frame.
    pub fn zoom(&self) -> f32 {
        self.to_screen.scaling
    }

    pub fn show(&mut self, ui: &mut Ui, editor: &mut Editor) {
        let outer = ui.available_rect_before_wrap();
        if let Some(pointer) = ui.ctx().pointer_latest_pos() {
            self.pointer = Some(pointer);
        }
        let still_fitted = self
            .fitted
            .is_some_and(|(screen, view)| view == self.scene_rect && screen != outer);
        let fitting = self.fit_pending || still_fitted || !self.scene_rect.is_positive();
        if fitting {
            let min_zoom = if self.present {
                FIT_MIN_ZOOM / PRESENT_ZOOM
            } else {
                FIT_MIN_ZOOM
            };
            self.scene_rect = fitted(bounds(editor), outer, min_zoom);
            self.fit_pending = false;
        }
        let scene = egui::Scene::new()
            .zoom_range(0.2..=2.0)
            .drag_pan_buttons(egui::DragPanButtons::MIDDLE | egui::DragPanButtons::SECONDARY);
        let mut scene_rect = self.scene_rect;
        let response = scene
            .show(ui, &mut scene_rect, |ui| {
                self.to_screen = ui
                    .ctx()
                    .layer_transform_to_global(ui.layer_id())
                    .unwrap_or_default();
                self.contents(ui, editor)
            })
            .response;
        if fitting {
            self.fitted = Some((outer, scene_rect));
        } else if self.fitted.is_some_and(|(_, view)| view != scene_rect) {
            self.fitted = None;
        }
        self.scene_rect = scene_rect;
        self.box_select(ui, editor, &response);
        self.drop_from_palette(ui, editor, outer);
        self.show_refusal(ui);
        response.context_menu(|ui| {
            if ui.button("Arrange automatically").clicked() {
                editor.auto_layout();
                self.fit();
            }
            if ui.button("Zoom to fit (F)").clicked() {
                self.fit();
            }
        });
    }

    fn contents(&mut self, ui: &mut Ui, editor: &mut Editor) {
        let mut actions = Vec::new();
        let mut port_hits = Vec::new();
        {
            let lookup = Lookup::new(editor);
            groups::draw_frames(ui, editor, &lookup.groups, &mut actions);
            self.draw_wires(ui, editor, &lookup, &mut actions);
            let non_finite = self.non_finite.as_ref().map(|(id, _)| *id);
            groups::draw_boxes(ui, editor, &lookup, non_finite, &mut actions);
            let detailed = self.to_screen.scaling >= 0.5;
            let shown = editor.project.graph.nodes.iter();
            for node in shown.filter(|n| !lookup.groups.is_hidden(n.id)) {
                self.draw_node(
                    ui,
                    editor,
                    &lookup,
                    node,
                    detailed,
                    &mut port_hits,
                    &mut actions,
                );
            }
        }
        for action in actions {
            self.apply(ui, editor, action);
        }
        self.draw_wiring(ui, editor, &port_hits);
    }

    fn apply(&mut self, ui: &Ui, editor: &mut Editor, action: Action) {
        match action {
            Action::Select { node, toggle: true } => {
                if !editor.selection.remove(&node) {
                    editor.selection.insert(node);
                }
            }
            Action::Select { node, .. } => editor.selection = [node].into(),
            Action::Grab { node, additive } => {
                if !editor.selection.contains(&node) {
                    if !additive {
                        editor.selection.clear();
                    }
                    editor.selection.insert(node);
                }
            }
            Action::Move(delta) => editor.move_selection([delta.x, delta.y]),
            Action::SelectGroup(nodes) => editor.selection = nodes.into_iter().collect(),
            Action::Collapse(group, collapsed) => editor.collapse_group(&group, collapsed),
            Action::StartWire(port) => self.wiring = Some(port),
            Action::RemoveEdge(index) => editor.remove_edge(index),
            Action::Fix(fix) => editor.apply_fix(&fix),
            Action::Duplicate => editor.duplicate_selection(),
            Action::Delete => editor.delete_selection(),
        }
        ui.ctx().request_repaint();
    }

    /// Dragging on the empty canvas selects the nodes inside the box; a click clears the
    /// selection. `background` is the scene's own response, which panning leaves to the other
    /// buttons.
    fn box_select(&mut self, ui: &Ui, editor: &mut Editor, background: &Response) {
        if background.clicked() {
            editor.selection.clear();
        }
        if background.drag_started_by(egui::PointerButton::Primary) {
            self.box_start = ui.input(|i| i.pointer.press_origin());
        }
        let (Some(start), Some(now)) = (self.box_start, self.pointer) else {
            return;
        };
        let area = Rect::from_two_pos(start, now);
        ui.painter().rect(
            area,
            CornerRadius::same(2),
            ui.visuals().selection.bg_fill.gamma_multiply(0.2),
            ui.visuals().selection.stroke,
            StrokeKind::Inside,
        );
        if ui.input(|i| !i.pointer.primary_down()) {
            let additive = ui.input(|i| i.modifiers.shift);
            if !additive {
                editor.selection.clear();
            }
            let in_canvas = self.to_screen.inverse() * area;
            let graph = &editor.project.graph;
            let groups = Groups::of(graph);
            editor.selection.extend(
                graph
                    .nodes
                    .iter()
                    .filter(|n| in_canvas.intersects(groups.drawn_rect(n)))
                    .map(|n| n.id),
            );
            self.box_start = None;
        }
    }

    fn draw_wires(
        &mut self,
        ui: &mut Ui,
        editor: &Editor,
        lookup: &Lookup,
        actions: &mut Vec<Action>,
    ) {
        let graph = &editor.project.graph;
        let gradients = GradientScale::of(&self.health);
        for (index, edge) in graph.edges.iter().enumerate() {
            let (Some(&from), Some(&to)) = (
                lookup.index.get(&edge.from.node),
                lookup.index.get(&edge.to.node),
            ) else {
                continue;
            };
            let (from, to) = (&graph.nodes[from], &graph.nodes[to]);
            if lookup.groups.inside_one_box(from.id, to.id) {
                continue;
            }
            let a = lookup.groups.output_end(from);
            let b = lookup.groups.input_end(to, edge.to.port);
            let problems = lookup
                .edge_problems
                .get(&index)
                .map_or(&[][..], Vec::as_slice);
            let gradient = self.health.get(&from.id).and_then(|h| h.gradient);
            let color = if problems.is_empty() {
                ui.visuals().widgets.inactive.fg_stroke.color
            } else {
                ui.visuals().error_fg_color
            };
            let width = if self.present { 3.5 } else { 2.0 };
            let stroke = match (gradient, problems.is_empty()) {
                (Some(g), true) => gradients.stroke(g),
                _ => Stroke::new(width, color),
            };
            let bend = ((b.x - a.x).abs() * 0.5).max(40.0);
            ui.painter().add(Shape::CubicBezier(
                egui::epaint::CubicBezierShape::from_points_stroke(
                    [a, a + Vec2::new(bend, 0.0), b - Vec2::new(bend, 0.0), b],
                    false,
                    Color32::TRANSPARENT,
                    stroke,
                ),
            ));
            // The shape the wire carries, as a label at its middle.
            let shape = lookup
                .output_shape(editor, from.id)
                .unwrap_or_else(|| "?".to_string());
            let galley = ui.painter().layout_no_wrap(
                shape.clone(),
                FontId::monospace(12.0),
                ui.visuals().text_color(),
            );
            let middle = a.lerp(b, 0.5);
            let rect = Rect::from_center_size(middle, galley.size() + Vec2::new(8.0, 4.0));
            let response = ui.interact(rect, Id::unique(("wire", index)), Sense::click());
            accessible(
                &response,
                Role::Button,
                &wire_label(&from.name, &to.name, &shape),
            );
            ui.painter()
                .rect_filled(rect, CornerRadius::same(4), ui.visuals().extreme_bg_color);
            ui.painter()
                .galley(rect.min + Vec2::new(4.0, 2.0), galley, color);
            let response = response.on_hover_ui(|ui| {
                ui.label(wire_tip(&from.name, &to.name, &shape, problems));
                if let Some(g) = gradient {
                    ui.label(format!(
                        "Gradient flowing back into {}: {g:.2e} (root mean square). The wider and warmer the wire, the larger its gradient next to the others'.",
                        from.name
                    ));
                }
            });
            if response.clicked()
                && let Some(f) = problems.iter().find_map(|p| p.fix.as_ref())
            {
                actions.push(Action::Fix(f.action.clone()));
            }
            response.context_menu(|ui| {
                if ui.button("Remove wire").clicked() {
                    actions.push(Action::RemoveEdge(index));
                }
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_node(
        &self,
        ui: &mut Ui,
        editor: &Editor,
        lookup: &Lookup,
        node: &Node,
        detailed: bool,
        port_hits: &mut Vec<(Rect, PortRef)>,
        actions: &mut Vec<Action>,
    ) {
        let rect = node_rect(node);
        let response = ui.interact(rect, Id::unique(("node", node.id)), Sense::click_and_drag());
        accessible(&response, Role::Button, &node.name);
        let selected = editor.selection.contains(&node.id);
        let problems = lookup
            .node_problems
            .get(&node.id)
            .map_or(&[][..], Vec::as_slice);
        let worst = problems.iter().map(|p| p.severity).min_by_key(|s| match s {
            Severity::Error => 0,
            Severity::Warning => 1,
        });

        let visuals = ui.visuals();
        let accent = palette::group_color(&node.layer, visuals.dark_mode);
        let non_finite = self
            .non_finite
            .as_ref()
            .filter(|(id, _)| *id == node.id)
            .map(|(_, why)| why);
        let stroke = if non_finite.is_some() {
            Stroke::new(3.5, visuals.error_fg_color)
        } else if selected {
            Stroke::new(2.5, visuals.selection.stroke.color)
        } else if worst == Some(Severity::Error) {
            Stroke::new(1.5, visuals.error_fg_color)
        } else {
            Stroke::new(
                if self.present { 2.0 } else { 1.0 },
                visuals.widgets.noninteractive.bg_stroke.color,
            )
        };
        let painter = ui.painter();
        painter.rect(
            rect,
            CornerRadius::same(6),
            visuals.widgets.noninteractive.bg_fill,
            stroke,
            StrokeKind::Inside,
        );
        painter.rect_filled(
            Rect::from_min_size(rect.min, Vec2::new(5.0, rect.height())),
            CornerRadius {
                nw: 6,
                sw: 6,
                ne: 0,
                se: 0,
            },
            accent,
        );
        let left = rect.min.x + 12.0;
        painter.text(
            Pos2::new(left, rect.min.y + 6.0),
            Align2::LEFT_TOP,
            &node.name,
            FontId::proportional(NAME_SIZE),
            visuals.strong_text_color(),
        );
        // Zoomed far out, the small print is unreadable: the name alone is drawn.
        if detailed {
            // The small print in the text colour, not the weak one: grey on grey is lost on a
            // projector.
            let ink = visuals.text_color();
            painter.text(
                Pos2::new(left, rect.min.y + 27.0),
                Align2::LEFT_TOP,
                summary(&node.layer),
                FontId::proportional(13.0),
                ink,
            );
            let index = lookup.index[&node.id];
            let params = editor.model.nodes.get(index).map_or(0, |i| i.params);
            let shape = lookup
                .output_shape(editor, node.id)
                .unwrap_or_else(|| "—".into());
            painter.text(
                Pos2::new(left, rect.min.y + 47.0),
                Align2::LEFT_TOP,
                shape,
                FontId::monospace(12.0),
                ink,
            );
            if params > 0 {
                painter.text(
                    Pos2::new(left, rect.min.y + 66.0),
                    Align2::LEFT_TOP,
                    format!("{} params", thousands(params)),
                    FontId::proportional(12.5),
                    ink,
                );
            }
        }
        // Over a health badge the badge's diagnosis is shown, not the node's description.
        let health = self.health.get(&node.id);
        let over_badge = health.is_some_and(|h| !h.warnings.is_empty())
            && self
                .pointer
                .is_some_and(|p| health_badge_rect(node).contains(self.to_screen.inverse() * p));
        let response = if over_badge {
            response
        } else {
            response.on_hover_ui(|ui| {
                ui.label(node_tip(node, problems));
            })
        };

        node_interaction(ui, editor, node, &response, actions);
        if let Some(health) = health {
            draw_health(ui, node, health, detailed);
        }
        if let Some(why) = non_finite {
            non_finite_badge(ui, node, why);
        }
        if let Some(severity) = worst {
            let id = Id::unique(("badge", node.id));
            problem_badge(ui, rect, id, &node.name, problems, severity, actions);
        }

        // A file may ask for any number of inputs; check refuses more than it allows, and the
        // canvas draws no more than that.
        for port in 0..node.layer.input_count().min(crate::compile::MAX_INPUTS) {
            let at = input_port(node, port);
            let target = PortRef {
                node: node.id,
                port,
            };
            let hit = port_widget(ui, at, ("in", node.id, port), &input_port_label(node, port));
            let feeding = lookup
                .index
                .get(&node.id)
                .and_then(|&i| editor.model.nodes.get(i))
                .and_then(|info| info.inputs.get(port).cloned().flatten());
            let hit = hit.on_hover_ui(|ui| {
                ui.label(match &feeding {
                    Some((_, shape)) => format!("Input: takes {shape}"),
                    None => "Input: not connected. Drag a wire here from an output.".into(),
                });
            });
            port_hits.push((hit.rect, target));
        }
        if node.layer.output_count() > 0 {
            let at = output_port(node);
            let port = port_widget(ui, at, ("out", node.id, 0), &output_port_label(node));
            let shape = lookup.output_shape(editor, node.id);
            let port = port.on_hover_ui(|ui| {
                ui.label(match &shape {
                    Some(shape) => {
                        format!("Output: gives {shape}. Drag from here to an input to connect.")
                    }
                    None => {
                        "Output: its shape is not known yet. Drag from here to an input to connect."
                            .into()
                    }
                });
            });
            if port.drag_started() {
                actions.push(Action::StartWire(PortRef {
                    node: node.id,
                    port: 0,
                }));
            }
        }
    }
}

fn port_widget(ui: &mut Ui, at: Pos2, id: (&str, NodeId, usize), label: &str) -> Response {
    let rect = Rect::from_center_size(at, Vec2::splat(PORT_RADIUS * 3.0));
    let response = ui.interact(rect, Id::unique(id), Sense::click_and_drag());
    accessible(&response, Role::Button, label);
    let visuals = ui.visuals();
    let fill = if response.hovered() {
        visuals.selection.stroke.color
    } else {
        visuals.widgets.inactive.fg_stroke.color
    };
    ui.painter().circle(
        at,
        PORT_RADIUS,
        fill,
        Stroke::new(1.5, visuals.widgets.noninteractive.bg_fill),
    );
    response
}

fn node_interaction(
    ui: &Ui,
    editor: &Editor,
    node: &Node,
    response: &Response,
    actions: &mut Vec<Action>,
) {
    let shift = ui.input(|i| i.modifiers.shift);
    if response.clicked() {
        actions.push(Action::Select {
            node: node.id,
            toggle: shift,
        });
    }
    if response.drag_started() {
        actions.push(Action::Grab {
            node: node.id,
            additive: shift,
        });
    }
    let delta = response.drag_delta();
    if response.dragged() && delta != Vec2::ZERO {
        actions.push(Action::Move(delta));
    }
    response.context_menu(|ui| {
        if !editor.selection.contains(&node.id) {
            actions.push(Action::Select {
                node: node.id,
                toggle: false,
            });
        }
        if ui.button("Duplicate (Ctrl+D)").clicked() {
            actions.push(Action::Duplicate);
        }
        if ui.button("Delete (Del)").clicked() {
            actions.push(Action::Delete);
        }
    });
}

/// A round badge on the node's corner; hovering shows the problems, a click applies the first
/// fix offered.
fn problem_badge(
    ui: &mut Ui,
    on: Rect,
    id: Id,
    name: &str,
    problems: &[&Problem],
    severity: Severity,
    actions: &mut Vec<Action>,
) {
    let center = on.right_top() + Vec2::new(-12.0, 12.0);
    let rect = Rect::from_center_size(center, Vec2::splat(18.0));
    let response = ui.interact(rect, id, Sense::click());
    accessible(&response, Role::Button, &format!("{name} problems"));
    let color = match severity {
        Severity::Error => ui.visuals().error_fg_color,
        Severity::Warning => ui.visuals().warn_fg_color,
    };
    paint_badge(ui, center, color, ("!", Color32::WHITE));
    let response = response.on_hover_ui(|ui| {
        ui.label(problems_text(problems));
    });
    if response.clicked()
        && let Some(fix) = problems.iter().find_map(|p| p.fix.as_ref())
    {
        actions.push(Action::Fix(fix.action.clone()));
    }
}

/// The range of the gradients flowing back along the wires, on a log scale, so each wire's
/// width and colour say how its gradient compares with the others': a network whose gradients
/// vanish shows wires thinning towards the input.
struct GradientScale {
    low: f32,
    high: f32,
}

impl GradientScale {
    fn of(health: &HashMap<NodeId, NodeHealth>) -> Self {
        let (low, high) = health
            .values()
            .filter_map(|h| h.gradient)
            .map(|g| g.max(1e-30).log10())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), g| {
                (l.min(g), h.max(g))
            });
        Self { low, high }
    }

    fn stroke(&self, gradient: f32) -> Stroke {
        let span = self.high - self.low;
        let t = if span > 1e-6 {
            (gradient.max(1e-30).log10() - self.low) / span
        } else {
            0.5
        };
        let color =
            Color32::from_rgb(120, 120, 200).lerp_to_gamma(Color32::from_rgb(200, 60, 160), t);
        Stroke::new(1.5 + 3.5 * t, color)
    }
}

/// How strongly a node fires, as a colour from cool (quiet) to warm (loud), on a log scale.
fn magnitude_color(magnitude: f32) -> Color32 {
    let t = ((magnitude.max(1e-6).log10() + 3.0) / 4.0).clamp(0.0, 1.0);
    Color32::from_rgb(50, 110, 210).lerp_to_gamma(Color32::from_rgb(245, 150, 40), t)
}

/// A strip along the node's foot coloured by its activation's size, a sparkline of that size
/// over time, and a badge naming what looks wrong.
fn draw_health(ui: &mut Ui, node: &Node, health: &NodeHealth, detailed: bool) {
    let rect = node_rect(node);
    let painter = ui.painter();
    let strip = Rect::from_min_max(
        rect.left_bottom() - Vec2::new(-5.0, 4.0),
        rect.right_bottom(),
    );
    painter.rect_filled(strip, CornerRadius::ZERO, magnitude_color(health.magnitude));
    if detailed && health.trend.len() > 1 {
        let area = Rect::from_min_size(
            rect.right_bottom() + Vec2::new(-58.0, -26.0),
            Vec2::new(50.0, 16.0),
        );
        let (low, high) = health
            .trend
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let span = (high - low).max(1e-9);
        let last = (health.trend.len() - 1) as f32;
        let points = health
            .trend
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                Pos2::new(
                    area.left() + area.width() * i as f32 / last,
                    area.bottom() - area.height() * (v - low) / span,
                )
            })
            .collect();
        painter.add(egui::Shape::line(
            points,
            Stroke::new(1.2, magnitude_color(health.magnitude)),
        ));
    }
    if health.warnings.is_empty() {
        return;
    }
    let badge = health_badge_rect(node);
    let center = badge.center();
    // Sensing clicks puts the badge above the node for the pointer, so that hovering it shows
    // the diagnosis rather than the node's description.
    let response = ui.interact(badge, Id::unique(("health", node.id)), Sense::click());
    accessible(&response, Role::Label, &format!("{} health", node.name));
    paint_badge(
        ui,
        center,
        ui.visuals().warn_fg_color,
        ("~", Color32::BLACK),
    );
    response.on_hover_text(health.warnings.join("\n\n"));
}

/// Where a node's health badge sits, in canvas units.
fn health_badge_rect(node: &Node) -> Rect {
    let center = node_rect(node).right_top() + Vec2::new(-34.0, 12.0);
    Rect::from_center_size(center, Vec2::splat(18.0))
}

/// A round badge on a node's corner: a `fill` disc with a one-character `glyph` on it.
fn paint_badge(ui: &Ui, center: Pos2, fill: Color32, (glyph, ink): (&str, Color32)) {
    ui.painter().circle_filled(center, 9.0, fill);
    ui.painter().text(
        center,
        Align2::CENTER_CENTER,
        glyph,
        FontId::proportional(13.0),
        ink,
    );
}

/// A mark under a node whose op produced a NaN or infinity, explaining it on hover.
fn non_finite_badge(ui: &mut Ui, node: &Node, why: &str) {
    let rect = node_rect(node);
    let at = Rect::from_min_size(
        rect.left_bottom() + Vec2::new(0.0, 4.0),
        Vec2::new(rect.width(), 20.0),
    );
    let response = ui.interact(at, Id::unique(("non-finite", node.id)), Sense::hover());
    accessible(
        &response,
        Role::Label,
        &format!("{}: NaN or infinity here", node.name),
    );
    ui.painter()
        .rect_filled(at, CornerRadius::same(4), ui.visuals().error_fg_color);
    ui.painter().text(
        at.center(),
        Align2::CENTER_CENTER,
        "NaN or infinity here",
        FontId::proportional(12.0),
        Color32::WHITE,
    );
    response.on_hover_text(why);
}

impl Canvas {
    /// The wire being dragged from an output port, and its connection when dropped on an input.
    fn draw_wiring(&mut self, ui: &Ui, editor: &mut Editor, port_hits: &[(Rect, PortRef)]) {
        let Some(from) = self.wiring else { return };
        let Some(pointer) = self.pointer else {
            return;
        };
        let pointer = self.to_screen.inverse() * pointer;
        if let Some(node) = editor.project.graph.node(from.node) {
            let a = output_port(node);
            let bend = ((pointer.x - a.x).abs() * 0.5).max(40.0);
            ui.painter().add(Shape::CubicBezier(
                egui::epaint::CubicBezierShape::from_points_stroke(
                    [
                        a,
                        a + Vec2::new(bend, 0.0),
                        pointer - Vec2::new(bend, 0.0),
                        pointer,
                    ],
                    false,
                    Color32::TRANSPARENT,
                    Stroke::new(2.0, ui.visuals().selection.stroke.color),
                ),
            ));
        }
        if !ui.input(|i| i.pointer.primary_released() || !i.pointer.primary_down()) {
            return;
        }
        self.wiring = None;
        let Some(&(_, to)) = port_hits.iter().find(|(rect, _)| rect.contains(pointer)) else {
            return;
        };
        if let Err(why) = editor.connect(from, to) {
            let now = ui.input(|i| i.time);
            self.refusal = Some((why, self.to_screen * pointer, now));
        }
    }

    fn show_refusal(&mut self, ui: &Ui) {
        let Some((why, at, since)) = &self.refusal else {
            return;
        };
        let now = ui.input(|i| i.time);
        if now - since > REFUSAL_SECS {
            self.refusal = None;
            return;
        }
        egui::Area::new(Id::unique("refused connection"))
            .fixed_pos(*at + Vec2::new(12.0, 12.0))
            .order(egui::Order::Tooltip)
            .show(ui.ctx(), |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_max_width(320.0);
                    ui.label(format!("Can't connect: {why}"));
                });
            });
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }

    /// A layer dragged from the palette and released over the canvas lands where it was dropped.
    fn drop_from_palette(&mut self, ui: &Ui, editor: &mut Editor, outer: Rect) {
        let released = ui.input(|i| i.pointer.any_released());
        let pointer = self.pointer;
        if !released {
            return;
        }
        let Some(pointer) = pointer.filter(|p| outer.contains(*p)) else {
            return;
        };
        let at = self.to_screen.inverse() * pointer - NODE_SIZE / 2.0;
        if let Some(layer) = egui::DragAndDrop::take_payload::<Layer>(ui.ctx()) {
            editor.add_layer((*layer).clone(), [at.x, at.y]);
        }
        if let Some(block) = egui::DragAndDrop::take_payload::<palette::Block>(ui.ctx()) {
            match *block {
                palette::Block::Transformer => editor.add_transformer_block(Some([at.x, at.y])),
            }
        }
    }
}

/// The canvas area to show so that `content` fits `screen`, centred, at most at full size and
/// at least at `min_zoom`; content too large for that is shown from its top left corner.
fn fitted(content: Option<Rect>, screen: Rect, min_zoom: f32) -> Rect {
    let Some(content) = content else {
        return Rect::from_center_size(Pos2::ZERO + screen.size() / 2.0, screen.size());
    };
    let content = content.expand(15.0);
    let zoom = (screen.width() / content.width())
        .min(screen.height() / content.height())
        .clamp(min_zoom, 1.0);
    let size = screen.size() / zoom;
    let center = |lo: f32, hi: f32, span: f32| {
        if hi - lo <= span {
            (lo + hi) / 2.0
        } else {
            lo + span / 2.0
        }
    };
    Rect::from_center_size(
        Pos2::new(
            center(content.min.x, content.max.x, size.x),
            center(content.min.y, content.max.y, size.y),
        ),
        size,
    )
}

/// The rectangle around every node and group frame, in canvas units.
fn bounds(editor: &Editor) -> Option<Rect> {
    let graph = &editor.project.graph;
    let groups = Groups::of(graph);
    graph
        .nodes
        .iter()
        .filter(|n| n.group.is_none())
        .map(node_rect)
        .chain(groups.framed.iter().map(|g| g.outline()))
        .reduce(|a, b| a.union(b))
}

/// A node's key settings in a few words.
fn summary(layer: &Layer) -> String {
    use crate::graph::Activation as A;
    let act = |a: &A| match a {
        A::Identity => String::new(),
        other => format!(", {}", other.label()),
    };
    match layer {
        Layer::Input { shape, values } => {
            format!(
                "Input {}",
                crate::compile::Shape::with(shape.clone(), *values)
            )
        }
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
            ..
        } => format!("Embedding {num_embeddings}×{embedding_dim}"),
        Layer::MultiHeadAttention {
            heads,
            causal,
            dropout,
        } => format!(
            "Attention, {heads} head{}{}{}",
            if *heads == 1 { "" } else { "s" },
            if *causal { ", causal" } else { "" },
            if *dropout > 0.0 {
                format!(", dropout {dropout}")
            } else {
                String::new()
            }
        ),
        Layer::Recurrent {
            cell,
            hidden_size,
            num_layers,
            bidirectional,
            ..
        } => {
            let layers = if *num_layers > 1 {
                format!(" ×{num_layers}")
            } else {
                String::new()
            };
            let both = if *bidirectional { ", both ways" } else { "" };
            format!("{} {hidden_size}{layers}{both}", cell.label())
        }
        Layer::Dense {
            units, activation, ..
        } => format!("Dense {units}{}", act(activation)),
        Layer::Conv2d {
            filters,
            kernel,
            stride,
            activation,
            ..
        } => format!(
            "Conv {filters}×{kernel}×{kernel}/{stride}{}",
            act(activation)
        ),
        Layer::ConvTranspose2d {
            filters,
            kernel,
            stride,
            activation,
            ..
        } => format!(
            "Transposed conv {filters}×{kernel}×{kernel}/{stride}{}",
            act(activation)
        ),
        Layer::MaxPool2d { kernel, .. } => format!("Max pool {kernel}×{kernel}"),
        Layer::AvgPool2d { kernel, .. } => format!("Average pool {kernel}×{kernel}"),
        Layer::Upsample { scale, bilinear } => format!(
            "Upsample ×{scale}, {}",
            if *bilinear { "bilinear" } else { "nearest" }
        ),
        Layer::Reshape { shape } => format!("Reshape to {}", shape_text(shape)),
        Layer::Dropout { rate } => format!("Dropout {:.0}%", rate * 100.0),
        other => other.kind_label().to_string(),
    }
}

pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn wire_tip(from: &str, to: &str, shape: &str, problems: &[&Problem]) -> String {
    let mut tip = format!("{from} sends {shape} to {to}.");
    for p in problems {
        tip += &format!("\nProblem: {}", p.message);
        if let Some(f) = &p.fix {
            tip += &format!("\nClick to {}.", f.description.to_lowercase());
        }
    }
    tip
}

fn node_tip(node: &Node, problems: &[&Problem]) -> String {
    let about = super::catalog::entry_for(&node.layer).map_or("", |(_, e)| e.description);
    if problems.is_empty() {
        format!("{}: {}", node.name, about)
    } else {
        format!("{}: {}\n\n{}", node.name, about, problems_text(problems))
    }
}

fn problems_text(problems: &[&Problem]) -> String {
    problems
        .iter()
        .map(|p| match &p.fix {
            Some(fix) => format!(
                "Problem: {}\nClick the badge to {}.",
                p.message,
                fix.description.to_lowercase()
            ),
            None => format!("Problem: {}", p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(4610), "4,610");
        assert_eq!(super::thousands(100), "100");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
