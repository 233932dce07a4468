"""Bring an episode back: its events rebuilt from the record, its kernel state re-made."""

from __future__ import annotations

from .episode import ActionStatus, Episode, Event, EventType, StepKind, status_of
from .executor import Executor

# The event that adds each kind of step to an episode.
STEP_EVENTS = {
    StepKind.USER: EventType.USER_MESSAGE,
    StepKind.ASSISTANT: EventType.ASSISTANT_MESSAGE,
    StepKind.ACTION: EventType.ACTION,
    StepKind.OBSERVATION: EventType.OBSERVATION,
    StepKind.SOLUTION: EventType.SOLUTION,
    StepKind.ERROR: EventType.ERROR,
}


def events_from_episode(episode: Episode) -> list[Event]:
    """Events that rebuild ``episode`` (for one that arrives as a record, e.g. imported)."""
    copy = Episode(task=episode.task, settings=episode.settings, id=episode.id)
    events = [
        copy.event(
            EventType.EPISODE_STARTED,
            task=episode.task,
            settings=episode.settings.to_dict(),
            system=episode.system,
        )
    ]
    for step in episode.steps:
        events.append(copy.event(STEP_EVENTS[step.kind], step=step.to_dict()))
    if episode.state is not None:
        events.append(copy.event(EventType.FINAL, state=episode.state.value, reason=episode.reason))
    return events


async def restore_kernel_state(episode: Episode, executor: Executor, timeout: float | None) -> int:
    """Re-run the episode's actions that ran to completion (succeeded or raised), in order,
    so a follow-up finds the variables the model made. Actions that timed out, were
    interrupted or killed the kernel are not run again. Returns how many ran."""
    count = 0
    for step in episode.steps_of(StepKind.ACTION):
        status = status_of(step)
        if status is not None and status.completed:
            await executor.execute(step.data["code"], timeout)
            count += 1
    return count


def restore_code(episode: Episode) -> str | None:
    """The code of the episode's actions that succeeded, as one action that re-makes their
    variables in a new kernel (shown to the user and approved like any action), or None
    when there is none. Failed actions are left out (in one cell, the first to raise again
    would keep the rest from running), and so are earlier restores."""
    parts = []
    for step in episode.steps_of(StepKind.ACTION):
        ok = step.data.get("status") == ActionStatus.OK.value
        if ok and step.data.get("format") != "restore":
            parts.append(step.data["code"].rstrip())
    return "\n\n".join(parts) if parts else None
