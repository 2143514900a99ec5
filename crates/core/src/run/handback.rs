//! A task handed back by a draining worker (its spot node is being taken away): queued again at
//! once as a new attempt, without counting a retry or a lost worker, within a bound.

use super::task_run::{TaskResult, TaskRun};
use crate::error::DomainResult;
use crate::ids::RunId;

/// The most times a task may be handed back by draining workers before a hand-back counts as a
/// lost worker (so that a cluster losing node after node still ends the task).
pub const MAX_HANDBACKS: u32 = 20;

impl TaskRun {
    /// A draining worker hands the attempt of claim `token` back: the task is queued again at once
    /// as attempt `next_id`, without counting a retry or a lost worker (the node was taken away,
    /// the task did nothing wrong). After [`MAX_HANDBACKS`] hand-backs it counts as a lost worker.
    pub fn hand_back(
        &mut self,
        token: &str,
        now: i64,
        next_id: RunId,
        max_losses: u32,
        why: &str,
    ) -> DomainResult<()> {
        self.check_holder(token)?;
        self.handbacks += 1;
        let message = format!("Handed back by its worker: {why}");
        if self.cancel_requested {
            self.end(TaskResult::Canceled, "Run was cancelled".into(), now);
        } else if self.handbacks > MAX_HANDBACKS {
            self.lease_losses += 1;
            if self.lease_losses >= max_losses {
                let message = format!(
                    "Task {} was handed back {} times by draining workers and lost its worker {}                      times; it was not run again.",
                    self.key(),
                    self.handbacks,
                    self.lease_losses
                );
                self.end(TaskResult::Failed, message, now);
            } else {
                self.requeue(next_id, TaskResult::Failed, message, now, now);
            }
        } else {
            self.requeue(next_id, TaskResult::Failed, message, now, now);
        }
        Ok(())
    }
}
