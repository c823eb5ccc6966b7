//! Reusable places for requests in flight: a request takes a slot and its collection gives it
//! back, so a steady step loop keeps reusing the same two or three.

#[derive(Default)]
pub struct Slots<T> {
    pub slots: Vec<T>,
    busy: Vec<bool>,
}

impl<T: Default> Slots<T> {
    /// A free slot, marked busy; a new one only when all are busy.
    pub fn take(&mut self) -> usize {
        if let Some(free) = self.busy.iter().position(|busy| !busy) {
            self.busy[free] = true;
            return free;
        }
        self.slots.push(T::default());
        self.busy.push(true);
        self.slots.len() - 1
    }

    pub fn give_back(&mut self, index: usize) {
        self.busy[index] = false;
    }
}
