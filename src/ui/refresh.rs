//! Answers a view keeps up to date while training: asked for again once the last answer is in
//! and the run has moved on, at most every `REFRESH_EVERY`.

use std::time::{Duration, Instant};

use super::run::Run;

/// How often a view's answers are asked for again while training.
const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// An answer lost to a restarted trainer is given up after this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Refresh {
    /// The last request's tag, and the step and time it was made at.
    asked: Option<(u64, u64, Instant)>,
    answered: Option<u64>,
}

impl Refresh {
    fn due(&self, step: u64) -> bool {
        self.asked.is_none_or(|(tag, at_step, at)| {
            let waiting = self.answered != Some(tag) && at.elapsed() < GIVE_UP_AFTER;
            !waiting && at_step != step && at.elapsed() >= REFRESH_EVERY
        })
    }

    /// Sends a request through `send` (which returns its tag) when one is due.
    pub fn ask(&mut self, run: &mut Run, send: impl FnOnce(&mut Run) -> Option<u64>) {
        let step = run.steps();
        if self.due(step)
            && let Some(tag) = send(run)
        {
            self.asked = Some((tag, step, Instant::now()));
        }
    }

    /// The answer to the last request, once, when it is in; `take` fetches it by tag.
    pub fn take<T>(
        &mut self,
        run: &mut Run,
        take: impl FnOnce(&mut Run, u64) -> Option<T>,
    ) -> Option<T> {
        let (tag, _, _) = self.asked?;
        let answer = take(run, tag)?;
        self.answered = Some(tag);
        Some(answer)
    }

    /// Whether the last answer taken was asked for at `step`.
    pub fn is_current(&self, step: u64) -> bool {
        self.asked
            .is_some_and(|(tag, at_step, _)| at_step == step && self.answered == Some(tag))
    }
}
