//! Appends buffers and ops to a program under construction; shared by lowering and autodiff.

use super::program::{Buffer, BufferId, BufferKind, DType, Op, Step};
use crate::graph::NodeId;

#[derive(Default)]
pub struct Builder {
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    /// The node whose ops are being emitted, recorded on each step.
    pub node: Option<NodeId>,
}

impl Builder {
    pub fn buffer(
        &mut self,
        name: String,
        shape: Vec<usize>,
        batched: bool,
        dtype: DType,
        kind: BufferKind,
    ) -> BufferId {
        self.buffers.push(Buffer {
            name,
            shape,
            batched,
            dtype,
            kind,
            alias_of: None,
        });
        self.buffers.len() - 1
    }

    /// A batched f32 value: one `shape` per sample.
    pub fn value(&mut self, name: String, shape: Vec<usize>) -> BufferId {
        self.buffer(name, shape, true, DType::F32, BufferKind::Value)
    }

    /// An unbatched f32 value of exactly `shape`.
    pub fn fixed(&mut self, name: String, shape: Vec<usize>) -> BufferId {
        self.buffer(name, shape, false, DType::F32, BufferKind::Value)
    }

    /// A new f32 value shaped like `of`.
    pub fn like(&mut self, name: String, of: BufferId) -> BufferId {
        let Buffer { shape, batched, .. } = self.buffers[of].clone();
        self.buffer(name, shape, batched, DType::F32, BufferKind::Value)
    }

    pub fn shape(&self, id: BufferId) -> &[usize] {
        &self.buffers[id].shape
    }

    pub fn name(&self, id: BufferId) -> &str {
        &self.buffers[id].name
    }

    pub fn push(&mut self, op: Op) {
        self.steps.push(Step {
            op,
            node: self.node,
        });
    }

    /// A view of `x` with another per-sample shape.
    pub fn reshape(&mut self, x: BufferId, shape: Vec<usize>, name: String) -> BufferId {
        let base = &self.buffers[x];
        let view = Buffer {
            name,
            shape,
            batched: base.batched,
            dtype: base.dtype,
            kind: BufferKind::Value,
            alias_of: Some(x),
        };
        self.buffers.push(view);
        let out = self.buffers.len() - 1;
        self.push(Op::Reshape { x, out });
        out
    }
}
