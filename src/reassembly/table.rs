//! The flow table.
use super::Stream;

/// What the layer above keeps per connection.
pub trait FlowState: Default {
    fn buffered_bytes(&self) -> usize {
        0
    }
    fn shed(&mut self) {}
}

/// One tracked connection.
#[derive(Debug, Default)]
pub struct Flow<V> {
    pub dirs: [Stream; 2],
    pub state: V,
}

/// Connections by key.
#[derive(Debug, Default)]
pub struct FlowTable<V> {
    _v: Vec<Flow<V>>,
}
