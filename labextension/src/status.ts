/**
 * The groups of action statuses, one definition each: a mirror of the
 * `ActionStatus` properties in codeact_lab/agent/episode.py, kept in step by
 * test/fixtures/cells.json (test/make_cell_fixture.py, test/cells.test.js).
 */
import type { ActionStatus } from './model';

/** Not final yet: a state only a live episode has (its status will change). */
export function isUnfinished(status: ActionStatus | string): boolean {
  return (
    status === 'pending' ||
    status === 'awaiting_approval' ||
    status === 'running'
  );
}

/** It ran and did not succeed: its cell keeps the error (`raises-exception`). */
export function isFailed(status: ActionStatus | string): boolean {
  return (
    status === 'error' ||
    status === 'timeout' ||
    status === 'interrupted' ||
    status === 'dead' ||
    status === 'restarted'
  );
}

/** The code went to the kernel (it may still be running): outputs and a count. */
export function hasRun(status: ActionStatus | string): boolean {
  return status === 'running' || status === 'ok' || isFailed(status);
}

/** The code ran to its own end: it returned or raised. */
export function isCompleted(status: ActionStatus | string): boolean {
  return status === 'ok' || status === 'error';
}

/** The predicates by the names of their Python properties. */
export const STATUS_GROUPS: {
  [group: string]: (status: ActionStatus | string) => boolean;
} = {
  unfinished: isUnfinished,
  failed: isFailed,
  ran: hasRun,
  completed: isCompleted
};
