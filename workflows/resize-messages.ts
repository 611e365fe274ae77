/** The messages a resize workflow answers: its status query, and confirm and revert. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ResizeState } from './resize-contract';

export const resizeStatusQuery = defineQuery<ResizeState>('status');

/**
 * Allowed only while the resize waits in VERIFY_RESIZE (status finished); resolves once the
 * resize is confirmed (or reverted), with the state then.
 */
export const confirmUpdate = defineUpdate<ResizeState>('confirm');
export const revertUpdate = defineUpdate<ResizeState>('revert');

/** The same decisions for callers that cannot wait: no answer, and ignored in the wrong state. */
export const confirmSignal = defineSignal('confirmResize');
export const revertSignal = defineSignal('revertResize');

/**
 * A drain's abort: before the instance is on its destination, the resize stops and rolls back;
 * from then on it is ignored (docs/drain.md, "Abort").
 */
export const abortResizeSignal = defineSignal('abortResize');
